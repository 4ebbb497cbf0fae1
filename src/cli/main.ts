import { Command, CommanderError } from 'commander';
import { isUserError } from '../core/errors.js';
import { aggregateCommand } from './aggregate.js';
import { runCommand } from './run-module.js';
import { startCommand } from './start.js';
import { demoCommand } from './demo.js';
import { devCommand } from './dev.js';
import { recordCommand } from './record.js';
import { dlqCommand } from './dlq.js';
import { replayCommand } from './replay.js';
import { sizeCommand } from './size.js';
import { loadtestCommand } from './loadtest.js';
import { diffCommand, DiffMismatch } from './diff.js';
import { backfillCommand } from './backfill.js';
import type { CliIo } from './common.js';
import { kclProcessorCommand } from '../ingest/kinesis/kcl/child.js';
import { createLog, logFormatOf } from '../runtime/ops/log.js';

/** Exit codes: 0 done, 1 failed while running, 2 the command line or configuration is wrong. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** User errors about data rather than the command line: input, output or a checkpoint. */
const RUNTIME_FAILURES: ReadonlySet<string> = new Set(['UNREADABLE_INPUT', 'UNWRITABLE_OUTPUT', 'BAD_CHECKPOINT']);

/** Builds the `sluice` program. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('sluice')
    .description('event-time stream processing for Kinesis, Kafka and files')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(oneLine(text)) });
  demoCommand(program, io);
  aggregateCommand(program, io);
  runCommand(program, io);
  startCommand(program, io);
  devCommand(program, io);
  recordCommand(program, io);
  replayCommand(program, io);
  dlqCommand(program, io);
  sizeCommand(program, io);
  loadtestCommand(program, io);
  backfillCommand(program, io);
  diffCommand(program, io);
  kclProcessorCommand(program, io);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Commander's `error: …` plus its `(Did you mean …?)` hint, as one `sluice: …` line. */
function oneLine(text: string): string {
  const line = text.trim().replace(/\s*\n\s*/g, ' ');
  return (line.startsWith('error: ') ? `sluice: ${line.slice(7)}` : line) + '\n';
}

/** Runs the CLI; returns the exit code. User mistakes get one line on stderr, never a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const io: CliIo = { report: (line) => process.stderr.write(line + '\n') };
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    // sluice diff printed its report; differences are its answer, not an error
    if (err instanceof DiffMismatch) return EXIT.FAILED;
    if (err instanceof CommanderError) {
      // commander already printed its one-line message (or help/version)
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    // with --log-format json (or SLUICE_LOG_FORMAT=json) the error is a JSON line too
    const log = createLog({ format: logFormatOf(argv), text: io.report });
    if (isUserError(err)) {
      log.error(`sluice: ${err.message}`, { code: err.code });
      return RUNTIME_FAILURES.has(err.code) ? EXIT.FAILED : EXIT.USAGE;
    }
    log.error(`sluice: internal error, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.FAILED;
  }
}
