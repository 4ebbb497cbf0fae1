import { compilePath } from '../../core/paths.js';
import { type Aggregate, readingFields } from './aggregate.js';
import { addExact, exactValue, mergeExact } from './exact-sum.js';
import { numericCheck } from './numeric-field.js';
import { badSaved, isPlainObject, loadNumber, saveNumber } from './saved.js';

/**
 * Accumulator shared by `sum` and `avg` of one field: the exact sum and how many values it holds.
 *
 * @example const acc: SumAcc = { partials: [], n: 0 };
 * @see sum
 * @see avg
 * @see ExactSum
 */
export interface SumAcc {
  readonly partials: number[];
  n: number;
}

/**
 * Everything of `sum`/`avg` but the result: both use it under one slot, so a window asking for
 * `sum:x` and `avg:x` keeps and updates a single exact sum.
 *
 * @example const total = { ...sumParts('price'), result: (acc: SumAcc) => acc.n };
 * @see sum
 * @see avg
 */
export function sumParts(field: string): Omit<Aggregate<SumAcc, unknown>, 'result'> & { readonly slot: string } {
  const get = compilePath(field);
  const slot = 'sum:' + field;
  return {
    create: () => ({ partials: [], n: 0 }),
    add: (acc, event) => {
      const value = get(event);
      if (typeof value === 'number') {
        addExact(acc.partials, value);
        acc.n++;
      }
      return acc;
    },
    merge: (into, other) => {
      mergeExact(into.partials, other.partials);
      into.n += other.n;
      return into;
    },
    check: numericCheck(field, get),
    // Partials are updated in place: the saved state is a copy, and each load builds new arrays.
    save: (acc) => ({ partials: acc.partials.map(saveNumber), n: acc.n }),
    load: (saved) => loadSum(saved, slot),
    slot,
  };
}

function loadSum(saved: unknown, slot: string): SumAcc {
  const expected = '{ partials: number[], n: integer }';
  if (!isPlainObject(saved)) throw badSaved(slot, expected, saved);
  const { partials, n } = saved;
  if (!Array.isArray(partials) || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw badSaved(slot, expected, saved);
  const out: number[] = [];
  for (const part of partials as unknown[]) {
    const value = loadNumber(part);
    if (value === undefined) throw badSaved(slot, expected, saved);
    out.push(value);
  }
  return { partials: out, n };
}

/**
 * Exact sum of a numeric field (`null`/missing skipped); `null` when the window had no value,
 * like SQL `SUM`. Bit-identical however the events were split over batches and partitions.
 *
 * @example aggregate({ revenue: sum('order.total') }) // { revenue: 1234.5 }
 * @see avg
 * @see addExact
 * @see count
 */
export function sum(field: string): Aggregate<SumAcc, number | null> {
  return readingFields({ ...sumParts(field), result: (acc) => (acc.n === 0 ? null : exactValue(acc.partials)) }, [field]);
}
