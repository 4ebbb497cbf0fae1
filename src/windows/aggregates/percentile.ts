import { DDSketch } from '@datadog/sketches-js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { compilePath } from '../../core/paths.js';
import type { Aggregate } from './aggregate.js';
import { numericCheck } from './numeric-field.js';

/** The store type is not exported by the package's entry point. */
type DenseStore = DDSketch['store'];

/** Relative accuracy of every percentile sketch: answers within 1% of a value of the data. */
const RELATIVE_ACCURACY = 0.01;

/**
 * Accumulator of the percentiles of one field: a DDSketch, or `null` until the first value, so
 * that windows (and keys) without values cost nothing.
 *
 * @example const acc: PercentileAcc = null;
 * @see percentile
 * @see mergeSketch
 */
export type PercentileAcc = DDSketch | null;

/**
 * Merges `other` into `into` bin by bin; `other` is left untouched.
 *
 * `DDSketch.merge` of @datadog/sketches-js 2.1.1 is not used: it drops the negative values of
 * `other` (DataDog/sketches-js#22, still open), and `DenseStore.merge` corrupts bins with NaN
 * when `other`'s highest key is 0 (values in (0.98, 1]): `_extendRange` reads a `secondKey` of
 * 0 as missing. Adding `other`'s integer bin counts one key at a time goes through the same
 * path as `accept`, and since the answer of a sketch depends only on its per-key counts, merged
 * sketches answer exactly as one sketch fed all the values would, in any merge order.
 *
 * @example const a = new DDSketch(); a.accept(-1); const b = new DDSketch(); b.accept(-2); mergeSketch(a, b); a.count // 2
 * @see percentile
 */
export function mergeSketch(into: DDSketch, other: DDSketch): void {
  if (other.count === 0) return;
  addBins(into.store, other.store);
  addBins(into.negativeStore, other.negativeStore);
  into.zeroCount += other.zeroCount;
  into.count += other.count;
  // Never read by Sluice (a plain float sum, so split-dependent); kept so the sketch stays coherent.
  into.sum += other.sum;
  if (other.min < into.min) into.min = other.min;
  if (other.max > into.max) into.max = other.max;
}

function addBins(into: DenseStore, from: DenseStore): void {
  if (from.count === 0) return;
  const bins = from.bins;
  for (let i = 0; i < bins.length; i++) {
    const n = bins[i]!;
    if (n !== 0) into.add(i + from.offset, n);
  }
}

function sketchParts(field: string): Omit<Aggregate<PercentileAcc, unknown>, 'result'> {
  const get = compilePath(field);
  return {
    create: () => null,
    add: (acc, event) => {
      const value = get(event);
      if (typeof value !== 'number') return acc;
      const sketch = acc ?? new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      sketch.accept(value);
      return sketch;
    },
    merge: (into, other) => {
      if (other === null) return into;
      // A fresh sketch rather than `other` itself: `into` is updated later, `other` must not be.
      const target = into ?? new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      mergeSketch(target, other);
      return target;
    },
    check: numericCheck(field, get),
    // One sketch per field, whatever quantiles are read from it.
    slot: 'sketch:' + field,
  };
}

/**
 * The `q`-quantile (0 < q < 1) of a numeric field, from a DDSketch (`null`/missing skipped);
 * `null` when the window had no value. The answer is within 1% of the value of rank
 * ⌊q·(n−1)⌋ in the sorted data (the "lower" quantile: p99 of 3 values is the middle one),
 * clamped into the [min, max] of the values seen so it never lies outside the data. All
 * percentiles of one field share one sketch, and merged sketches answer exactly as an unsplit
 * one would.
 *
 * @example aggregate({ p90: percentile('latencyMs', 0.9) }) // { p90: 231.8 }
 * @see p50
 * @see p95
 * @see p99
 * @see mergeSketch
 */
export function percentile(field: string, q: number): Aggregate<PercentileAcc, number | null> {
  if (!(q > 0 && q < 1)) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `percentile of '${field}': q must be between 0 and 1 (exclusive), got ${q}`);
  }
  return {
    ...sketchParts(field),
    result: (acc) => {
      if (acc === null || acc.count === 0) return null;
      const value = Math.min(acc.max, Math.max(acc.min, acc.getValueAtQuantile(q)));
      // The sketch counts 0 and -0 as one zero, but tracks min/max with `<`, so the sign of a
      // zero answer would depend on arrival order; `+ 0` turns -0 into 0 and leaves the rest.
      return value + 0;
    },
  };
}

/**
 * Median of a numeric field (see `percentile`).
 *
 * @example aggregate({ median: p50('latencyMs') })
 * @see percentile
 * @see p95
 * @see p99
 */
export function p50(field: string): Aggregate<PercentileAcc, number | null> {
  return percentile(field, 0.5);
}

/**
 * 95th percentile of a numeric field (see `percentile`).
 *
 * @example aggregate({ slow: p95('latencyMs') })
 * @see percentile
 * @see p50
 * @see p99
 */
export function p95(field: string): Aggregate<PercentileAcc, number | null> {
  return percentile(field, 0.95);
}

/**
 * 99th percentile of a numeric field (see `percentile`).
 *
 * @example aggregate({ tail: p99('latencyMs') })
 * @see percentile
 * @see p50
 * @see p95
 */
export function p99(field: string): Aggregate<PercentileAcc, number | null> {
  return percentile(field, 0.99);
}
