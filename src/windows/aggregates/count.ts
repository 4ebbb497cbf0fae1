import { type Aggregate, readingFields } from './aggregate.js';

const COUNT: Aggregate<number, number> = readingFields({
  create: () => 0,
  add: (acc) => acc + 1,
  merge: (into, other) => into + other,
  result: (acc) => acc,
  // Every count() is interchangeable, so several count outputs of one window add once.
  slot: 'count',
}, []);

/**
 * Counts the events of a window (every event, whatever its fields); 0 for an empty window.
 *
 * @example aggregate({ n: count() }) // { n: 42 }
 * @see sum
 * @see distinct
 */
export function count(): Aggregate<number, number> {
  return COUNT;
}
