/**
 * The load test's sampler: throughput, consumer lag (records, and MillisBehindLatest per Kinesis
 * shard), latency of the interval, CPU and memory of this (the consumer's) process, every
 * sampling interval and at every step boundary.
 *
 * @module
 */
import type { ConsumerSide } from './consumer.js';
import { epochNow } from './driver.js';
import type { Sample } from './report.js';
import type { OpenLoopSchedule } from './schedule.js';

/** What the counters were at one moment. */
export interface Snapshot {
  readonly at: number;
  readonly read: number;
  readonly acked: number;
  readonly cpu: NodeJS.CpuUsage;
}

/** Lag and memory within one step's window. */
export interface StepWindow {
  lagMax: number;
  lagEnd: number;
  /** The most MillisBehindLatest of any shard, and at the window's end (undefined: not reported). */
  behindMax: number | undefined;
  behindEnd: number | undefined;
  rssMax: number;
  heapMax: number;
}

const MB = 1024 * 1024;

/** A window with nothing seen yet. */
export function emptyWindow(): StepWindow {
  return { lagMax: 0, lagEnd: 0, behindMax: undefined, behindEnd: undefined, rssMax: 0, heapMax: 0 };
}

/**
 * Takes a sample every `sampleMs` from the schedule's start, and one at every step boundary.
 *
 * @example const sampler = new Sampler({ schedule, consumer, sampleMs: 1000, acked: () => acked, lag }); sampler.start(); … await sampler.stop()
 */
export class Sampler {
  readonly samples: Sample[] = [];
  /** Snapshots at step boundaries (index k: the start of step k; the last: the end of the load). */
  readonly boundaries: (Snapshot | undefined)[];
  /** Lag and memory per step window: max lag, lag at the end, max RSS and heap. */
  readonly windows: StepWindow[];
  /** The most MillisBehindLatest seen of each partition (Kinesis shards only). */
  readonly behindMax = new Map<string, number>();
  private previous: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      readonly schedule: OpenLoopSchedule;
      readonly consumer: ConsumerSide;
      readonly sampleMs: number;
      readonly acked: () => number;
      /** Consumer lag in records now (Kafka: offset lag; Kinesis: acknowledged minus read). */
      readonly lag: () => Promise<number>;
    },
  ) {
    this.boundaries = new Array<Snapshot | undefined>(o.schedule.steps.length + 1).fill(undefined);
    this.windows = o.schedule.steps.map(() => emptyWindow());
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
    const lag = await this.o.lag().catch(() => Number.NaN);
    const behindNow = consumer.millisBehindLatest();
    for (const [partition, ms] of behindNow) this.behindMax.set(partition, Math.max(this.behindMax.get(partition) ?? 0, ms));
    const behind = behindNow.size === 0 ? undefined : Math.max(...behindNow.values());
    // the window this interval belongs to: the step whose time holds its middle
    const step = schedule.stepAt((snap.at + prev.at) / 2);
    const window = this.windows[step];
    if (window !== undefined) {
      if (Number.isFinite(lag)) {
        window.lagMax = Math.max(window.lagMax, lag);
        window.lagEnd = lag;
      }
      if (behind !== undefined) {
        window.behindMax = Math.max(window.behindMax ?? 0, behind);
        window.behindEnd = behind;
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
      ...(behind === undefined ? {} : { millisBehindLatest: behind }),
    });
  }
}

/** CPU seconds (user and system) between two `process.cpuUsage()` readings. */
export function cpuSeconds(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return (to.user - from.user + to.system - from.system) / 1e6;
}

/** `n` rounded to `digits` decimals. */
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
