import type { Aggregate } from './aggregate.js';

/**
 * A user-supplied fold: `add` (and `merge`) may update the accumulator in place and return
 * nothing, or return a new one. Returning `undefined` always means "kept in place", so an
 * accumulator that is itself `undefined` cannot be expressed.
 *
 * @example const total: Reducer<number, number, { price: number }> = { create: () => 0, add: (a, e) => a + e.price, result: (a) => a };
 * @see reduce
 * @see buffered
 */
export interface Reducer<A, R, E = unknown> {
  create(): A;
  add(acc: A, event: E): A | void;
  merge?(into: A, other: A): A | void;
  result(acc: A): R;
  check?(event: E): string | undefined;
}

/**
 * Wraps a user-supplied reducer as an {@link Aggregate}. A reducer without `merge` still works
 * in every window: Sluice buffers its events and folds them when the window fires (see
 * `buffered`).
 *
 * @example aggregate({ basket: reduce({ create: () => [] as string[], add: (a, e: { sku: string }) => { a.push(e.sku); }, result: (a) => a.join(',') }) })
 * @see buffered
 * @see CompositeAggregate
 */
export function reduce<A, R, E = unknown>(reducer: Reducer<A, R, E>): Aggregate<A, R> {
  // Events reach aggregates as `unknown`; the reducer's own event type is its author's promise.
  const r = reducer as Reducer<A, R, unknown>;
  const aggregate: { -readonly [K in keyof Aggregate<A, R>]: Aggregate<A, R>[K] } = {
    create: () => r.create(),
    add: (acc, event) => {
      const next = r.add(acc, event);
      return next === undefined ? acc : next;
    },
    result: (acc) => r.result(acc),
  };
  if (r.merge) {
    const merge = r.merge.bind(r);
    aggregate.merge = (into, other) => {
      const next = merge(into, other);
      return next === undefined ? into : next;
    };
  }
  if (r.check) aggregate.check = r.check.bind(r);
  return aggregate;
}

/**
 * An aggregate made mergeable by keeping raw events: the result of {@link buffered}.
 *
 * @example const b: Buffered<number, number> = buffered(reduce({ create: () => 0, add: (a) => a + 1, result: (a) => a }));
 * @see buffered
 */
export interface Buffered<A, R> extends Aggregate<unknown[], R> {
  /** The wrapped aggregate. */
  readonly inner: Aggregate<A, R>;
  /** Folds buffered events into a fresh accumulator of `inner`. */
  fold(events: readonly unknown[]): A;
  merge(into: unknown[], other: unknown[]): unknown[];
}

/**
 * Makes an aggregate without `merge` mergeable: the accumulator keeps the window's raw events
 * in arrival order, `merge` appends `other`'s events after `into`'s, and `result` folds them
 * with `create`/`add` before calling `result`.
 *
 * This is how merging session windows and combining partials across partitions work for
 * reducers that cannot merge: `CompositeAggregate` wraps them automatically when the window
 * needs merges. The price is memory proportional to the events of the window, and an
 * order-sensitive reducer sees merged events in (into, other) order, not time order.
 *
 * @example const joined = buffered(reduce({ create: () => '', add: (a, e: { c: string }) => a + e.c, result: (a) => a }));
 * @see reduce
 * @see CompositeAggregate
 */
export function buffered<A, R>(aggregate: Aggregate<A, R>): Buffered<A, R> {
  const fold = (events: readonly unknown[]): A => {
    let acc = aggregate.create();
    for (let i = 0; i < events.length; i++) acc = aggregate.add(acc, events[i]);
    return acc;
  };
  const wrapped: { -readonly [K in keyof Buffered<A, R>]: Buffered<A, R>[K] } = {
    inner: aggregate,
    fold,
    create: () => [],
    add: (acc, event) => {
      acc.push(event);
      return acc;
    },
    merge: (into, other) => {
      // A loop rather than push(...other): spreading a large window would overflow the stack.
      for (let i = 0; i < other.length; i++) into.push(other[i]);
      return into;
    },
    result: (acc) => aggregate.result(fold(acc)),
  };
  if (aggregate.check) wrapped.check = aggregate.check.bind(aggregate);
  if (aggregate.slot !== undefined) wrapped.slot = aggregate.slot;
  return wrapped;
}
