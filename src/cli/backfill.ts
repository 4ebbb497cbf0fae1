import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { RANGE_SIDECAR_SUFFIX } from '../backfill/diff.js';
import { resolveInput, type S3ServiceFactory } from '../backfill/input.js';
import { withProgress, type ProgressMode } from '../backfill/progress.js';
import { describeRange, parseRange } from '../backfill/range.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { addRunFlags, wholeNumber, type CliIo } from './common.js';
import { execute, type RunFlags } from './execute.js';
import { loadPipeline } from './run-module.js';

interface BackfillFlags extends RunFlags {
  readonly from: string;
  readonly start?: string;
  readonly end?: string;
  readonly parallelism: string;
  readonly plan?: boolean;
  readonly progress?: ProgressMode;
}

/**
 * `sluice backfill PIPELINE --from URL`: runs an unchanged pipeline (built-in or a module) over
 * bounded input, every partition ending with the final watermark so every window fires.
 */
export function backfillCommand(program: Command, io: CliIo): void {
  const command = program
    .command('backfill')
    .description('run a pipeline unchanged over bounded input: files, S3 hours in the Firehose layout, a Kafka time range or a Kinesis arrival-time range')
    .argument('<pipeline>', 'a built-in pipeline name or a module whose default export is definePipeline(…)')
    .requiredOption('--from <url>', 'what to read: file:PATH_OR_GLOB, s3://BUCKET/PREFIX (PREFIX/YYYY/MM/DD/HH/), kafka://BROKERS/TOPIC, kinesis://STREAM')
    .option('--start <time>', 'start of the range, epoch ms or ISO-8601: the first S3 hour, the Kafka offset for this time, the Kinesis AT_TIMESTAMP; the range is [start, end)')
    .option('--end <time>', 'end of the range (exclusive), epoch ms or ISO-8601')
    .option('--parallelism <n>', 'partitions (files, objects) read at once', '8')
    .option('--plan', 'list what would be read and its size, then exit without reading')
    .option('--progress <mode>', 'bar, lines (every ~10 s) or off (default: bar on a terminal, else off)');
  addRunFlags(command).action(async (pipeline: string, flags: BackfillFlags) => {
    const range = parseRange(flags.start, flags.end);
    const parallelism = wholeNumber(flags.parallelism, '--parallelism');
    const mode = flags.progress ?? (process.stderr.isTTY ? 'bar' : 'off');
    if (!['bar', 'lines', 'off'].includes(mode)) throw new UserError(ErrorCode.BAD_OPTION, `--progress '${mode}': use bar, lines or off`);
    const definition = flags.plan === true ? undefined : await loadPipeline(pipeline);
    const s3: S3ServiceFactory = flags.from.startsWith('s3:') ? (await import('../ingest/s3/service.js')).s3Service : () => {
      throw new Error('no S3 input');
    };
    const input = await resolveInput(flags.from, range, { batchSize: flags.batchSize ?? 1024, s3 });
    const totalBytes = input.items.reduce((sum, item) => sum + item.bytes, 0);
    if (flags.plan === true) {
      for (const item of input.items) process.stdout.write(`${item.name}\t${item.detail}\n`);
      process.stdout.write(`${input.items.length} ${input.items.length === 1 ? 'partition' : 'partitions'}, ${input.records === undefined ? `${totalBytes} bytes` : `${input.records} records`}${range.start === null && range.end === null ? '' : ` for ${describeRange(range)}`}\n`);
      if (input.note !== undefined) io.report(`sluice backfill: ${input.note}`);
      await input.source.close();
      return;
    }
    const sinkFiles = (flags.sink ?? []).filter((url) => url.startsWith('file:')).map((url) => url.replace(/^file:(\/\/)?/, ''));
    if (range.start !== null || range.end !== null) {
      // said up front: the windows live and backfill may legitimately disagree on
      io.report(
        `sluice backfill: windows not inside ${describeRange(range)} (each key's first and last window at the range edges) and windows a live run fired late may differ from the live results; ` +
          (sinkFiles.length > 0 ? `the range is recorded in ${sinkFiles.map((f) => f + RANGE_SIDECAR_SUFFIX).join(', ')} so sluice diff reports them apart` : 'sluice diff reports them apart given the range sidecar of a file sink'),
      );
      for (const file of sinkFiles) await writeFile(file + RANGE_SIDECAR_SUFFIX, JSON.stringify({ start: range.start, end: range.end, from: flags.from }) + '\n');
    }
    if (input.note !== undefined && mode !== 'off') io.report(`sluice backfill: ${input.note}`);
    const progress = withProgress(input.source, { totalBytes, mode, parallelism, report: io.report });
    try {
      await execute(definition as NonNullable<typeof definition>, flags, io, { source: progress.source });
    } finally {
      progress.stop();
    }
  });
}
