/**
 * `sluice loadtest`: the pipeline under test reads the target (a consumer group on a Kafka topic,
 * or every shard of a Kinesis stream), the load driver (its own process) produces a stepped,
 * open-loop load into it, and this process samples throughput, lag, latency, CPU and memory
 * until the pipeline has read everything.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Source } from '../core/connectors.js';
import type { PipelineDefinition } from '../core/definition.js';
import type { Workload } from '../ingest/generator/index.js';
import { kafkaSource } from '../ingest/kafka/index.js';
import { kinesisSource } from '../ingest/kinesis/index.js';
import { ConsumerSide } from './consumer.js';
import { epochNow, type StepSendStats } from './driver.js';
import { startDriver, type DriverHandle } from './driver-handle.js';
import { kinesisReport } from './kinesis-report.js';
import { isSustained, kinesisSizingInput, overBudget, recommendFrom } from './recommend.js';
import type { Budget, LoadReport, StepResult } from './report.js';
import { cpuSeconds, emptyWindow, round, Sampler } from './sampler.js';
import { OpenLoopSchedule, type Step } from './schedule.js';
import { kinesisShards, openTopicOffsets, type TopicOffsets } from './service.js';
import { sizeStream } from './sizing.js';
import type { LoadTarget } from './target.js';

/**
 * What to run.
 *
 * @example { target: 'kafka://127.0.0.1:9092/load', endpoint, steps: [{ rate: 1000, durationMs: 3000 }], workload: 'clickstream', … }
 */
export interface LoadTestOptions {
  /** The target; the driver process parses its URL again, with secrets from its environment. */
  readonly target: LoadTarget;
  /** Kinesis: pack the user records into KPL aggregated records. */
  readonly aggregate?: boolean | undefined;
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

/** How long the pipeline may take to read its first records. */
const WARM_UP_TIMEOUT_MS = 60_000;

/**
 * Runs the load test and returns its report (write it with `writeReport`).
 *
 * @throws UserError: the topic or stream is missing, the broker unreachable (from either side).
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadReport> {
  const sampleMs = options.sampleMs ?? 1000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const { target } = options;
  // the consumer starts at the first record written from now on: older records are not this run's
  const startTime = Date.now() - 1;
  let offsets: TopicOffsets | undefined;
  let partitions: number;
  let source: Source;
  if (target.kind === 'kafka') {
    offsets = await openTopicOffsets(target.endpoint);
    partitions = offsets.partitions;
    source = kafkaSource({ ...target.endpoint, group: `sluice-loadtest-${randomUUID().slice(0, 8)}`, start: { kind: 'timestamp', time: startTime } });
  } else {
    partitions = (await kinesisShards(target.endpoint)).length;
    // one worker, its leases in memory, every shard from AT_TIMESTAMP
    source = kinesisSource({ ...target.endpoint, start: { kind: 'timestamp', time: startTime } });
  }
  const consumer = new ConsumerSide({ source, definition: options.definition, steps: options.steps.length });
  let driver: DriverHandle | undefined;
  try {
    const plan = { workload: options.workload, seed: options.seed, recordSize: options.recordSize, keyField: options.keyField, steps: options.steps };
    [driver] = await Promise.all([startDriver(target.url, plan, { aggregate: options.aggregate === true }), consumer.start(partitions)]);
    await warmUp(driver, consumer, partitions);
    const schedule = new OpenLoopSchedule(epochNow() + 250, options.steps);
    let acked = 0;
    const lag = await lagProbe(offsets, consumer, () => acked);
    const sampler = new Sampler({ schedule, consumer, sampleMs, acked: () => acked, lag });
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
    await offsets?.close();
  }
}

/**
 * Consumer lag in records. Kafka: each partition's end offset minus the next offset the pipeline
 * reads (from the end offsets when the load starts). Kinesis has no offsets to compare: the
 * records the driver has had acknowledged minus those the pipeline read (MillisBehindLatest,
 * sampled beside it, is Kinesis's own measure).
 */
async function lagProbe(offsets: TopicOffsets | undefined, consumer: ConsumerSide, acked: () => number): Promise<() => Promise<number>> {
  if (offsets === undefined) return async () => Math.max(0, acked() - consumer.read);
  const startOffsets = await offsets.endOffsets();
  return async () => {
    const ends = await offsets.endOffsets();
    let lag = 0n;
    for (const [partition, end] of ends) {
      const start = startOffsets.get(partition) ?? 0n;
      const next = consumer.nextOffsets.get(partition) ?? start;
      const position = next > start ? next : start;
      if (end > position) lag += end - position;
    }
    return Number(lag);
  };
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
    const window = sampler.windows[k] ?? emptyWindow();
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
      ...(sent?.puts == null ? {} : { puts: sent.puts }),
      ...(window.behindMax === undefined ? {} : { millisBehindMax: window.behindMax, millisBehindEnd: window.behindEnd ?? 0 }),
    };
    return { ...base, sustained: isSustained(base), overBudget: overBudget(base, budget) };
  });
  const totalAcked = steps.reduce((sum, s) => sum + s.acked, 0);
  const recordBytes = totalAcked > 0 ? steps.reduce((sum, s) => sum + (s.meanValueBytes + s.meanKeyBytes) * s.acked, 0) / totalAcked : Math.max(1, options.recordSize);
  const targetRate = options.targetRate ?? Math.max(...options.steps.map((s) => s.rate));
  const kinesis = options.target.kind === 'kinesis' ? kinesisReport({ stream: options.target.endpoint.stream, aggregate: options.aggregate === true, shards: r.partitions, steps, behindMax: sampler.behindMax, readByPartition: consumer.readByPartition }) : undefined;
  const measured = kinesis?.measured;
  const { recommendation, sizing } = recommendFrom({ steps, targetRate, recordBytes, kinesis: measured });
  const costByRate = [...new Set([...options.steps.map((s) => s.rate), targetRate])]
    .sort((a, b) => a - b)
    .map((rate) => {
      const sized = sizeStream(kinesisSizingInput(rate, recordBytes, measured));
      return { rate, shards: sized.shards, provisioned: round(sized.cost.provisioned.total, 2), onDemand: round(sized.cost.onDemand.total, 2) };
    });
  const partitionLoad = [...consumer.readByPartition.entries()]
    .map(([partition, records]) => ({ partition, records }))
    .sort((a, b) => partitionNumber(a.partition) - partitionNumber(b.partition));
  return {
    version: 1,
    generatedAt: new Date().toISOString(),
    case: options.caseName ?? null,
    target: options.target.url,
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
    ...(kinesis === undefined ? {} : { kinesis }),
  };
}

/** The number a partition id ends with: `topic/3` → 3, `stream/shardId-000000000001` → 1. */
function partitionNumber(id: string): number {
  return Number(/(\d+)$/.exec(id)?.[1] ?? Number.NaN);
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
