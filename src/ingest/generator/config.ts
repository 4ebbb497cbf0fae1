import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { ErrorCode, UserError } from '../../core/errors.js';

/** The workloads the generator can produce; see `clickstream.ts` and `telemetry.ts`. */
export const WORKLOADS = ['clickstream', 'telemetry'] as const;

/** A workload name. */
export type Workload = (typeof WORKLOADS)[number];

/** Events per batch unless told otherwise: a Kinesis GetRecords page is of the same order. */
export const DEFAULT_BATCH_SIZE = 500;

/** Event time 0 of every partition: 2026-11-01T00:00:00Z, so generated data looks current. */
export const DEFAULT_START_TIME = Date.UTC(2026, 10, 1);

/**
 * The largest `maxDelay`. Late events lag up to 10 × maxDelay + 60 s; the clickstream model keeps
 * two sessions of one user at least 42 minutes apart in event time, and lags beyond 11 minutes
 * could bring them within the 30-minute session gap.
 */
export const MAX_DELAY_LIMIT = 60_000;

/** The most partitions one generator serves: each one is a reader with its own operator chain. */
export const MAX_PARTITIONS = 1024;

/**
 * Options of {@link generatorSource}, as the CLI passes them.
 *
 * @example { workload: 'telemetry', partitions: 4, rate: 2000, events: 100_000 }
 * @see generatorConfig
 */
export interface GeneratorOptions {
  readonly workload: Workload;
  /** Same seed, same events, byte for byte (default 1). */
  readonly seed?: number | undefined;
  /** Partitions `gen-0` … (default 1). */
  readonly partitions?: number | undefined;
  /** Events per second across all partitions; 0 or undefined: as fast as they are read. */
  readonly rate?: number | undefined;
  /** Total events, split evenly over the partitions; undefined: unbounded until closed. */
  readonly events?: number | undefined;
  /** Events per `read()` (default {@link DEFAULT_BATCH_SIZE}). */
  readonly batchSize?: number | undefined;
  /** Epoch ms of event time 0 (default {@link DEFAULT_START_TIME}). */
  readonly startTime?: number | undefined;
  /** Share of events whose time lags by up to `maxDelay` (default 0.05). */
  readonly outOfOrderFraction?: number | undefined;
  /** How far out of order an ordinary out-of-order event may be, in ms (default 2000). */
  readonly maxDelay?: number | undefined;
  /** Share of events lagging far beyond `maxDelay`, so pipelines see them late (default 0.001). */
  readonly lateFraction?: number | undefined;
  /** Telemetry: share of readings with an injected sensor fault (default 0.002). */
  readonly anomalyRate?: number | undefined;
  /** Clock for rate pacing: virtual time in tests (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike | undefined;
}

/**
 * Validated generator options with defaults filled in; `rate` 0 means unpaced and `events`
 * `undefined` means unbounded.
 *
 * @see GeneratorOptions
 */
export interface GeneratorConfig {
  readonly workload: Workload;
  readonly seed: number;
  readonly partitions: number;
  readonly rate: number;
  readonly events: number | undefined;
  readonly batchSize: number;
  readonly startTime: number;
  readonly outOfOrderFraction: number;
  readonly maxDelay: number;
  readonly lateFraction: number;
  readonly anomalyRate: number;
  readonly scheduler: SchedulerLike;
}

/**
 * Checks generator options and fills in defaults; throws `UserError(BAD_OPTION)` naming the flag.
 *
 * @example generatorConfig({ workload: 'clickstream', rate: -1 }) // UserError: --rate must be ≥ 0, got -1
 * @see GeneratorOptions
 */
export function generatorConfig(options: GeneratorOptions): GeneratorConfig {
  if (!(WORKLOADS as readonly unknown[]).includes(options.workload)) {
    fail(`generator workload must be ${WORKLOADS.join(' or ')}, got '${String(options.workload)}'`);
  }
  const outOfOrderFraction = fraction('--out-of-order-fraction', options.outOfOrderFraction, 0.05);
  const lateFraction = fraction('--late-fraction', options.lateFraction, 0.001);
  if (outOfOrderFraction + lateFraction > 1) {
    fail(`--out-of-order-fraction plus --late-fraction must be ≤ 1, got ${outOfOrderFraction} + ${lateFraction}`);
  }
  const rate = options.rate ?? 0;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) fail(`--rate must be ≥ 0 (events per second), got ${String(rate)}`);
  const startTime = options.startTime ?? DEFAULT_START_TIME;
  // Date's own range: a start time it cannot print would fail on the first event instead.
  if (!Number.isSafeInteger(startTime) || Math.abs(startTime) > 8.64e15) fail(`--start-time must be whole epoch milliseconds, got ${String(startTime)}`);
  return {
    workload: options.workload,
    seed: integer('--seed', options.seed, 1, 0, Number.MAX_SAFE_INTEGER),
    partitions: integer('--partitions', options.partitions, 1, 1, MAX_PARTITIONS),
    rate,
    events: options.events === undefined ? undefined : integer('--events', options.events, 0, 0, Number.MAX_SAFE_INTEGER),
    batchSize: integer('--batch-size', options.batchSize, DEFAULT_BATCH_SIZE, 1, Number.MAX_SAFE_INTEGER),
    startTime,
    outOfOrderFraction,
    maxDelay: integer('--max-delay', options.maxDelay, 2000, 0, MAX_DELAY_LIMIT),
    lateFraction,
    anomalyRate: fraction('--anomaly-rate', options.anomalyRate, 0.002),
    scheduler: options.scheduler ?? asyncScheduler,
  };
}

/**
 * Events of partition `index` when the run is bounded: `events` split as evenly as possible,
 * the first partitions taking one more. `Infinity` when unbounded.
 *
 * @example partitionEvents({ events: 10, partitions: 3 }, 0) // 4
 * @see GeneratorConfig
 */
export function partitionEvents(config: Pick<GeneratorConfig, 'events' | 'partitions'>, index: number): number {
  if (config.events === undefined) return Number.POSITIVE_INFINITY;
  const base = Math.floor(config.events / config.partitions);
  return base + (index < config.events % config.partitions ? 1 : 0);
}

/**
 * The settings that decide what a partition's events are (not how fast or in which batches they
 * come), as one string: a resume position written under other settings is refused.
 *
 * @see GeneratorConfig
 */
export function contentSettings(config: GeneratorConfig): string {
  const { workload, seed, startTime, outOfOrderFraction, maxDelay, lateFraction, anomalyRate } = config;
  return JSON.stringify([workload, seed, startTime, outOfOrderFraction, maxDelay, lateFraction, anomalyRate]);
}

function integer(flag: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    fail(`${flag} must be a whole number ${range}, got ${String(value)}`);
  }
  return value;
}

function fraction(flag: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) fail(`${flag} must be between 0 and 1, got ${String(value)}`);
  return value;
}

function fail(message: string): never {
  throw new UserError(ErrorCode.BAD_OPTION, message);
}
