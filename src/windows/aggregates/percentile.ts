import { DDSketch } from '@datadog/sketches-js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { compilePath } from '../../core/paths.js';
import { type Aggregate, readingFields } from './aggregate.js';
import { numericCheck } from './numeric-field.js';
import { badSaved, isPlainObject, loadNumber, saveNumber } from './saved.js';

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
  addCounts(into, from.bins, from.offset);
}

/**
 * Adds `bins[i]` to key `offset + i` of `into`. The outermost non-empty keys go first, so the
 * store grows to the whole range at once: in key order, every step past the end would grow it
 * by one chunk and move all its bins, quadratic in the range (70,000 keys span the doubles).
 */
function addCounts(into: DenseStore, bins: readonly number[], offset: number): void {
  let first = 0;
  while (first < bins.length && bins[first] === 0) first++;
  if (first === bins.length) return;
  let last = bins.length - 1;
  while (bins[last] === 0) last--;
  into.add(offset + first, bins[first]!);
  if (last === first) return;
  into.add(offset + last, bins[last]!);
  for (let i = first + 1; i < last; i++) {
    const n = bins[i]!;
    if (n !== 0) into.add(offset + i, n);
  }
}

/**
 * A DDSketch as plain data (what `saveSketch` writes): per store, the counts of the keys from
 * `offset` on, trimmed to the first and last non-empty key, and the summary. `min`, `max` and
 * `sum` go through `saveNumber`, so -0 survives JSON.
 */
interface SavedSketch {
  readonly relativeAccuracy: number;
  readonly count: number;
  readonly zeroCount: number;
  readonly min: number | string;
  readonly max: number | string;
  readonly sum: number | string;
  readonly positive: SavedStore;
  readonly negative: SavedStore;
}

interface SavedStore {
  readonly offset: number;
  readonly bins: number[];
}

/**
 * A percentile accumulator as plain data, for checkpoints; `null` stays `null`.
 *
 * The library's `toProto` is not used: it is binary, and its `fromProto` drops min and max.
 * Only per-key counts are kept, not the store's layout (its padding and centring), because
 * answers and merges depend on the counts alone; `loadSketch` adds them back through
 * `DenseStore.add` as `mergeSketch` does, avoiding the merge bugs noted there.
 */
function saveSketch(acc: PercentileAcc): SavedSketch | null {
  if (acc === null) return null;
  return {
    relativeAccuracy: RELATIVE_ACCURACY,
    count: acc.count,
    zeroCount: acc.zeroCount,
    min: saveNumber(acc.min),
    max: saveNumber(acc.max),
    sum: saveNumber(acc.sum),
    positive: saveStore(acc.store),
    negative: saveStore(acc.negativeStore),
  };
}

function saveStore(store: DenseStore): SavedStore {
  const bins = store.bins;
  let first = 0;
  while (first < bins.length && bins[first] === 0) first++;
  if (first === bins.length) return { offset: 0, bins: [] };
  let last = bins.length - 1;
  while (bins[last] === 0) last--;
  return { offset: store.offset + first, bins: bins.slice(first, last + 1) };
}

/** The sketch {@link saveSketch} saved, as a new DDSketch; `slot` names it in errors. */
function loadSketch(saved: unknown, slot: string): PercentileAcc {
  if (saved === null) return null;
  const bad = () => badSaved(slot, 'a saved sketch (relativeAccuracy, count, zeroCount, min, max, sum, positive, negative) or null', saved);
  if (!isPlainObject(saved) || saved['relativeAccuracy'] !== RELATIVE_ACCURACY) throw bad();
  const { count, zeroCount } = saved;
  const min = loadNumber(saved['min']);
  const max = loadNumber(saved['max']);
  const sum = loadNumber(saved['sum']);
  if (!isCount(count) || !isCount(zeroCount) || min === undefined || max === undefined || sum === undefined) throw bad();
  const sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  if (!loadStore(sketch.store, saved['positive']) || !loadStore(sketch.negativeStore, saved['negative'])) throw bad();
  if (count !== sketch.store.count + sketch.negativeStore.count + zeroCount) throw bad();
  sketch.zeroCount = zeroCount;
  sketch.count = count;
  sketch.min = min;
  sketch.max = max;
  sketch.sum = sum;
  return sketch;
}

/** Adds the saved counts to an empty store; false when `saved` is not a saved store. */
function loadStore(store: DenseStore, saved: unknown): boolean {
  if (!isPlainObject(saved)) return false;
  const { offset, bins } = saved;
  if (!Number.isSafeInteger(offset) || !Array.isArray(bins) || !bins.every(isCount)) return false;
  addCounts(store, bins, offset as number);
  return true;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function sketchParts(field: string): Omit<Aggregate<PercentileAcc, unknown>, 'result'> {
  const get = compilePath(field);
  const slot = 'sketch:' + field;
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
    save: saveSketch,
    load: (saved) => loadSketch(saved, slot),
    // One sketch per field, whatever quantiles are read from it.
    slot,
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
  return readingFields({
    ...sketchParts(field),
    result: (acc) => {
      if (acc === null || acc.count === 0) return null;
      const value = Math.min(acc.max, Math.max(acc.min, acc.getValueAtQuantile(q)));
      // The sketch counts 0 and -0 as one zero, but tracks min/max with `<`, so the sign of a
      // zero answer would depend on arrival order; `+ 0` turns -0 into 0 and leaves the rest.
      return value + 0;
    },
  }, [field]);
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
