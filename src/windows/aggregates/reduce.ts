import { ErrorCode, UserError } from '../../core/errors.js';
import type { Aggregate } from './aggregate.js';
import { badSaved, copyPlain } from './saved.js';

/**
 * A user-supplied fold: `add` (and `merge`) may update the accumulator in place and return
 * nothing, or return a new one. Returning `undefined` always means "kept in place", so an
 * accumulator that is itself `undefined` cannot be expressed.
 *
 * Checkpoints keep the accumulator as plain JSON data (numbers, strings, booleans, null,
 * arrays, plain objects). One that is not (a Set, a Map, a class instance) needs `save`, which
 * turns it into such data, and `load`, which rebuilds an accumulator that behaves exactly like
 * the saved one; give both or neither. Sluice copies what `save` returns and what `load` gets,
 * so neither has to copy.
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
  save?(acc: A): unknown;
  load?(saved: unknown): A;
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
  if ((r.save === undefined) !== (r.load === undefined)) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `reduce: give the reducer both save and load, or neither (it has only ${r.save ? 'save' : 'load'})`);
  }
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
  // Copies on both sides: a checkpoint must not follow an accumulator that keeps changing, and
  // a loaded accumulator must not share anything with the checkpoint (or another load of it).
  if (r.save && r.load) {
    const save = r.save.bind(r);
    const load = r.load.bind(r);
    aggregate.save = (acc) => copyPlain(save(acc), 'what the save of a reducer returns', 'save must return plain JSON data');
    aggregate.load = (saved) => load(copyPlain(saved, 'the saved state of a reducer'));
  } else {
    aggregate.save = (acc) => copyPlain(acc, 'the accumulator of a reducer without save');
    aggregate.load = (saved) => copyPlain(saved, 'the saved state of a reducer') as A;
  }
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
  save(acc: unknown[]): unknown[];
  load(saved: unknown): unknown[];
}

/**
 * Makes an aggregate without `merge` mergeable: the accumulator keeps the window's raw events
 * in arrival order, `merge` appends `other`'s events after `into`'s, and `result` folds them
 * with `create`/`add` before calling `result`. It saves the events themselves (a copy of the
 * array; events are JSON values, never changed in place).
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
    save: (acc) => acc.slice(),
    load: (saved) => {
      if (!Array.isArray(saved)) throw badSaved('buffered events', 'an array', saved);
      return saved.slice();
    },
  };
  if (aggregate.check) wrapped.check = aggregate.check.bind(aggregate);
  if (aggregate.slot !== undefined) wrapped.slot = aggregate.slot;
  return wrapped;
}
