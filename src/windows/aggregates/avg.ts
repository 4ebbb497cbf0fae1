import { type Aggregate, readingFields } from './aggregate.js';
import { exactValue } from './exact-sum.js';
import { type SumAcc, sumParts } from './sum.js';

/**
 * Mean of a numeric field (`null`/missing skipped, so they count neither in the sum nor in the
 * divisor); `null` when the window had no value. The exact sum is rounded once, then divided,
 * so the result does not depend on how events were split.
 *
 * @example aggregate({ dwell: avg('dwellMs') }) // { dwell: 812.25 }
 * @see sum
 * @see percentile
 */
export function avg(field: string): Aggregate<SumAcc, number | null> {
  return readingFields({ ...sumParts(field), result: (acc) => (acc.n === 0 ? null : exactValue(acc.partials) / acc.n) }, [field]);
}
