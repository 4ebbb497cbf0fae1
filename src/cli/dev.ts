import { InvalidArgumentError, type Command } from 'commander';
import { startKafka } from '../dev/kafka/index.js';
import type { CliIo } from './common.js';

/** Exit codes of a second signal while stopping, as a shell reports death by that signal. */
const FORCED_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Parses `--port`: a TCP port number. Whether it is free is checked when the broker starts.
 *
 * @example portNumber('9092') // 9092
 */
export function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) throw new InvalidArgumentError('must be a port number from 1 to 65535.');
  return port;
}

/**
 * `sluice dev …`: local peers for development. `sluice dev kafka [--port P]` runs a real Kafka
 * broker in the foreground until Ctrl-C.
 *
 * @example devCommand(program, io) // sluice dev kafka --port 9092
 * @see runDevKafka
 */
export function devCommand(program: Command, io: CliIo): void {
  const dev = program.command('dev').description('run local peers for development, in the foreground');
  dev
    .command('kafka')
    .description('run a single-node Kafka broker on 127.0.0.1 until Ctrl-C (a container when Docker answers, else the local JDK)')
    .option('--port <port>', 'port for clients (default: a free one)', portNumber)
    .action(async (flags: { port?: number }) => {
      await runDevKafka(flags, io);
    });
}

/**
 * Starts the local broker, reports its address in one line, and waits for SIGINT or SIGTERM;
 * then stops it (removing its data) and resolves, so the process exits 0. Nothing else is
 * printed: the first run installs Kafka silently (a minute or so), and the broker's own log
 * stays in its work folder. A second signal while stopping exits at once; the broker dies with
 * the process.
 *
 * @example await runDevKafka({ port: 9092 }, io) // sluice: Kafka is running at 127.0.0.1:9092 (Ctrl-C stops it)
 * @see startKafka
 */
export async function runDevKafka(flags: { readonly port?: number | undefined }, io: CliIo): Promise<void> {
  let stopRequested = false;
  let requestStop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) process.exit(FORCED_EXIT[signal] ?? 1);
    stopRequested = true;
    requestStop();
  };
  // listening from the start: a Ctrl-C during the start stops the broker as soon as it is up
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const broker = await startKafka(flags.port === undefined ? {} : { port: flags.port });
    try {
      if (!stopRequested) io.report(`sluice: Kafka is running at ${broker.bootstrap} (Ctrl-C stops it)`);
      await stopSignal;
    } finally {
      await broker.stop();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
