/**
 * CloudWatch metrics on ECS through the Embedded Metric Format: every interval, one JSON line on
 * stderr that the task's awslogs driver ships to CloudWatch Logs, which turns it into metrics —
 * no agent sidecar, no PutMetricData calls, and stdout stays for results. Off outside ECS.
 *
 * @module
 */
import { MetricsLogger, Unit } from 'aws-embedded-metrics';
import type { IEnvironment } from 'aws-embedded-metrics/lib/environment/IEnvironment.js';
import type { MetricsContext } from 'aws-embedded-metrics/lib/logger/MetricsContext.js';
import { LogSerializer } from 'aws-embedded-metrics/lib/serializers/LogSerializer.js';
import type { RunView } from '../run.js';

/** The CloudWatch namespace unless `AWS_EMF_NAMESPACE` names another. */
export const EMF_NAMESPACE = 'Sluice';

/** How often metrics are flushed: CloudWatch's standard resolution. */
export const EMF_INTERVAL_MS = 60_000;

/** The metrics each flush carries, all with the dimension `Pipeline`. */
export const EMF_METRICS = ['EventsIn', 'ResultsOut', 'DeadLettered', 'Late', 'Lag', 'MaxPartitionLag', 'AssignedPartitions'] as const;

export { onEcs } from './ecs.js';

export interface EmfOptions {
  readonly pipeline: string;
  readonly view: () => RunView | undefined;
  /** Where each EMF document goes, one line each (default: stderr). */
  readonly write?: (line: string) => void;
  /** The CloudWatch namespace (default {@link EMF_NAMESPACE}; the CLI takes `AWS_EMF_NAMESPACE`). */
  readonly namespace?: string;
  /** Wall clock for the documents' timestamps (CloudWatch takes up to 2 h ahead, 14 days back). */
  readonly now?: () => number;
}

/**
 * Publishes a run's metrics as EMF: counts since the previous flush (`EventsIn`, `ResultsOut`,
 * `DeadLettered`, `Late`), and at the flush `Lag` (records behind, summed over this worker's
 * partitions: the `Sum` over workers is the group's lag), `MaxPartitionLag` and
 * `AssignedPartitions`. Per-partition lag and watermarks ride along as properties (searchable in
 * Logs Insights, not billed as metrics).
 *
 * @example const emf = new EmfPublisher({ pipeline: 'page-views', view: () => view }); emf.start();
 * @see onEcs
 */
export class EmfPublisher {
  private readonly logger: MetricsLogger;
  private readonly options: EmfOptions;
  private readonly last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: EmfOptions) {
    this.options = options;
    const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
    const serializer = new LogSerializer();
    const environment: IEnvironment = {
      probe: () => Promise.resolve(true),
      getName: () => options.pipeline,
      getType: () => 'AWS::ECS::Container',
      getLogGroupName: () => '',
      configureContext: () => undefined,
      getSink: () => ({
        name: 'stderr',
        accept: (context: MetricsContext) => {
          for (const line of serializer.serialize(context)) write(line);
          return Promise.resolve();
        },
      }),
    };
    this.logger = new MetricsLogger(() => Promise.resolve(environment));
    this.logger.setNamespace(options.namespace ?? EMF_NAMESPACE);
    // only our dimension: the library's defaults (LogGroup, ServiceName …) would split the metrics
    this.logger.setDimensions({ Pipeline: options.pipeline }, false);
  }

  /**
   * Flushes every `intervalMs` (the timer does not keep the process alive). Metrics are a
   * courtesy: a document that cannot be written never disturbs the run.
   */
  start(intervalMs = EMF_INTERVAL_MS): void {
    this.timer ??= setInterval(() => void this.flush().catch(() => undefined), intervalMs).unref();
  }

  /** Stops the timer and flushes what the last interval counted. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
  }

  /** Writes one document now; nothing before the run started. */
  async flush(): Promise<void> {
    const view = this.options.view();
    if (view === undefined) return;
    const counters = view.counters();
    const delta = (name: string): number => {
      const value = counters[name] ?? 0;
      const change = value - (this.last.get(name) ?? 0);
      this.last.set(name, value);
      return Math.max(0, change);
    };
    const partitions = view.partitions();
    const lags = partitions.flatMap((p) => (p.backlog?.records === undefined ? [] : [[p.partition, p.backlog.records] as const]));
    const m = this.logger;
    m.setTimestamp(this.options.now?.() ?? Date.now());
    m.putMetric('EventsIn', delta('events_in'), Unit.Count);
    m.putMetric('ResultsOut', delta('results_out'), Unit.Count);
    m.putMetric('DeadLettered', delta('dead_lettered'), Unit.Count);
    m.putMetric('Late', delta('late'), Unit.Count);
    // a standby worker of a group reports 0, so alarms see data from every task
    if (lags.length > 0 || view.membership() !== undefined) {
      m.putMetric('Lag', lags.reduce((sum, [, lag]) => sum + lag, 0), Unit.Count);
      m.putMetric('MaxPartitionLag', lags.reduce((max, [, lag]) => Math.max(max, lag), 0), Unit.Count);
    }
    m.putMetric('AssignedPartitions', partitions.length, Unit.Count);
    m.setProperty('partitionLag', Object.fromEntries(lags));
    m.setProperty('partitionWatermark', Object.fromEntries(partitions.filter((p) => Number.isFinite(p.watermark)).map((p) => [p.partition, p.watermark])));
    m.setProperty('lastCheckpoint', view.lastCheckpoint());
    await m.flush();
  }
}
