/**
 * Exact floating-point summation (Shewchuk's algorithm, the "partials" method of Python's
 * `math.fsum`).
 *
 * Plain `+=` rounds after every step, so the same events split differently over batches,
 * partitions or merged sessions give sums that differ in the last bits, and Sluice promises
 * bit-identical results whatever the split. Partials hold the running total exactly, so the
 * rounded result depends only on the multiset of values added.
 *
 * Limit: while every running total stays within the double range (|total| < ~1.8e308) the
 * result is exact and order-independent. A sum that overflows at any point (where `fsum` would
 * raise `OverflowError`) collapses to `[NaN]`, and stays NaN through later adds and merges,
 * rather than growing without bound or returning a made-up value.
 *
 * @module
 */

/**
 * Accumulator of an exact sum: non-overlapping doubles in increasing magnitude whose exact
 * (unrounded) total is the sum of everything added so far.
 *
 * @example const partials: ExactSum = []; addExact(partials, 0.1);
 * @see addExact
 * @see mergeExact
 * @see exactValue
 */
export type ExactSum = number[];

/**
 * Adds `x` to `partials` in place, keeping the total exact; `x` must be finite.
 *
 * @example const p: ExactSum = []; addExact(p, 1e100); addExact(p, 1); addExact(p, -1e100); exactValue(p) // 1
 * @see mergeExact
 * @see exactValue
 */
export function addExact(partials: ExactSum, x: number): void {
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j]!;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    // Two-sum: hi + lo === x + y exactly; zero remainders are dropped to keep the list short.
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  // Once an intermediate total overflows it stays ±Infinity or NaN; keep a single NaN instead
  // of a growing list of non-finite remainders.
  if (x - x !== 0) {
    partials.length = 1;
    partials[0] = NaN;
    return;
  }
  partials.length = i + 1;
  partials[i] = x;
}

/**
 * Adds every value of `other` to `into` (in place); `other` is left untouched.
 *
 * @example const a = [1e100]; mergeExact(a, [1, -1e100]); exactValue(a) // 1
 * @see addExact
 * @see exactValue
 */
export function mergeExact(into: ExactSum, other: ExactSum): void {
  // The partials of `other` add up exactly to its total, so adding them one by one is exact.
  for (let j = 0; j < other.length; j++) addExact(into, other[j]!);
}

/**
 * The correctly rounded (round-half-even) value of the exact sum held by `partials`; 0 for none.
 *
 * @example exactValue([]) // 0
 * @see addExact
 * @see mergeExact
 */
export function exactValue(partials: ExactSum): number {
  let n = partials.length;
  if (n === 0) return 0;
  n--;
  let hi = partials[n]!;
  let lo = 0;
  // Sum from the largest partial down until the first inexact step: everything below it can
  // only matter as a tie-breaker.
  while (n > 0) {
    const x = hi;
    n--;
    const y = partials[n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // `hi + lo` may sit exactly halfway between two doubles, in which case half-even rounding
  // went one way; if the remaining partials push in the same direction as `lo` the true sum
  // lies beyond the halfway point, so round the other way (as CPython's fsum does).
  if (n > 0) {
    const next = partials[n - 1]!;
    if ((lo < 0 && next < 0) || (lo > 0 && next > 0)) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
  }
  return hi;
}
