import { InvalidArgumentError, Option, type Command } from 'commander';
import { ErrorCode, UserError } from '../core/errors.js';
import { LOG_FORMATS } from '../runtime/ops/log.js';

/** Where the CLI writes: results may own stdout, so reports go to stderr. */
export interface CliIo {
  readonly report: (line: string) => void;
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('must be a positive whole number.');
  }
  return Number(value);
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port).');
  return Number(value);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Flags every pipeline-running command takes. */
export function addRunFlags(command: Command): Command {
  return command
    .option('--sink <url>', 'where results go: file:PATH, kafka://BROKERS/TOPIC[?key=FIELD], stdout: or stderr: (repeat for several; default stdout:)', collect)
    .option('--dead-letter <url>', 'where rejected records go, with their reason (default stderr:)')
    .option('--late <drop|url>', 'late events: drop (counted) or a sink URL to keep them (default drop)')
    .option('--per-partition', 'keep one result per partition instead of combining partitions')
    .option('--batch-size <n>', 'events per batch read from the source (default 1024)', positiveInteger)
    .option('--checkpoint <url>', 'resume from and save checkpoints here: file:DIR')
    .option('--checkpoint-interval <every>', 'checkpoint every duration (5s) or record count (10000)', '10s')
    .option('--journal <dir>', 'keep the answers of external calls (predictions) here and reuse them: a backfill or replay pointed at a live run\'s journal gets its predictions again (default: beside --checkpoint)')
    .option('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT: finish, checkpoint and exit within this time', '25s')
    .option('--ops-port <port>', 'serve /healthz, /readyz and /metrics on this port (0: any free port; default: none)', port)
    .option('--ops-host <host>', 'address the operations endpoints listen on (0.0.0.0 in a container)', '127.0.0.1')
    .addOption(
      new Option('--log-format <format>', "Sluice's own lines (start-up, summary, problems) as text or pino JSON")
        .choices(LOG_FORMATS)
        .env('SLUICE_LOG_FORMAT')
        .default('text'),
    );
}

/** A flag that takes a whole number of at least `min`; a one-line error naming the flag otherwise. */
export function wholeNumber(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || !Number.isSafeInteger(n)) throw new UserError(ErrorCode.BAD_OPTION, `${flag} must be a whole number ≥ ${min}, got '${value}'`);
  return n;
}
