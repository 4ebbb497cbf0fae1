/**
 * `sluice loadtest` against Kafka: the pipeline under test joins a consumer group on the topic,
 * the load driver (its own process) produces a stepped, open-loop load into it, and this process
 * samples throughput, offset lag, latency, CPU and memory until the pipeline has read everything.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { PipelineDefinition } from '../core/definition.js';
import type { Workload } from '../ingest/generator/index.js';
import type { KafkaEndpoint } from '../kafka/endpoint.js';
import { ConsumerSide } from './consumer.js';
import { epochNow, type StepSendStats } from './driver.js';
import { startDriver, type DriverHandle } from './driver-handle.js';
import { isSustained, overBudget, recommendFrom } from './recommend.js';
import type { Budget, LoadReport, Sample, StepResult } from './report.js';
import { OpenLoopSchedule, type Step } from './schedule.js';
import { openTopicOffsets, type TopicOffsets } from './service.js';
import { sizeStream } from './sizing.js';

/**
 * What to run.
 *
 * @example { target: 'kafka://127.0.0.1:9092/load', endpoint, steps: [{ rate: 1000, durationMs: 3000 }], workload: 'clickstream', … }
 */
export interface LoadTestOptions {
  /** The `kafka://` URL as given (the driver process parses it again, with secrets from its environment). */
  readonly target: string;
  readonly endpoint: KafkaEndpoint;
  readonly steps: readonly Step[];
  readonly workload: Workload;
  readonly seed: number;
  /** Bytes each event is padded to; 0: as generated. */
  readonly recordSize: number;
  readonly keyField: string;
  readonly definition: PipelineDefinition;
  readonly budget: Budget | null;
  /** The rate the recommendation is for (default: the highest step rate). */
  readonly targetRate?: number | undefined;
  readonly caseName?: string | undefined;
  /** How long to wait after the last step for the pipeline to read what is left (default 30 s). */
  readonly drainTimeoutMs?: number | undefined;
  /** Sampling interval (default 1 s). */
  readonly sampleMs?: number | undefined;
  /** Progress lines (one per step). */
  readonly log: (line: string) => void;
  /** Stops the load early; what was sent is still read and reported. */
  readonly signal?: AbortSignal | undefined;
}

interface Snapshot {
  readonly at: number;
  readonly read: number;
  readonly acked: number;
  readonly cpu: NodeJS.CpuUsage;
}

const MB = 1024 * 1024;
/** How long the pipeline may take to read its first records. */
const WARM_UP_TIMEOUT_MS = 60_000;

/**
 * Runs the load test and returns its report (write it with `writeReport`).
 *
 * @throws UserError: the topic is missing, the broker unreachable (from either side).
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadReport> {
  const sampleMs = options.sampleMs ?? 1000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const offsets = await openTopicOffsets(options.endpoint);
  const partitions = offsets.partitions;
  // a fresh group that starts at the first record written from now on: older records in the topic are not this run's
  const startTime = Date.now() - 1;
  const sourceEndpoint: KafkaEndpoint = {
    ...options.endpoint,
    group: `sluice-loadtest-${randomUUID().slice(0, 8)}`,
    start: { kind: 'timestamp', time: startTime },
  };
  const consumer = new ConsumerSide({ endpoint: sourceEndpoint, definition: options.definition, steps: options.steps.length });
  let driver: DriverHandle | undefined;
  try {
    const plan = { workload: options.workload, seed: options.seed, recordSize: options.recordSize, keyField: options.keyField, steps: options.steps };
    [driver] = await Promise.all([startDriver(options.target, plan), consumer.start(partitions)]);
    await warmUp(driver, consumer, partitions);
    const startOffsets = await offsets.endOffsets();
    const schedule = new OpenLoopSchedule(epochNow() + 250, options.steps);
    let acked = 0;
    const sampler = new Sampler({ schedule, consumer, offsets, startOffsets, sampleMs, acked: () => acked });
    sampler.start();
    const onAbort = (): void => driver?.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let sendStats: StepSendStats[];
    try {
      let reported = 0;
      sendStats = await driver.run(schedule.startAt, (progress) => {
        acked = progress.acked;
        // one line per finished step, as the schedule passes it
        while (reported < options.steps.length && progress.at >= (schedule.starts[reported + 1] as number)) {
          const step = options.steps[reported] as Step;
          options.log(`step ${reported + 1}/${options.steps.length}: ${step.rate} records/s for ${step.durationMs / 1000} s, ${consumer.readByStep[reported]} read so far`);
          reported++;
        }
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const totalAcked = sendStats.reduce((sum, s) => sum + s.acked, 0);
    acked = totalAcked;
    const drained = await waitFor(() => consumer.read >= totalAcked, drainTimeoutMs);
    // the last step's window closes on the schedule's clock, even when its records all went out early
    await waitFor(() => epochNow() >= schedule.endAt + 10, Math.max(0, schedule.endAt + 10 - epochNow()) + 100);
    await sampler.stop();
    const summary = await consumer.stop();
    return buildReport({ options, partitions, schedule, sendStats, sampler, consumer, drained, counters: summary.counters });
  } finally {
    driver?.kill();
    await consumer.stop().catch(() => undefined);
    await offsets.close();
  }
}

/**
 * Sends warm-up records (one per partition, again every second) until the pipeline has read one
 * from every partition: a consumer that was just assigned its partitions may not fetch for a few
 * seconds, and that start-up must not count as the first step's latency.
 */
async function warmUp(driver: DriverHandle, consumer: ConsumerSide, partitions: number): Promise<void> {
  const until = performance.now() + WARM_UP_TIMEOUT_MS;
  while (consumer.warmedUp.size < partitions) {
    if (performance.now() > until) {
      throw new Error(`the pipeline read warm-up records from ${consumer.warmedUp.size} of ${partitions} partitions within ${WARM_UP_TIMEOUT_MS / 1000} s`);
    }
    await driver.warmUp();
    await waitFor(() => consumer.warmedUp.size >= partitions, 1000);
  }
}

/** Takes a sample every `sampleMs` from the schedule's start, and one at every step boundary. */
class Sampler {
  readonly samples: Sample[] = [];
  /** Snapshots at step boundaries (index k: the start of step k; the last: the end of the load). */
  readonly boundaries: (Snapshot | undefined)[];
  /** Lag and memory per step window: max lag, lag at the end, max RSS and heap. */
  readonly windows: { lagMax: number; lagEnd: number; rssMax: number; heapMax: number }[];
  private previous: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      readonly schedule: OpenLoopSchedule;
      readonly consumer: ConsumerSide;
      readonly offsets: TopicOffsets;
      readonly startOffsets: Map<number, bigint>;
      readonly sampleMs: number;
      readonly acked: () => number;
    },
  ) {
    this.boundaries = new Array<Snapshot | undefined>(o.schedule.steps.length + 1).fill(undefined);
    this.windows = o.schedule.steps.map(() => ({ lagMax: 0, lagEnd: 0, rssMax: 0, heapMax: 0 }));
  }

  start(): void {
    this.previous = this.snapshot(epochNow());
    this.arm();
  }


  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    // a boundary the timers never reached (the load was stopped early) is taken now
    const last = this.snapshot(epochNow());
    for (let k = 0; k < this.boundaries.length; k++) this.boundaries[k] ??= last;
  }

  /** The next sample time: the next multiple of sampleMs or step boundary after now. */
  private arm(): void {
    if (this.stopped) return;
    const now = epochNow();
    const { schedule, sampleMs } = this.o;
    let next = schedule.startAt + Math.ceil((now - schedule.startAt + 1) / sampleMs) * sampleMs;
    for (const boundary of schedule.starts) if (boundary > now && boundary < next) next = boundary;
    this.timer = setTimeout(() => {
      this.running = this.sample(schedule.starts.indexOf(next)).finally(() => this.arm());
    }, Math.max(0, next - now));
  }

  private snapshot(at: number): Snapshot {
    return { at, read: this.o.consumer.read, acked: this.o.acked(), cpu: process.cpuUsage() };
  }

  /** One sample; `boundary` is the index of the step boundary it was armed for (−1: none). */
  private async sample(boundary: number): Promise<void> {
    const { schedule, consumer } = this.o;
    const snap = this.snapshot(epochNow());
    const prev = this.previous ?? snap;
    this.previous = snap;
    if (boundary >= 0 && this.boundaries[boundary] === undefined) this.boundaries[boundary] = snap;
    const seconds = Math.max(1e-3, (snap.at - prev.at) / 1000);
    const memory = process.memoryUsage();
    // the interval's latencies before awaiting the broker, so that they end where the snapshot does
    const latency = consumer.latency.takeInterval();
    const lag = await this.lag().catch(() => Number.NaN);
    // the window this interval belongs to: the step whose time holds its middle
    const step = schedule.stepAt((snap.at + prev.at) / 2);
    const window = this.windows[step];
    if (window !== undefined) {
      if (Number.isFinite(lag)) {
        window.lagMax = Math.max(window.lagMax, lag);
        window.lagEnd = lag;
      }
      window.rssMax = Math.max(window.rssMax, memory.rss / MB);
      window.heapMax = Math.max(window.heapMax, memory.heapUsed / MB);
    }
    this.samples.push({
      t: round((snap.at - schedule.startAt) / 1000, 3),
      step,
      targetRate: schedule.steps[step]?.rate ?? 0,
      putRate: round((snap.acked - prev.acked) / seconds, 1),
      readRate: round((snap.read - prev.read) / seconds, 1),
      lag: Number.isFinite(lag) ? lag : 0,
      p50: latency.p50,
      p90: latency.p90,
      p99: latency.p99,
      max: latency.max,
      cpuCores: round(cpuSeconds(prev.cpu, snap.cpu) / seconds, 3),
      rssMb: round(memory.rss / MB, 1),
      heapMb: round(memory.heapUsed / MB, 1),
    });
  }

  /** Offset lag: each partition's end offset minus the next offset the pipeline reads. */
  private async lag(): Promise<number> {
    const ends = await this.o.offsets.endOffsets();
    let lag = 0n;
    for (const [partition, end] of ends) {
      const start = this.o.startOffsets.get(partition) ?? 0n;
      const next = this.o.consumer.nextOffsets.get(partition) ?? start;
      const position = next > start ? next : start;
      if (end > position) lag += end - position;
    }
    return Number(lag);
  }
}

function buildReport(r: {
  readonly options: LoadTestOptions;
  readonly partitions: number;
  readonly schedule: OpenLoopSchedule;
  readonly sendStats: readonly StepSendStats[];
  readonly sampler: Sampler;
  readonly consumer: ConsumerSide;
  readonly drained: boolean;
  readonly counters: Record<string, number>;
}): LoadReport {
  const { options, schedule, sampler, consumer } = r;
  const budget = options.budget;
  const steps: StepResult[] = options.steps.map((step, k) => {
    const sent = r.sendStats.find((s) => s.step === k);
    const from = sampler.boundaries[k];
    const to = sampler.boundaries[k + 1];
    const seconds = from !== undefined && to !== undefined ? Math.max(1e-3, (to.at - from.at) / 1000) : step.durationMs / 1000;
    const window = sampler.windows[k] ?? { lagMax: 0, lagEnd: 0, rssMax: 0, heapMax: 0 };
    const acked = sent?.acked ?? 0;
    const base = {
      step: k,
      targetRate: step.rate,
      durationMs: step.durationMs,
      intended: sent?.intended ?? schedule.counts[k] ?? 0,
      sent: sent?.sent ?? 0,
      acked,
      failed: sent?.failed ?? 0,
      throttled: sent?.throttled ?? 0,
      firstError: sent?.firstError ?? null,
      putRate: round((sent?.ackedInWindow ?? 0) / (step.durationMs / 1000), 1),
      maxSendDelayMs: round(sent?.maxSendDelayMs ?? 0, 1),
      meanValueBytes: acked > 0 ? round((sent?.valueBytes ?? 0) / acked, 1) : 0,
      meanKeyBytes: acked > 0 ? round((sent?.keyBytes ?? 0) / acked, 1) : 0,
      read: consumer.readByStep[k] ?? 0,
      readRate: from !== undefined && to !== undefined ? round((to.read - from.read) / seconds, 1) : 0,
      lagEnd: window.lagEnd,
      lagMax: window.lagMax,
      latency: consumer.latency.step(k),
      cpuCores: from !== undefined && to !== undefined ? round(cpuSeconds(from.cpu, to.cpu) / seconds, 3) : 0,
      rssMaxMb: round(window.rssMax, 1),
      heapMaxMb: round(window.heapMax, 1),
    };
    return { ...base, sustained: isSustained(base), overBudget: overBudget(base, budget) };
  });
  const totalAcked = steps.reduce((sum, s) => sum + s.acked, 0);
  const recordBytes = totalAcked > 0 ? steps.reduce((sum, s) => sum + (s.meanValueBytes + s.meanKeyBytes) * s.acked, 0) / totalAcked : Math.max(1, options.recordSize);
  const targetRate = options.targetRate ?? Math.max(...options.steps.map((s) => s.rate));
  const { recommendation, sizing } = recommendFrom({ steps, targetRate, recordBytes });
  const costByRate = [...new Set([...options.steps.map((s) => s.rate), targetRate])]
    .sort((a, b) => a - b)
    .map((rate) => {
      const sized = sizeStream({ rate, recordSize: Math.max(1, Math.round(recordBytes)) });
      return { rate, shards: sized.shards, provisioned: round(sized.cost.provisioned.total, 2), onDemand: round(sized.cost.onDemand.total, 2) };
    });
  const partitionLoad = [...consumer.readByPartition.entries()]
    .map(([partition, records]) => ({ partition, records }))
    .sort((a, b) => partitionNumber(a.partition) - partitionNumber(b.partition));
  return {
    version: 1,
    generatedAt: new Date().toISOString(),
    case: options.caseName ?? null,
    target: options.endpoint.url,
    topicPartitions: r.partitions,
    workload: options.workload,
    seed: options.seed,
    keyField: options.keyField,
    recordSize: options.recordSize,
    pipeline: options.definition.name,
    budget,
    steps,
    timeline: sampler.samples,
    partitionLoad,
    totals: {
      sent: steps.reduce((sum, s) => sum + s.sent, 0),
      acked: totalAcked,
      failed: steps.reduce((sum, s) => sum + s.failed, 0),
      read: consumer.read,
      foreign: consumer.foreign,
      resultsOut: consumer.results.count,
      deadLettered: consumer.deadLetters.count,
      late: r.counters['late'] ?? 0,
      negativeLatencies: consumer.latency.negative,
      warmUpPartitions: consumer.warmedUp.size,
    },
    drained: r.drained,
    costByRate,
    sizing,
    recommendation,
  };
}

function partitionNumber(id: string): number {
  return Number(id.slice(id.lastIndexOf('/') + 1));
}

function cpuSeconds(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return (to.user - from.user + to.system - from.system) / 1e6;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Polls `done` every 50 ms until it holds (true) or `timeoutMs` passes (false). */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
