/**
 * End-to-end latency of a load test in HdrHistograms: one per step (by the step the record was
 * sent in) and one per sampling interval (for latency over time), in microseconds inside,
 * milliseconds outside.
 *
 * @module
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** Latency figures of a histogram, in ms. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Highest latency tracked exactly: an hour; longer ones are recorded as an hour. */
const HIGHEST_US = 3_600_000_000;

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: false });
}

/**
 * The percentiles of a histogram (all 0 when it is empty).
 *
 * @example percentiles(h).p99 // 12.3
 */
export function percentiles(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/**
 * Records latencies per step and per interval.
 *
 * @example
 * const rec = new LatencyRecorder(2);
 * rec.record(0, 12.5); rec.takeInterval().p50 // 12.5
 */
export class LatencyRecorder {
  private readonly steps: Histogram[];
  private interval = histogram();
  /** Latencies below zero (clock steps between processes), recorded as 0. */
  negative = 0;

  constructor(steps: number) {
    this.steps = Array.from({ length: steps }, () => histogram());
  }

  /** One record of step `step` arrived `latencyMs` after it was due. */
  record(step: number, latencyMs: number): void {
    let us = Math.round(latencyMs * 1000);
    if (us < 0) {
      this.negative++;
      us = 0;
    }
    if (us > HIGHEST_US) us = HIGHEST_US;
    this.steps[step]?.recordValue(us);
    this.interval.recordValue(us);
  }

  /** The interval's figures since the last call; starts a new interval. */
  takeInterval(): Percentiles {
    const result = percentiles(this.interval);
    this.interval.reset();
    return result;
  }

  /** The figures of every record sent in step `step`. */
  step(step: number): Percentiles {
    const h = this.steps[step];
    return h === undefined ? percentiles(histogram()) : percentiles(h);
  }
}
