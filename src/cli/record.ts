import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { openCaptureWriter, type CaptureWriter } from '../replay/capture-file.js';
import { recordSource, type RecordSummary } from '../replay/record.js';
import { wholeNumber, type CliIo } from './common.js';
import { sourceFor } from './endpoints.js';
import type { ExecuteIo } from './execute.js';
import { handleShutdownSignals } from './signals.js';

/** Flags of `sluice record`. */
export interface RecordFlags {
  readonly source: string;
  readonly out: string;
  readonly limit?: string | undefined;
  readonly duration?: string | undefined;
  readonly shutdownTimeout?: string | undefined;
}

/** `sluice record`: captures any source's records into a file that `sluice replay` reads. */
export function recordCommand(program: Command, io: CliIo): void {
  program
    .command('record')
    .description('capture the records of a source (key, value, headers, timestamp, partition, offset) as JSON Lines, for sluice replay')
    .requiredOption(
      '--source <url>',
      'file:PATH_OR_GLOB, generator:… or kafka://BROKERS/TOPIC; a Kafka URL without ?group= reads with a new throwaway group, and no offsets are ever committed',
    )
    .requiredOption('--out <file>', 'the capture file; gzip when it ends in .gz')
    .option('--limit <n>', 'stop after N records')
    .option('--duration <duration>', 'stop after this long (with --limit: whichever comes first)')
    .option('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT: finish the file within this time', '25s')
    .action(async (flags: RecordFlags) => {
      await runRecord(flags, io);
    });
}

/**
 * Runs `sluice record`: checks every flag, then records until the input ends, `--limit` or
 * `--duration` is reached, or SIGTERM/SIGINT arrives, and reports one summary line. The capture
 * file is complete and valid whichever way it stops.
 */
export async function runRecord(flags: RecordFlags, io: ExecuteIo): Promise<RecordSummary> {
  const limit = flags.limit === undefined ? undefined : wholeNumber(flags.limit, '--limit');
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration');
  const shutdownMs = parseDuration(flags.shutdownTimeout ?? '25s', '--shutdown-timeout');
  const source = sourceFor(withRecordGroup(flags.source), {});
  const started = performance.now();
  let out: CaptureWriter | undefined;
  const stop = new AbortController();
  const removeSignals = handleShutdownSignals({ stop, deadlineMs: shutdownMs, report: io.report, exit: io.exit ?? ((code: number) => process.exit(code)) });
  let summary: RecordSummary;
  try {
    summary = await recordSource({
      source,
      opened: async () => {
        out = await openCaptureWriter(flags.out);
      },
      write: (text) => (out as CaptureWriter).write(text),
      limit,
      durationMs,
      signal: stop.signal,
    });
  } finally {
    removeSignals();
    // also after a failure: what was captured stays a valid file
    await out?.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const partitions = summary.partitions === 1 ? '1 partition' : `${summary.partitions} partitions`;
  io.report(`sluice record: ${summary.records} records from ${partitions} to ${flags.out} in ${seconds} s`);
  return summary;
}

/**
 * A Kafka source URL with a consumer group: recording joins no group of a running pipeline
 * unless told to, so it takes no partitions away from one and moves no committed offsets.
 */
export function withRecordGroup(url: string): string {
  if (!url.startsWith('kafka://')) return url;
  const query = url.indexOf('?');
  if (query !== -1 && new URLSearchParams(url.slice(query + 1)).has('group')) return url;
  return `${url}${query === -1 ? '?' : '&'}group=sluice-record-${randomUUID().slice(0, 8)}`;
}

