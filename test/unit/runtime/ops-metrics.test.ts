import { afterEach, describe, expect, it } from 'vitest';
import type { Sink } from '../../../src/core/connectors.js';
import type { DeadLetter } from '../../../src/core/context.js';
import type { Operator } from '../../../src/core/operator.js';
import { definePipeline } from '../../../src/pipeline.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { AimdLimiter } from '../../../src/operators/predict/aimd.js';
import { PredictMetrics } from '../../../src/operators/predict/metrics.js';
import { OpsMetrics, predictionsOf } from '../../../src/runtime/ops/metrics.js';
import { runPipeline, type RunView } from '../../../src/runtime/run.js';
import { tumbling } from '../../../src/windows/assigners.js';
import { count } from '../../../src/windows/aggregates/index.js';
import { CollectSink } from '../../support/run-memory.js';
import { fakeView, partition, type FakeRun } from './ops-fakes.js';

/**
 * The names `/metrics` promises (README, Operations) and their types. Renaming one breaks
 * dashboards and alarms: this list changes only on purpose.
 */
const STABLE = {
  sluice_events_in_total: 'counter',
  sluice_results_out_total: 'counter',
  sluice_late_total: 'counter',
  sluice_dead_lettered_total: 'counter',
  sluice_duplicates_total: 'counter',
  sluice_windows_fired_total: 'counter',
  sluice_watermark_seconds: 'gauge',
  sluice_max_event_time_seconds: 'gauge',
  sluice_last_checkpoint_id: 'gauge',
  sluice_assigned_partitions: 'gauge',
  sluice_ready: 'gauge',
  sluice_partition_lag_records: 'gauge',
  sluice_partition_millis_behind_latest: 'gauge',
  sluice_partition_watermark_seconds: 'gauge',
  sluice_partition_last_read_timestamp_seconds: 'gauge',
  sluice_partition_events_in_total: 'counter',
  sluice_sink_write_seconds: 'histogram',
  sluice_sink_records_total: 'counter',
  sluice_sink_write_failures_total: 'counter',
  sluice_sink_retries_total: 'counter',
  sluice_prediction_latency_seconds: 'gauge',
} as const;

type Labels = Record<string, string>;

/** Every sample of the exposition: name, labels, value. */
function samples(text: string): { name: string; labels: Labels; value: number }[] {
  const out: { name: string; labels: Labels; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k as string] = v as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`. */
function value(text: string, name: string, labels: Labels = {}): number | undefined {
  const found = samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function types(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

const open: OpsMetrics[] = [];
function metricsOf(view: RunView | undefined, options: Partial<ConstructorParameters<typeof OpsMetrics>[0]> = {}): OpsMetrics {
  const metrics = new OpsMetrics({ pipeline: 'p', view: () => view, processMetrics: false, ...options });
  open.push(metrics);
  return metrics;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

describe('/metrics', () => {
  it('exposes every stable name with its type from the start, before the run has a view', async () => {
    const text = await metricsOf(undefined).text();
    const exposed = types(text);
    for (const [name, type] of Object.entries(STABLE)) expect(exposed[name], name).toBe(type);
    // standard counters are 0 from the start, so rate() has a first point
    expect(value(text, 'sluice_events_in_total', { pipeline: 'p' })).toBe(0);
    expect(value(text, 'sluice_ready', { pipeline: 'p' })).toBe(0);
  });

  it("maps the run's counters, watermarks and partitions to series labelled by pipeline and partition", async () => {
    const state: FakeRun = {
      counters: { events_in: 1200, results_out: 31, late: 2, dead_lettered: 1, predict_calls: 9, 'odd-name': 4 },
      windowsFired: 33,
      watermark: 1_800_000_000_000,
      maxEventTime: 1_800_000_005_001,
      lastCheckpoint: 7,
      partitions: [
        partition('t/0', { eventsIn: 700, watermark: 1_800_000_001_000, lastReadAt: 1_800_000_100_000, backlog: { records: 12, waitingSince: undefined } }),
        partition('t/1', { eventsIn: 500, backlog: { records: undefined, waitingSince: undefined, millisBehind: 2_500 } }),
      ],
    };
    const metrics = metricsOf(fakeView(state), { ready: () => true });
    const text = await metrics.text();
    expect(value(text, 'sluice_events_in_total', { pipeline: 'p' })).toBe(1200);
    expect(value(text, 'sluice_results_out_total')).toBe(31);
    expect(value(text, 'sluice_late_total')).toBe(2);
    expect(value(text, 'sluice_dead_lettered_total')).toBe(1);
    expect(value(text, 'sluice_windows_fired_total')).toBe(33);
    // counters a pipeline adds (a predict step's) appear by the same rule
    expect(value(text, 'sluice_predict_calls_total')).toBe(9);
    expect(value(text, 'sluice_odd_name_total')).toBe(4);
    expect(value(text, 'sluice_watermark_seconds')).toBe(1_800_000_000);
    expect(value(text, 'sluice_max_event_time_seconds')).toBe(1_800_000_005.001);
    expect(value(text, 'sluice_last_checkpoint_id')).toBe(7);
    expect(value(text, 'sluice_assigned_partitions')).toBe(2);
    expect(value(text, 'sluice_ready')).toBe(1);
    expect(value(text, 'sluice_partition_lag_records', { partition: 't/0' })).toBe(12);
    expect(value(text, 'sluice_partition_watermark_seconds', { partition: 't/0' })).toBe(1_800_000_001);
    expect(value(text, 'sluice_partition_last_read_timestamp_seconds', { partition: 't/0' })).toBe(1_800_000_100);
    expect(value(text, 'sluice_partition_events_in_total', { partition: 't/1' })).toBe(500);
    // what a partition cannot tell has no series, rather than a made-up value
    expect(value(text, 'sluice_partition_lag_records', { partition: 't/1' })).toBeUndefined();
    // a Kinesis shard tells time behind the tip, not records
    expect(value(text, 'sluice_partition_millis_behind_latest', { partition: 't/1' })).toBe(2_500);
    expect(value(text, 'sluice_partition_millis_behind_latest', { partition: 't/0' })).toBeUndefined();
    expect(value(text, 'sluice_partition_watermark_seconds', { partition: 't/1' })).toBeUndefined();

    // a revoked partition's series go with it; the run's counters keep growing
    state.partitions = [partition('t/1', { eventsIn: 800 })];
    state.counters = { ...state.counters, events_in: 1500 };
    const later = await metrics.text();
    expect(samples(later).filter((s) => s.labels['partition'] === 't/0')).toEqual([]);
    expect(value(later, 'sluice_partition_events_in_total', { partition: 't/1' })).toBe(800);
    expect(value(later, 'sluice_events_in_total')).toBe(1500);
    expect(value(later, 'sluice_assigned_partitions')).toBe(1);
  });

  it('times every write of every sink of a real run, and counts what each acknowledged', async () => {
    const results = new CollectSink();
    const deadLetters = new CollectSink<DeadLetter>();
    let view: RunView | undefined;
    const metrics = metricsOf(undefined, {});
    // the view arrives once the run starts, as in the CLI
    const live = new OpsMetrics({ pipeline: 'p', view: () => view, processMetrics: false });
    open.push(live);
    live.observeSinks([
      { sink: results, role: 'result' },
      { sink: deadLetters, role: 'dead-letter' },
    ]);
    const lines = ['{"k":"a","t":1000}', 'not json', '{"k":"b","t":2000}', '{"k":"a","t":12000}'];
    const summary = await runPipeline({
      definition: definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling('10s'), aggregate: { n: count() } })),
      source: memorySource({ partitions: { p0: lines }, batchSizes: () => [1] }),
      sinks: [results],
      deadLetter: deadLetters,
      view: (v) => (view = v),
    });
    const text = await live.text();
    const sink = { pipeline: 'p', sink: 'collect:', role: 'result' };
    expect(value(text, 'sluice_sink_records_total', sink)).toBe(results.records.length);
    expect(value(text, 'sluice_sink_records_total', { ...sink, role: 'dead-letter' })).toBe(1);
    expect(value(text, 'sluice_sink_write_seconds_count', sink)).toBe(results.writes);
    expect(value(text, 'sluice_sink_write_seconds_bucket', { ...sink, le: '+Inf' })).toBe(results.writes);
    expect(value(text, 'sluice_sink_write_failures_total', sink)).toBe(0);
    expect(value(text, 'sluice_events_in_total')).toBe(4);
    expect(value(text, 'sluice_windows_fired_total')).toBe(summary.counters['results_out']);
    expect(value(text, 'sluice_partition_events_in_total', { partition: 'p0' })).toBe(4);
    // the partition's last watermark: its newest event time − 0 out-of-orderness − 1 ms
    expect(value(text, 'sluice_partition_watermark_seconds', { partition: 'p0' })).toBe(11.999);
    // a metrics object that never observed the sinks has no series for them
    expect(value(await metrics.text(), 'sluice_sink_records_total', sink)).toBeUndefined();
  });

  it('does not count the records a sink refused as written', async () => {
    const refusing: Sink = {
      description: 'refusing:',
      write: async (records) => ({ rejected: records.filter((r) => (r as { key: { k: string } }).key.k === 'b').map((record) => ({ record, code: 'VALIDATION_FAILED' as const, reason: 'no b' })) }),
      close: async () => undefined,
    };
    const deadLetters = new CollectSink<DeadLetter>();
    let view: RunView | undefined;
    const metrics = metricsOf(undefined);
    const live = new OpsMetrics({ pipeline: 'p', view: () => view, processMetrics: false });
    open.push(live);
    live.observeSinks([{ sink: refusing, role: 'result' }]);
    await runPipeline({
      definition: definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling('10s'), aggregate: { n: count() } })),
      source: memorySource({ partitions: { p0: ['{"k":"a","t":1}', '{"k":"b","t":2}', '{"k":"c","t":3}'] } }),
      sinks: [refusing],
      deadLetter: deadLetters,
      view: (v) => (view = v),
    });
    const text = await live.text();
    expect(value(text, 'sluice_results_out_total')).toBe(3);
    expect(value(text, 'sluice_sink_records_total', { sink: 'refusing:' })).toBe(2);
    expect(deadLetters.records.map((d) => d.reason)).toEqual(['no b']);
    expect(value(await metrics.text(), 'sluice_sink_records_total', { sink: 'refusing:' })).toBeUndefined();
  });

  it("reports a sink's own retry count when it keeps one", async () => {
    const counting = { description: 'timestream://db/t', write: async () => undefined, close: async () => undefined, metrics: () => ({ writeCalls: 9, retriedCalls: 3 }) } satisfies Sink & { metrics(): unknown };
    const plain: Sink = { description: 'stdout:', write: async () => undefined, close: async () => undefined };
    const metrics = metricsOf(fakeView({}));
    metrics.observeSinks([
      { sink: counting, role: 'result' },
      { sink: plain, role: 'result' },
    ]);
    const text = await metrics.text();
    expect(value(text, 'sluice_sink_retries_total', { sink: 'timestream://db/t' })).toBe(3);
    expect(value(text, 'sluice_sink_retries_total', { sink: 'stdout:' })).toBeUndefined();
  });

  it("exposes each predict step's latency quantiles from its histogram", async () => {
    const measured = new PredictMetrics(new AimdLimiter({ min: 1, max: 8 }), undefined, 64);
    for (const ms of [10, 10, 10, 20, 2000]) measured.latency.recordValue(ms);
    const passOn: Operator<unknown, unknown> = () => (input) => input;
    const step = Object.assign(passOn, { metrics: measured });
    const definition = definePipeline('p', (s) => s.parseJson().pipe(step));
    const predictions = predictionsOf(definition);
    expect(predictions.map((p) => p.step)).toEqual(['before.1']);
    const text = await metricsOf(fakeView({}), { predictions }).text();
    const at = (quantile: string) => value(text, 'sluice_prediction_latency_seconds', { step: 'before.1', quantile });
    expect(at('0.5')).toBeCloseTo(0.01, 3);
    expect(at('1')).toBeCloseTo(2, 2);
    expect(at('0.99')).toBeGreaterThanOrEqual(at('0.95') ?? Number.NaN);
  });

  it('adds the Node.js process metrics under the same prefix', async () => {
    const metrics = new OpsMetrics({ pipeline: 'p', view: () => undefined });
    open.push(metrics);
    const exposed = types(await metrics.text());
    expect(exposed['sluice_process_cpu_seconds_total']).toBe('counter');
    expect(exposed['sluice_nodejs_eventloop_lag_seconds']).toBe('gauge');
  });
});
