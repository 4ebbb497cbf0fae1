import { ErrorCode, UserError } from '../../core/errors.js';
import type { Aggregate, AggregateMap } from './aggregate.js';
import { type Buffered, buffered } from './reduce.js';
import { copyPlain } from './saved.js';

/**
 * Options of {@link CompositeAggregate}.
 *
 * @example const options: CompositeOptions = { needsMerge: true };
 * @see CompositeAggregate
 */
export interface CompositeOptions {
  /**
   * The window will merge accumulators (session windows, partials combined across
   * partitions): aggregates without `merge` are then wrapped with `buffered`.
   */
  readonly needsMerge: boolean;
}

/**
 * All outputs of a window as one aggregate over an array of accumulators, one per slot.
 *
 * Outputs whose aggregates have the same `slot` (or are the same object) share one accumulator,
 * updated once per event: `p50:x,p95:x,p99:x` keep a single sketch, `sum:x,avg:x` a single exact
 * sum. Sharing assumes that aggregates of one slot create, add, merge, check, save and load
 * alike; only their `result` may differ. Result fields follow the map's key order (which, for
 * JavaScript objects, puts integer-like names such as `"1"` first).
 *
 * @example
 * const agg = new CompositeAggregate({ n: count(), p95: p95('ms') }, { needsMerge: false });
 * const acc = agg.create();
 * agg.add(acc, { ms: 12 });
 * agg.result(acc) // { n: 1, p95: 12 }
 * @see buffered
 * @see parseAggSpec
 */
export class CompositeAggregate {
  /** True when `merge` may be called: every slot can merge (always so with `needsMerge`). */
  readonly mergeable: boolean;
  /** Output names, in result order. */
  readonly names: readonly string[];

  /** The aggregate that creates, adds, merges and checks each slot's accumulator. */
  private readonly slots: Aggregate[];
  /** For a buffered slot, folds its events into the wrapped aggregate's accumulator. */
  private readonly folds: (Buffered<unknown, unknown> | undefined)[];
  /** One check per slot that has one: aggregates of a slot reject the same events. */
  private readonly checks: Aggregate[];
  /** Slot of each output. */
  private readonly outputSlots: number[];
  /** Aggregate whose `result` produces each output. */
  private readonly outputs: Aggregate[];
  /** The outputs of each slot, quoted and joined, for error messages. */
  private readonly slotLabels: string[];

  constructor(map: AggregateMap, options: CompositeOptions) {
    const names = Object.keys(map);
    const slots: Aggregate[] = [];
    const bySlot = new Map<string, number>();
    const byAggregate = new Map<Aggregate, number>();
    this.outputSlots = [];
    this.outputs = [];
    for (const name of names) {
      const aggregate = map[name]!;
      let index = byAggregate.get(aggregate) ?? (aggregate.slot === undefined ? undefined : bySlot.get(aggregate.slot));
      if (index === undefined) {
        index = slots.length;
        slots.push(aggregate);
        if (aggregate.slot !== undefined) bySlot.set(aggregate.slot, index);
      }
      byAggregate.set(aggregate, index);
      this.outputSlots.push(index);
      this.outputs.push(aggregate);
    }
    this.folds = slots.map(() => undefined);
    if (options.needsMerge) {
      for (let i = 0; i < slots.length; i++) {
        const aggregate = slots[i]!;
        if (aggregate.merge) continue;
        const wrapped = buffered(aggregate);
        slots[i] = wrapped;
        this.folds[i] = wrapped;
      }
    }
    this.slots = slots;
    this.slotLabels = slots.map((_, i) =>
      names
        .filter((_, j) => this.outputSlots[j] === i)
        .map((name) => `'${name}'`)
        .join(', '),
    );
    this.checks = slots.filter((aggregate) => aggregate.check !== undefined);
    this.mergeable = slots.every((aggregate) => aggregate.merge !== undefined);
    this.names = names;
  }

  /**
   * Fresh accumulators for a new window, one per slot.
   *
   * @example const acc = agg.create();
   * @see CompositeAggregate.add
   */
  create(): unknown[] {
    const slots = this.slots;
    const acc = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) acc[i] = slots[i]!.create();
    return acc;
  }

  /**
   * The first reason an aggregate refuses `event`, or `undefined` when all accept it; called
   * before `add` so that a refused event is counted nowhere.
   *
   * @example agg.check({ ms: 'slow' }) // "field 'ms' must be a number, got string \"slow\""
   * @see CompositeAggregate.add
   */
  check(event: unknown): string | undefined {
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const problem = checks[i]!.check!(event);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  /**
   * Adds one event to a window's accumulators (in place).
   *
   * @example agg.add(acc, { ms: 12 });
   * @see CompositeAggregate.check
   * @see CompositeAggregate.merge
   */
  add(acc: unknown[], event: unknown): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) acc[i] = slots[i]!.add(acc[i], event);
  }

  /**
   * Merges `other` into `into` (in place); `other` is left untouched. Throws when not
   * `mergeable`: the window was built without `needsMerge` and an aggregate cannot merge.
   *
   * @example agg.merge(sessionA, sessionB);
   * @see CompositeAggregate.mergeable
   */
  merge(into: unknown[], other: unknown[]): void {
    if (!this.mergeable) {
      throw new Error('CompositeAggregate.merge: some aggregates have no merge; build it with needsMerge: true');
    }
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) into[i] = slots[i]!.merge!(into[i], other[i]);
  }

  /**
   * The output fields of a window, in the map's order.
   *
   * @example agg.result(acc) // { n: 1, p95: 12 }
   * @see CompositeAggregate.create
   */
  result(acc: unknown[]): Record<string, unknown> {
    // Buffered slots are folded once here, then read by every output sharing them.
    let values = acc;
    for (let i = 0; i < this.folds.length; i++) {
      const fold = this.folds[i];
      if (fold === undefined) continue;
      if (values === acc) values = acc.slice();
      values[i] = fold.fold(acc[i] as unknown[]);
    }
    const out: Record<string, unknown> = {};
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = this.outputs[i]!.result(values[this.outputSlots[i]!]);
      // A plain assignment to "__proto__" would set the prototype instead of a field.
      if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      else out[name] = value;
    }
    return out;
  }

  /**
   * The accumulators of a window as plain JSON data for a checkpoint, one entry per slot: each
   * slot's `save`, or a deep copy of an accumulator that is plain data already. Shared slots
   * are saved once; buffered slots save their raw events. Nothing in the result is shared with
   * `acc`, so the window may go on changing while the checkpoint is written.
   *
   * @example const saved = agg.save(acc); // [3, { relativeAccuracy: 0.01, count: 3, … }]
   * @see CompositeAggregate.load
   */
  save(acc: unknown[]): unknown[] {
    const slots = this.slots;
    const out = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      out[i] = slot.save ? slot.save(acc[i]) : copyPlain(acc[i], `the accumulator of ${this.slotLabels[i]!}`);
    }
    return out;
  }

  /**
   * New accumulators from what {@link CompositeAggregate.save} returned (after a trip through
   * the checkpoint codec): they answer, merge and take events exactly as the saved ones did,
   * and share nothing with `saved`. Throws a `UserError(BAD_CHECKPOINT)` when `saved` does not
   * fit this window's aggregates.
   *
   * @example const acc = agg.load(saved);
   * @see CompositeAggregate.save
   */
  load(saved: unknown): unknown[] {
    const slots = this.slots;
    if (!Array.isArray(saved) || saved.length !== slots.length) {
      const got = Array.isArray(saved) ? `${saved.length} states` : typeof saved;
      throw new UserError(
        ErrorCode.BAD_CHECKPOINT,
        `checkpoint: the window's aggregates need ${slots.length} saved states, got ${got}; was the checkpoint taken with other aggregates?`,
      );
    }
    const acc = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      try {
        acc[i] = slot.load ? slot.load(saved[i]) : copyPlain(saved[i], `the saved state of ${this.slotLabels[i]!}`);
      } catch (err) {
        if (err instanceof UserError && err.code === ErrorCode.BAD_CHECKPOINT) {
          throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint: output ${this.slotLabels[i]!}: ${err.message}`, { cause: err });
        }
        throw err;
      }
    }
    return acc;
  }
}
