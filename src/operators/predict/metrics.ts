/**
 * What a predict operator measures beyond its counters: call latency and batch fill as HDR
 * histograms, the adaptive concurrency, and the circuit breaker's state and transitions. Counts
 * of calls, throttles, retries, timeouts and fallbacks go to the run's counters instead
 * (`<name>_calls`, `<name>_throttled`, … — see {@link counterNames}).
 *
 * @module
 */
import { build, type Histogram } from 'hdr-histogram-js';
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { AimdLimiter } from './aimd.js';
import { breakerState, type BreakerState } from './retry.js';

/**
 * The run counters a predict operator named `name` increments.
 *
 * @example counterNames('predict').throttled // 'predict_throttled'
 */
export function counterNames(name: string) {
  return {
    /** InvokeEndpoint attempts sent (retries included). */
    calls: `${name}_calls`,
    /** Records that got a prediction. */
    records: `${name}_records`,
    /** Attempts the endpoint throttled. */
    throttled: `${name}_throttled`,
    /** Attempts that were retries. */
    retries: `${name}_retries`,
    /** Attempts that timed out. */
    timeouts: `${name}_timeouts`,
    /** Calls given up on (their records failed). */
    failedCalls: `${name}_failed_calls`,
    /** Calls not sent because the breaker was open. */
    breakerRejected: `${name}_breaker_rejected`,
    /** Events passed on with `prediction: null` (onFailure 'pass'). */
    fallbacks: `${name}_fallbacks`,
    /** Records answered from the journal of earlier calls, without a call. */
    reused: `${name}_reused`,
  } as const;
}

/** A plain-data view of {@link PredictMetrics}, for logs and dashboards. */
export interface PredictMetricsSnapshot {
  readonly latencyMs: { readonly count: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly batchFill: { readonly calls: number; readonly meanRecords: number; readonly meanFill: number };
  readonly concurrency: { readonly limit: number; readonly inFlight: number; readonly waiting: number; readonly lowest: number; readonly decreases: number };
  readonly breaker: { readonly state: BreakerState; readonly opened: number; readonly closed: number };
}

/**
 * The live measurements of one predict operator (all its partitions together).
 *
 * @example const op = predict({ … }); op.metrics.latency.getValueAtPercentile(99)
 * @see counterNames
 */
export class PredictMetrics {
  /** Milliseconds per attempt that reached the endpoint (answered, refused or timed out). */
  readonly latency: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3, autoResize: true });
  /** Records per call. */
  readonly batchFill: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000, numberOfSignificantValueDigits: 3, autoResize: true });
  /** Times the breaker opened and closed. */
  breakerOpened = 0;
  breakerClosed = 0;

  constructor(
    private readonly limiter: AimdLimiter,
    private readonly breaker: CircuitBreakerPolicy | undefined,
    private readonly batchSize: number,
  ) {
    breaker?.onBreak(() => this.breakerOpened++);
    breaker?.onReset(() => this.breakerClosed++);
  }

  /** The concurrency limit now, calls in flight and waiting, and the lowest limit so far. */
  get concurrency(): PredictMetricsSnapshot['concurrency'] {
    const l = this.limiter;
    return { limit: l.limit, inFlight: l.inFlight, waiting: l.waiting, lowest: l.lowest, decreases: l.decreases };
  }

  get breakerState(): BreakerState {
    return breakerState(this.breaker);
  }

  snapshot(): PredictMetricsSnapshot {
    const { latency, batchFill } = this;
    const calls = batchFill.totalCount;
    return {
      latencyMs: {
        count: latency.totalCount,
        p50: latency.getValueAtPercentile(50),
        p95: latency.getValueAtPercentile(95),
        p99: latency.getValueAtPercentile(99),
        max: latency.maxValue,
      },
      batchFill: { calls, meanRecords: calls === 0 ? 0 : batchFill.mean, meanFill: calls === 0 ? 0 : batchFill.mean / this.batchSize },
      concurrency: this.concurrency,
      breaker: { state: this.breakerState, opened: this.breakerOpened, closed: this.breakerClosed },
    };
  }
}
