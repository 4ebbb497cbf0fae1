import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { WORKLOADS, type Workload } from '../ingest/generator/index.js';
import { readLoadCase, type LoadCase, type PipelineSpec } from '../loadtest/case.js';
import { writeReport } from '../loadtest/report-html.js';
import type { LoadReport } from '../loadtest/report.js';
import { runLoadTest } from '../loadtest/run.js';
import { formatLoadSummary } from '../loadtest/summary.js';
import { parseTarget } from '../loadtest/target.js';
import { parseByteSize, parseNumber, parseRates } from '../loadtest/units.js';
import { aggregateDefinition } from './aggregate.js';
import type { CliIo } from './common.js';
import { loadPipeline } from './run-module.js';

/** Flags of `sluice loadtest`, as commander gives them. */
export interface LoadtestFlags {
  readonly target: string;
  readonly case?: string | undefined;
  readonly rate?: string | undefined;
  readonly duration?: string | undefined;
  readonly workload?: string | undefined;
  readonly recordSize?: string | undefined;
  readonly key?: string | undefined;
  readonly seed?: string | undefined;
  readonly pipeline?: string | undefined;
  readonly targetRate?: string | undefined;
  readonly drainTimeout?: string | undefined;
  readonly report?: string | undefined;
  /** Kinesis: KPL-aggregate (`--aggregate`), or not even when the case says so (`--no-aggregate`). */
  readonly aggregate?: boolean | undefined;
}

/** Per workload: the event field used as the record key, and the built-in pipeline keyed by it. */
const DEFAULTS: Readonly<Record<Workload, { readonly key: string; readonly pipeline: string }>> = {
  clickstream: { key: 'page', pipeline: 'clickstream' },
  telemetry: { key: 'vehicleId', pipeline: 'telemetry' },
};

/** `sluice loadtest`: a stepped load into Kafka or Kinesis, a pipeline reading it, and a report. */
export function loadtestCommand(program: Command, io: CliIo): void {
  program
    .command('loadtest')
    .description('drive generated events into a Kafka topic or Kinesis stream at controlled rates while a Sluice pipeline reads them; measure throughput, lag, latency, CPU and memory per step, and recommend tasks, partitions and shards')
    .requiredOption('--target <url>', 'kafka://BROKER[,BROKER]/TOPIC or kinesis://STREAM[?consumer=NAME] (the topic or stream must exist)')
    .option('--case <dir>', 'a load case folder (case.json: load, generator, pipeline, budget); flags given as well override it')
    .option('--rate <r[,r2,…]>', 'records per second; several, comma-separated, run one step each (a ramp to find the knee)')
    .option('--duration <duration>', 'how long each step lasts, e.g. 30s')
    .option('--workload <name>', `generated events: ${WORKLOADS.join(' or ')}`)
    .option('--record-size <bytes>', 'pad each event to this many bytes (1024, 1KB); default: as generated')
    .option('--key <field>', 'event field used as the record key (default: page for clickstream, vehicleId for telemetry)')
    .option('--seed <n>', 'generator seed (default 1)')
    .option('--pipeline <name|module>', 'the pipeline under test: a built-in name or a module (default: the workload\'s built-in)')
    .option('--target-rate <r>', 'the rate to recommend tasks and partitions for (default: the highest --rate)')
    .option('--drain-timeout <duration>', 'after the last step, how long the pipeline may take to read what is left', '30s')
    .option('--aggregate', 'Kinesis: pack the events into KPL aggregated records')
    .option('--no-aggregate', 'Kinesis: one record per event, even when the case aggregates')
    .option('--report <dir>', 'write report.html and report.json here')
    .action(async (flags: LoadtestFlags) => {
      const { report, files } = await runLoadtest(flags, io);
      process.stdout.write(`${formatLoadSummary(report, files).join('\n')}\n`);
    });
}

/**
 * Resolves the flags and the case (flags win), runs the load test and writes the report.
 * Every flag is checked before anything connects.
 */
export async function runLoadtest(flags: LoadtestFlags, io: CliIo): Promise<{ readonly report: LoadReport; readonly files: { html: string; json: string } | null }> {
  const target = parseTarget(flags.target);
  const loadCase: LoadCase | undefined = flags.case === undefined ? undefined : await readLoadCase(flags.case);
  const aggregate = flags.aggregate ?? (target.kind === 'kinesis' && target.aggregate ? true : loadCase?.load.aggregate) ?? false;
  if (aggregate && target.kind !== 'kinesis') throw new UserError(ErrorCode.BAD_OPTION, `--aggregate packs records for Kinesis (KPL aggregation); --target '${flags.target}' is a Kafka topic`);
  const need = (flag: string, value: string | undefined, fromCase: string | undefined): string => {
    const v = value ?? fromCase;
    if (v === undefined) throw new UserError(ErrorCode.BAD_OPTION, `${flag} is required (or a --case that sets it)`);
    return v;
  };
  const rates = flags.rate !== undefined ? parseRates(flags.rate, '--rate') : loadCase?.load.rates;
  if (rates === undefined) throw new UserError(ErrorCode.BAD_OPTION, '--rate is required (or a --case that sets it)');
  const durationText = need('--duration', flags.duration, loadCase?.load.duration);
  const durationMs = parseDuration(durationText, flags.duration !== undefined ? '--duration' : `--case load.duration`);
  if (durationMs < 1000) throw new UserError(ErrorCode.BAD_OPTION, `--duration must be at least 1s per step, got '${durationText}'`);
  const workloadText = need('--workload', flags.workload, loadCase?.generator.workload);
  if (!(WORKLOADS as readonly string[]).includes(workloadText)) throw new UserError(ErrorCode.BAD_OPTION, `--workload must be ${WORKLOADS.join(' or ')}, got '${workloadText}'`);
  const workload = workloadText as Workload;
  const recordSize = flags.recordSize !== undefined ? parseByteSize(flags.recordSize, '--record-size') : (loadCase?.generator.recordSize ?? 0);
  const seed = flags.seed !== undefined ? parseNumber(flags.seed, '--seed', { min: 0, integer: true }) : (loadCase?.generator.seed ?? 1);
  const targetRate = flags.targetRate !== undefined ? parseNumber(flags.targetRate, '--target-rate', { min: 0, above: true }) : loadCase?.load.targetRate;
  const drainTimeoutMs = parseDuration(flags.drainTimeout ?? '30s', '--drain-timeout');
  const keyField = flags.key ?? loadCase?.generator.key ?? DEFAULTS[workload].key;
  const spec: PipelineSpec = flags.pipeline !== undefined ? { run: flags.pipeline } : (loadCase?.pipeline ?? { run: DEFAULTS[workload].pipeline });
  const definition = await pipelineOf(spec);

  const stop = new AbortController();
  const onSignal = (): void => {
    io.report('sluice loadtest: stopping the load; waiting for what was sent');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: LoadReport;
  try {
    report = await runLoadTest({
      target,
      aggregate,
      steps: rates.map((rate) => ({ rate, durationMs })),
      workload,
      seed,
      recordSize,
      keyField,
      definition,
      budget: loadCase?.budget ?? null,
      targetRate,
      caseName: loadCase?.name,
      drainTimeoutMs,
      log: (line) => io.report(`sluice loadtest: ${line}`),
      signal: stop.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const files = flags.report === undefined ? null : await writeReport(flags.report, report);
  return { report, files };
}

/** The pipeline a case or `--pipeline` names. */
async function pipelineOf(spec: PipelineSpec): Promise<PipelineDefinition> {
  if ('run' in spec) return loadPipeline(spec.run);
  const a = spec.aggregate;
  return aggregateDefinition({
    key: a.key,
    time: a.time,
    window: a.window,
    agg: a.agg ?? 'count',
    name: a.name ?? 'loadtest',
    ...(a.maxOutOfOrderness === undefined ? {} : { maxOutOfOrderness: a.maxOutOfOrderness }),
    ...(a.allowedLateness === undefined ? {} : { allowedLateness: a.allowedLateness }),
  });
}
