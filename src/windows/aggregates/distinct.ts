import { canonicalKey } from '../../core/keys.js';
import { compilePath } from '../../core/paths.js';
import { type Aggregate, readingFields } from './aggregate.js';
import { badSaved, isPlainObject } from './saved.js';

/**
 * Accumulator of `distinct`: primitives by value, objects and arrays by canonical JSON.
 *
 * Two sets, because a canonical JSON string stored next to plain strings could collide with
 * a string value spelled the same way.
 *
 * @example const acc: DistinctAcc = { values: new Set([1, '1']), objects: new Set() };
 * @see distinct
 */
export interface DistinctAcc {
  readonly values: Set<unknown>;
  readonly objects: Set<string>;
}

/**
 * Exact count of the distinct non-null values of a field; 0 when the window had none.
 * Numbers, strings and booleans compare by value and type (`1` and `"1"` are two values);
 * objects and arrays compare by canonical JSON (key order does not matter). Mergeable: the
 * sets are unioned, so sessions and partitions never count a value twice.
 *
 * @example aggregate({ users: distinct('userId') }) // { users: 17 }
 * @see count
 * @see percentile
 */
export function distinct(field: string): Aggregate<DistinctAcc, number> {
  const get = compilePath(field);
  const slot = 'distinct:' + field;
  return readingFields({
    create: () => ({ values: new Set(), objects: new Set() }),
    add: (acc, event) => {
      const value = get(event);
      if (value === null || value === undefined) return acc;
      // Primitives go into the Set as they are: its SameValueZero equality already keeps
      // types apart, and no key string is built per event.
      if (typeof value === 'object') acc.objects.add(canonicalKey(value));
      else acc.values.add(value);
      return acc;
    },
    merge: (into, other) => {
      for (const value of other.values) into.values.add(value);
      for (const key of other.objects) into.objects.add(key);
      return into;
    },
    result: (acc) => acc.values.size + acc.objects.size,
    // Arrays in insertion order; JSON keeps 1 and "1" apart, and objects are already strings.
    save: (acc) => ({ values: [...acc.values], objects: [...acc.objects] }),
    load: (saved) => loadDistinct(saved, slot),
    slot,
  }, [field]);
}

function loadDistinct(saved: unknown, slot: string): DistinctAcc {
  const expected = '{ values: (number | string | boolean)[], objects: string[] }';
  if (!isPlainObject(saved)) throw badSaved(slot, expected, saved);
  const { values, objects } = saved;
  if (!Array.isArray(values) || !Array.isArray(objects)) throw badSaved(slot, expected, saved);
  // Objects and arrays only ever live in `objects`, as canonical keys: one in `values` would be
  // counted by identity.
  if (!values.every((v) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')) throw badSaved(slot, expected, saved);
  if (!objects.every((k) => typeof k === 'string')) throw badSaved(slot, expected, saved);
  return { values: new Set<unknown>(values), objects: new Set(objects as string[]) };
}
