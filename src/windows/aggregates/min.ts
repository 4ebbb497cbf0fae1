import { compilePath } from '../../core/paths.js';
import { type Aggregate, readingFields } from './aggregate.js';
import { numericCheck } from './numeric-field.js';
import { loadBox, saveBox } from './saved.js';

/**
 * Smallest value of a numeric field (`null`/missing skipped); `null` when the window had none.
 *
 * @example aggregate({ low: min('price') }) // { low: 9.5 }
 * @see max
 * @see percentile
 */
export function min(field: string): Aggregate<{ value: number }, number | null> {
  const get = compilePath(field);
  return readingFields({
    // Infinity stands for "no value yet": check() keeps non-finite values out, so it cannot be
    // a real minimum. A box updated in place, rather than a bare number stored back into the
    // window's accumulator array, spares a heap allocation per event.
    create: () => ({ value: Infinity }),
    add: (acc, event) => {
      const value = get(event);
      // Math.min on ties so that -0 wins over 0 in any order.
      if (typeof value === 'number' && value <= acc.value) acc.value = Math.min(acc.value, value);
      return acc;
    },
    merge: (into, other) => {
      into.value = Math.min(into.value, other.value);
      return into;
    },
    result: (acc) => (acc.value === Infinity ? null : acc.value),
    check: numericCheck(field, get),
    // The box is updated in place: the saved state is a copy, and each load builds a new box.
    save: saveBox,
    load: (saved) => loadBox(saved, 'min:' + field),
    slot: 'min:' + field,
  }, [field]);
}
