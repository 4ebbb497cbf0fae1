/**
 * An aggregate folds the events of one window into an accumulator and turns it into a result.
 *
 * `merge` combines two accumulators of the same key (sessions that merge, partials from several
 * partitions); it may update and return `into`, and must leave `other` untouched. Aggregates
 * without `merge` still work everywhere: Sluice then keeps the window's values and folds them
 * at firing time (see `buffered`).
 *
 * `check` rejects a value the aggregate cannot take (a string where a number is needed), before
 * any aggregate of the window has seen the event, so the event goes whole to the dead-letter
 * output instead of half-counted.
 *
 * `slot` lets several outputs share one accumulator: `p50`, `p95` and `p99` of one field read
 * the same sketch.
 *
 * `save` and `load` turn an accumulator into plain JSON data for checkpoints and back; `load`
 * must rebuild an accumulator that behaves exactly as the saved one (same results, same merges).
 * Without them the accumulator itself must be plain JSON data (numbers, strings, arrays, plain
 * objects), which `CompositeAggregate` deep-copies both ways. Numbers may be ±Infinity or NaN:
 * the checkpoint codec keeps them; it is not relied on to keep the sign of zero, so the
 * built-ins save -0 as `"-0"`. Checkpoints are taken while the window goes on: what `save`
 * returns must share nothing mutable with `acc`, and what `load` returns nothing with `saved`.
 */
export interface Aggregate<A = unknown, R = unknown> {
  create(): A;
  add(acc: A, event: unknown): A;
  merge?(into: A, other: A): A;
  result(acc: A): R;
  check?(event: unknown): string | undefined;
  save?(acc: A): unknown;
  load?(saved: unknown): A;
  readonly slot?: string;
  /**
   * The field paths of the event that `add` and `check` read, when that is all they read (`[]`
   * for none, as `count()`); undefined means the whole event. Lets `parseJson` build only those.
   */
  readonly fields?: readonly string[];
}

/**
 * Declares what a built-in aggregate reads ({@link Aggregate.fields}) as a property that object
 * spread does not copy: `{ ...count(), add: (n, e) => n + e.weight }` reads what its own `add`
 * reads, so it must not inherit count's "nothing" (and gets whole values instead).
 *
 * @example readingFields({ create, add, merge, result }, ['latencyMs'])
 */
export function readingFields<A, R>(aggregate: Aggregate<A, R>, fields: readonly string[]): Aggregate<A, R> {
  return Object.defineProperty(aggregate, 'fields', { value: [...fields], enumerable: false });
}

/** Named outputs of a window: each name becomes a field of the result. */
export type AggregateMap = Readonly<Record<string, Aggregate>>;

/** The result fields an {@link AggregateMap} produces. */
export type AggregateResults<M extends AggregateMap> = { [K in keyof M]: M[K] extends Aggregate<unknown, infer R> ? R : never };
