import type { Command } from 'commander';
import { definePipeline } from '../pipeline.js';
import { limitSize } from '../operators/limit-size.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { isValidPath } from '../core/paths.js';
import { parseDuration } from '../core/duration.js';
import { parseWindowSpec } from '../windows/assigners.js';
import { parseAggSpec } from '../windows/aggregates/parse-agg-spec.js';
import { addRunFlags, type CliIo } from './common.js';
import { execute, type RunFlags } from './execute.js';

interface AggregateFlags extends RunFlags {
  readonly key: string;
  readonly time: string;
  readonly window: string;
  readonly agg: string;
  readonly name: string;
  readonly maxOutOfOrderness?: string;
  readonly allowedLateness?: string;
  readonly idleTimeout?: string;
  readonly maxRecordSize?: string;
  readonly timeFallback?: string;
}

/** `sluice aggregate`: keyed event-time windows over JSON events, configured by flags alone. */
export function aggregateCommand(program: Command, io: CliIo): void {
  const command = program
    .command('aggregate')
    .description('aggregate JSON events per key over event-time windows')
    .requiredOption('--source <url>', 'where events come from: file:PATH_OR_GLOB (JSON Lines, .gz too), kafka://…, kinesis://STREAM, generator:…')
    .requiredOption('--key <fields>', 'key field(s), comma-separated; dotted paths allowed')
    .requiredOption('--time <field>', 'event time field: epoch ms or ISO-8601')
    .requiredOption('--window <spec>', 'tumbling:SIZE, sliding:SIZE/SLIDE or session:GAP')
    .option('--agg <list>', 'count,sum:F,min:F,max:F,avg:F,distinct:F,p50:F,p95:F,p99:F', 'count')
    .option('--max-out-of-orderness <duration>', 'how late events may arrive and still be on time', '0s')
    .option('--allowed-lateness <duration>', 'how long fired windows accept late events (each re-fires)', '0s')
    .option('--idle-timeout <duration>', 'a partition without input this long stops holding others back')
    .option('--name <name>', 'pipeline name, part of every result id', 'aggregate')
    .option('--time-fallback <kind>', "arrival: events without the time field take the time the source received them (Kinesis ApproximateArrivalTimestamp, Kafka record timestamp)")
    .option('--max-record-size <bytes>', 'records larger than this go to the dead-letter output (default 1048576)');
  addRunFlags(command).action(async (flags: AggregateFlags) => {
    const definition = aggregateDefinition(flags);
    await execute(definition, flags, io);
  });
}

/** Builds the pipeline `sluice aggregate` runs; every flag is checked before anything opens. */
export function aggregateDefinition(flags: AggregateFlags) {
  const keys = flags.key.split(',').map((k) => k.trim());
  for (const key of keys) {
    if (!isValidPath(key)) throw new UserError(ErrorCode.BAD_OPTION, `--key '${flags.key}': '${key}' is not a field name or dotted path`);
  }
  if (!isValidPath(flags.time)) throw new UserError(ErrorCode.BAD_OPTION, `--time '${flags.time}' is not a field name or dotted path`);
  const assign = parseWindowSpec(flags.window);
  const { map: aggregate } = parseAggSpec(flags.agg);
  const maxOutOfOrderness = parseDuration(flags.maxOutOfOrderness ?? '0s', '--max-out-of-orderness');
  const allowedLateness = parseDuration(flags.allowedLateness ?? '0s', '--allowed-lateness');
  const idleTimeout = flags.idleTimeout === undefined ? undefined : parseDuration(flags.idleTimeout, '--idle-timeout');
  if (idleTimeout === 0) throw new UserError(ErrorCode.BAD_OPTION, '--idle-timeout must be greater than zero');
  if (flags.timeFallback !== undefined && flags.timeFallback !== 'arrival') throw new UserError(ErrorCode.BAD_OPTION, `--time-fallback '${flags.timeFallback}': the only fallback is 'arrival'`);
  const maxRecordSize = flags.maxRecordSize === undefined ? 1 << 20 : Number(flags.maxRecordSize);
  if (!/^\d+$/.test(flags.maxRecordSize ?? '1') || maxRecordSize < 1) {
    throw new UserError(ErrorCode.BAD_OPTION, `--max-record-size '${flags.maxRecordSize}' must be a positive number of bytes`);
  }
  return definePipeline(flags.name, (s) =>
    s
      .pipe(limitSize(maxRecordSize))
      .parseJson()
      .withWatermarks({ time: flags.time, maxOutOfOrderness, ...(idleTimeout === undefined ? {} : { idleTimeout }), ...(flags.timeFallback === 'arrival' ? { fallback: 'arrival' as const } : {}) })
      .keyBy(keys)
      .window({ assign, aggregate, allowedLateness }),
  );
}
