/**
 * The Prometheus metrics `/metrics` serves: a prom-client registry filled from a {@link RunView}
 * at scrape time (nothing on the hot path), sink write latency observed per write, and the
 * prediction latency of predict steps. Names are stable: the README lists them and a test
 * asserts them.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sink } from '../../core/connectors.js';
import type { PipelineDefinition } from '../../core/definition.js';
import { PredictMetrics } from '../../operators/predict/metrics.js';
import type { RunView } from '../run.js';
import { observeSinkWrites } from '../sink-queue.js';

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'sluice_';

/** Run counters exposed from the start, at 0, whatever the pipeline does. */
export const STANDARD_COUNTERS = ['events_in', 'results_out', 'late', 'dead_lettered', 'duplicates'] as const;

/** Upper bounds (seconds) of the sink write latency histogram: a file write to a throttled call. */
const WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Quantiles of prediction latency exposed; 1 is the maximum. */
const PREDICTION_QUANTILES = [0.5, 0.95, 0.99, 1] as const;

/** What a sink is for in a run. */
export type SinkRole = 'result' | 'dead-letter' | 'late';

export interface ObservedSink {
  readonly sink: Sink<never> | Sink<unknown>;
  readonly role: SinkRole;
}

/** A predict step of the pipeline and its measurements; `step` is `before.N` or `after.N`. */
export interface ObservedPrediction {
  readonly step: string;
  readonly metrics: PredictMetrics;
}

export interface OpsMetricsOptions {
  /** The pipeline's name: the `pipeline` label of every series. */
  readonly pipeline: string;
  /** The run's view, once it started. */
  readonly view: () => RunView | undefined;
  /** Whether `/readyz` would answer 200 now (`sluice_ready`). */
  readonly ready?: () => boolean;
  readonly sinks?: readonly ObservedSink[];
  readonly predictions?: readonly ObservedPrediction[];
  /** Node.js process metrics (CPU, memory, event-loop lag, GC) under the same prefix; default true. */
  readonly processMetrics?: boolean;
}

/** The predict steps of a pipeline, found by their `metrics` (see {@link PredictMetrics}). */
export function predictionsOf(definition: PipelineDefinition): ObservedPrediction[] {
  const found: ObservedPrediction[] = [];
  const scan = (ops: PipelineDefinition['before'], where: string): void =>
    ops.forEach((op, i) => {
      const metrics = (op as { metrics?: unknown }).metrics;
      if (metrics instanceof PredictMetrics) found.push({ step: `${where}.${i}`, metrics });
    });
  scan(definition.before, 'before');
  scan(definition.after, 'after');
  return found;
}

/** A run counter's metric name: `predict_calls` → `sluice_predict_calls_total`. */
export function counterMetricName(counter: string): string {
  return `${METRIC_PREFIX}${counter.replace(/[^a-zA-Z0-9_]/g, '_')}_total`;
}

/** What a sink's own `metrics()` may report about retries (Firehose: records, Timestream: calls). */
function retriesOf(sink: ObservedSink['sink']): number | undefined {
  const metrics = (sink as { metrics?: () => Record<string, unknown> }).metrics;
  if (typeof metrics !== 'function') return undefined;
  const m = metrics.call(sink);
  const value = m['retriedCalls'] ?? m['retriedRecords'];
  return typeof value === 'number' ? value : undefined;
}

const seconds = (ms: number): number => ms / 1000;

/**
 * A run's metrics as a prom-client registry.
 *
 * @example
 * const metrics = new OpsMetrics({ pipeline: 'page-views', view: () => view });
 * response.end(await metrics.text());
 * @see readiness
 */
export class OpsMetrics {
  readonly registry = new Registry();
  private readonly pipeline: string;
  private readonly view: () => RunView | undefined;
  private readonly unobserve: (() => void)[] = [];
  private readonly writeSeconds: Histogram<'pipeline' | 'sink' | 'role'>;
  private readonly written: Counter<'pipeline' | 'sink' | 'role'>;
  private readonly failures: Counter<'pipeline' | 'sink' | 'role'>;
  /** Sinks whose own metrics count retries. */
  private readonly retried: ObservedSink['sink'][] = [];

  constructor(options: OpsMetricsOptions) {
    this.pipeline = options.pipeline;
    this.view = options.view;
    const registers = [this.registry];
    const pipeline = { pipeline: options.pipeline };
    const view = options.view;

    for (const name of STANDARD_COUNTERS) this.runCounter(name);
    const fired: Counter<'pipeline'> = new Counter({
      name: `${METRIC_PREFIX}windows_fired_total`,
      help: 'Window results fired, late re-firings included (before operators after the window)',
      labelNames: ['pipeline'],
      registers,
      collect: () => {
        fired.reset();
        fired.inc(pipeline, view()?.windowsFired() ?? 0);
      },
    });

    const runGauge = (name: string, help: string, value: (view: RunView) => number | undefined): void => {
      const gauge: Gauge<'pipeline'> = new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['pipeline'],
        registers,
        collect: () => {
          gauge.reset();
          const current = view();
          const v = current === undefined ? undefined : value(current);
          if (v !== undefined && Number.isFinite(v)) gauge.set(pipeline, v);
        },
      });
    };
    runGauge('watermark_seconds', 'Output watermark, epoch seconds (absent before the first)', (v) => seconds(v.watermark()));
    runGauge('max_event_time_seconds', 'Latest event time the window has seen, epoch seconds', (v) => seconds(v.maxEventTime()));
    runGauge('last_checkpoint_id', 'Newest durable checkpoint (0: none yet)', (v) => v.lastCheckpoint());
    runGauge('assigned_partitions', 'Partitions this worker reads now', (v) => v.partitions().length);
    const ready: Gauge<'pipeline'> = new Gauge({
      name: `${METRIC_PREFIX}ready`,
      help: '1 while /readyz answers 200, else 0',
      labelNames: ['pipeline'],
      registers,
      collect: () => ready.set(pipeline, options.ready?.() === true ? 1 : 0),
    });

    const partitionGauge = (name: string, help: string, value: (p: ReturnType<RunView['partitions']>[number]) => number | undefined): void => {
      const gauge: Gauge<'pipeline' | 'partition'> = new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['pipeline', 'partition'],
        registers,
        collect: () => {
          // partitions come and go with rebalances: only the current ones have series
          gauge.reset();
          for (const p of view()?.partitions() ?? []) {
            const v = value(p);
            if (v !== undefined && Number.isFinite(v)) gauge.set({ ...pipeline, partition: p.partition }, v);
          }
        },
      });
    };
    partitionGauge('partition_lag_records', 'Records between the last one read and the end of the partition (Kafka: from the latest fetch\'s high watermark)', (p) => p.backlog?.records);
    partitionGauge('partition_millis_behind_latest', "How far the partition's latest fetch was behind the tip of its Kinesis shard (MillisBehindLatest)", (p) => p.backlog?.millisBehind);
    partitionGauge('partition_watermark_seconds', 'The partition\'s watermark, epoch seconds', (p) => seconds(p.watermark));
    partitionGauge('partition_last_read_timestamp_seconds', 'When the partition last read a batch, epoch seconds', (p) => (p.lastReadAt === undefined ? undefined : seconds(p.lastReadAt)));
    const partitionEvents: Counter<'pipeline' | 'partition'> = new Counter({
      name: `${METRIC_PREFIX}partition_events_in_total`,
      help: 'Records read from the partition since this worker took it',
      labelNames: ['pipeline', 'partition'],
      registers,
      collect: () => {
        partitionEvents.reset();
        for (const p of view()?.partitions() ?? []) partitionEvents.inc({ ...pipeline, partition: p.partition }, p.eventsIn);
      },
    });

    this.writeSeconds = new Histogram({
      name: `${METRIC_PREFIX}sink_write_seconds`,
      help: 'Time from a write to a sink until it acknowledged every record (retries included)',
      labelNames: ['pipeline', 'sink', 'role'],
      buckets: WRITE_BUCKETS,
      registers,
    });
    this.written = new Counter({
      name: `${METRIC_PREFIX}sink_records_total`,
      help: 'Records a sink acknowledged (not those it refused for good: they are dead-lettered)',
      labelNames: ['pipeline', 'sink', 'role'],
      registers,
    });
    this.failures = new Counter({
      name: `${METRIC_PREFIX}sink_write_failures_total`,
      help: 'Writes that failed (each fails the run)',
      labelNames: ['pipeline', 'sink', 'role'],
      registers,
    });
    const retried = this.retried;
    const retries: Counter<'pipeline' | 'sink'> = new Counter({
      name: `${METRIC_PREFIX}sink_retries_total`,
      help: 'Retries a sink made (Firehose: records sent again, Timestream: calls sent again); only sinks that count them',
      labelNames: ['pipeline', 'sink'],
      registers,
      collect: () => {
        retries.reset();
        for (const sink of retried) retries.inc({ ...pipeline, sink: sink.description }, retriesOf(sink) ?? 0);
      },
    });
    this.observeSinks(options.sinks ?? []);

    const predictions = options.predictions ?? [];
    const latency: Gauge<'pipeline' | 'step' | 'quantile'> = new Gauge({
      name: `${METRIC_PREFIX}prediction_latency_seconds`,
      help: 'Latency of endpoint calls of a predict step (quantile 1 is the maximum), from its HDR histogram',
      labelNames: ['pipeline', 'step', 'quantile'],
      registers,
      collect: () => {
        latency.reset();
        for (const { step, metrics } of predictions) {
          const h = metrics.latency;
          if (h.totalCount === 0) continue;
          for (const q of PREDICTION_QUANTILES) {
            latency.set({ ...pipeline, step, quantile: String(q) }, seconds(q === 1 ? h.maxValue : h.getValueAtPercentile(q * 100)));
          }
        }
      },
    });

    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** Measures the writes of these sinks from now on (they open after the endpoints are up). */
  observeSinks(sinks: readonly ObservedSink[]): void {
    const pipeline = this.pipeline;
    for (const { sink, role } of sinks) {
      const labels = { pipeline, sink: sink.description, role };
      this.writeSeconds.zero(labels);
      this.written.inc(labels, 0);
      this.failures.inc(labels, 0);
      this.unobserve.push(
        observeSinkWrites(sink, (write) => {
          this.writeSeconds.observe(labels, seconds(write.ms));
          if (write.ok) this.written.inc(labels, write.records - write.rejected);
          else this.failures.inc(labels);
        }),
      );
      if (retriesOf(sink) !== undefined) this.retried.push(sink);
    }
  }

  /** The Prometheus text exposition of every metric now. */
  async text(): Promise<string> {
    // counters a run adds as it goes (predict_calls, commit_failures …) get their series on sight
    for (const name of Object.keys(this.view()?.counters() ?? {})) this.runCounter(name);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops observing sinks. */
  close(): void {
    for (const stop of this.unobserve.splice(0)) stop();
    this.registry.clear();
  }

  /** `sluice_<counter>_total{pipeline}` from the run's counter `name`, once. */
  private runCounter(name: string): void {
    const metricName = counterMetricName(name);
    if (this.registry.getSingleMetric(metricName) !== undefined) return;
    const pipeline = { pipeline: this.pipeline };
    const view = this.view;
    const counter: Counter<'pipeline'> = new Counter({
      name: metricName,
      help: `Run counter '${name}' (see the README, Operations)`,
      labelNames: ['pipeline'],
      registers: [this.registry],
      collect: () => {
        counter.reset();
        counter.inc(pipeline, view()?.counters()[name] ?? 0);
      },
    });
  }
}
