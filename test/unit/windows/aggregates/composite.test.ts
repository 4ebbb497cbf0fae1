import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  type Aggregate,
  type AggregateMap,
  avg,
  CompositeAggregate,
  count,
  distinct,
  max,
  min,
  p50,
  p95,
  p99,
  reduce,
  sum,
} from '../../../../src/windows/aggregates/index.js';
import { DDSketch } from '@datadog/sketches-js';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { checkpointRoundTrip, shuffle, split } from './helpers.js';

function runAll(agg: CompositeAggregate, events: readonly unknown[]): unknown[] {
  const acc = agg.create();
  for (const event of events) {
    expect(agg.check(event)).toBeUndefined();
    agg.add(acc, event);
  }
  return acc;
}

const concat = () => reduce({ create: () => '', add: (acc: string, e: { c: string }) => acc + e.c, result: (acc) => acc });

describe('CompositeAggregate', () => {
  it('produces every output in the map order', () => {
    const agg = new CompositeAggregate({ z: count(), a: sum('x'), m: max('x'), b: min('x') }, { needsMerge: false });
    const result = agg.result(runAll(agg, [{ x: 2 }, { x: 5 }, {}]));
    expect(Object.keys(result)).toEqual(['z', 'a', 'm', 'b']);
    expect(result).toEqual({ z: 3, a: 7, m: 5, b: 2 });
    expect(agg.names).toEqual(['z', 'a', 'm', 'b']);
  });

  it('shares one accumulator per slot', () => {
    const agg = new CompositeAggregate(
      { n: count(), p50: p50('ms'), p95: p95('ms'), p99: p99('ms'), total: sum('ms'), mean: avg('ms'), n2: count(), p50b: p50('other') },
      { needsMerge: false },
    );
    const acc = agg.create();
    // count, sketch:ms, sum:ms, sketch:other
    expect(acc).toHaveLength(4);
    for (let ms = 1; ms <= 100; ms++) agg.add(acc, { ms, other: 1 });
    const result = agg.result(acc);
    expect(result.n).toBe(100);
    expect(result.n2).toBe(100);
    expect(result.total).toBe(5050);
    expect(result.mean).toBe(50.5);
    expect(Math.abs((result.p50 as number) - 50)).toBeLessThanOrEqual(0.5);
    expect(Math.abs((result.p95 as number) - 95)).toBeLessThanOrEqual(0.95);
    expect(Math.abs((result.p99 as number) - 99)).toBeLessThanOrEqual(0.99);
    expect(result.p50b).toBe(1);
  });

  it('adds each event once per shared slot', () => {
    const add = vi.fn((acc: number) => acc + 1);
    const shared = (scale: number): Aggregate<number, number> => ({ create: () => 0, add, merge: (a, b) => a + b, result: (a) => a * scale, slot: 'mine' });
    const same = reduce({ create: () => 0, add: (a: number) => a + 1, result: (a) => a });
    const agg = new CompositeAggregate({ one: shared(1), ten: shared(10), s1: same, s2: same }, { needsMerge: false });
    expect(agg.create()).toHaveLength(2);
    const acc = runAll(agg, [{}, {}, {}]);
    expect(add).toHaveBeenCalledTimes(3);
    expect(agg.result(acc)).toEqual({ one: 3, ten: 30, s1: 3, s2: 3 });
  });

  it('returns the first failing check, and none for valid events', () => {
    const agg = new CompositeAggregate({ n: count(), s: sum('a'), p: p95('b') }, { needsMerge: false });
    expect(agg.check({ a: 1, b: 2 })).toBeUndefined();
    expect(agg.check({})).toBeUndefined();
    expect(agg.check({ a: 'x', b: 'y' })).toBe(`field 'a' must be a number, got string "x"`);
    expect(agg.check({ a: 1, b: true })).toBe(`field 'b' must be a number, got boolean`);
  });

  it('merges every slot, leaving the other accumulators untouched', () => {
    const agg = new CompositeAggregate({ n: count(), s: sum('x'), lo: min('x'), u: distinct('u'), p: p50('x') }, { needsMerge: false });
    expect(agg.mergeable).toBe(true);
    const into = runAll(agg, [{ x: 1, u: 'a' }]);
    const other = runAll(agg, [{ x: 3, u: 'b' }, { x: -2, u: 'a' }]);
    const before = agg.result(other);
    agg.merge(into, other);
    expect(agg.result(into)).toEqual({ n: 3, s: 2, lo: -2, u: 2, p: agg.result(runAll(agg, [{ x: 1 }, { x: 3 }, { x: -2 }])).p });
    agg.add(into, { x: 100, u: 'c' });
    expect(agg.result(other)).toEqual(before);
  });

  it('merging into a fresh accumulator copies rather than aliases', () => {
    const agg = new CompositeAggregate({ p: p50('x'), u: distinct('x') }, { needsMerge: false });
    const other = runAll(agg, [{ x: 1 }]);
    const fresh = agg.create();
    agg.merge(fresh, other);
    agg.add(fresh, { x: 1000 });
    agg.add(fresh, { x: 1001 });
    expect(agg.result(other)).toEqual({ p: 1, u: 1 });
  });

  it('is not mergeable with a reducer lacking merge unless asked', () => {
    const agg = new CompositeAggregate({ n: count(), s: concat() }, { needsMerge: false });
    expect(agg.mergeable).toBe(false);
    expect(() => agg.merge(agg.create(), agg.create())).toThrow(/needsMerge/);
    expect(agg.result(runAll(agg, [{ c: 'a' }, { c: 'b' }]))).toEqual({ n: 2, s: 'ab' });
  });

  it('buffers reducers without merge when merges are needed', () => {
    const agg = new CompositeAggregate({ n: count(), s: concat() }, { needsMerge: true });
    expect(agg.mergeable).toBe(true);
    const into = runAll(agg, [{ c: 'a' }, { c: 'b' }]);
    const other = runAll(agg, [{ c: 'c' }]);
    agg.merge(into, other);
    expect(agg.result(into)).toEqual({ n: 3, s: 'abc' });
    expect(agg.result(other)).toEqual({ n: 1, s: 'c' });
    // result() does not consume the buffer
    expect(agg.result(into)).toEqual({ n: 3, s: 'abc' });
  });

  it('folds a buffered slot once for all outputs sharing it', () => {
    const create = vi.fn(() => ({ n: 0 }));
    const shared = (name: string): Aggregate<{ n: number }, string> => ({
      create,
      add: (acc) => {
        acc.n++;
        return acc;
      },
      result: (acc) => `${name}:${acc.n}`,
      slot: 'buffered-slot',
    });
    const agg = new CompositeAggregate({ a: shared('a'), b: shared('b') }, { needsMerge: true });
    const acc = runAll(agg, [1, 2]);
    agg.merge(acc, runAll(agg, [3]));
    expect(create).not.toHaveBeenCalled();
    expect(agg.result(acc)).toEqual({ a: 'a:3', b: 'b:3' });
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('gives identical results however events are split and merged', () => {
    const agg = new CompositeAggregate(
      { n: count(), s: sum('x'), a: avg('x'), lo: min('x'), hi: max('x'), u: distinct('x'), p50: p50('x'), p99: p99('x'), c: concat() },
      { needsMerge: true },
    );
    const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), fc.constantFrom(0.1, null, 1, -1));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), (values, cuts, seed) => {
        // concat is order-sensitive: merge the chunks in order, but build them in a shuffled order.
        const events = values.map((x, i) => ({ x, c: String(i % 10) }));
        const chunks = split(events, cuts);
        const accs = shuffle(
          chunks.map((chunk, i) => [i, runAll(agg, chunk)] as const),
          seed,
        ).sort(([a], [b]) => a - b);
        const merged = agg.create();
        for (const [, acc] of accs) agg.merge(merged, acc);
        expect(agg.result(merged)).toEqual(agg.result(runAll(agg, events)));
      }),
      { numRuns: 150 },
    );
  });

  it('handles an empty map and a "__proto__" output', () => {
    const empty = new CompositeAggregate({}, { needsMerge: true });
    expect(empty.create()).toEqual([]);
    expect(empty.result(empty.create())).toEqual({});
    const map = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    map['__proto__'] = count();
    const odd = new CompositeAggregate(map as Record<string, Aggregate>, { needsMerge: false });
    const result = odd.result(runAll(odd, [1]));
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
  });
});

/** A reducer whose accumulator is a Set: it needs save and load. */
const pageSet = () =>
  reduce({
    create: () => new Set<string>(),
    add: (acc: Set<string>, e: { c: string }) => {
      acc.add(e.c);
    },
    merge: (into: Set<string>, other: Set<string>) => {
      for (const c of other) into.add(c);
    },
    result: (acc) => [...acc].sort().join(''),
    save: (acc) => [...acc],
    load: (saved) => new Set(saved as string[]),
  });

/** A mutable box without save or load: plain data the composite copies. */
const boxed = (): Aggregate<{ n: number }, number> => ({
  create: () => ({ n: 0 }),
  add: (acc) => {
    acc.n++;
    return acc;
  },
  merge: (into, other) => {
    into.n += other.n;
    return into;
  },
  result: (acc) => acc.n,
});

describe('CompositeAggregate checkpoints', () => {
  const everything = (needsMerge: boolean) =>
    new CompositeAggregate(
      {
        n: count(),
        s: sum('x'),
        a: avg('x'),
        lo: min('x'),
        hi: max('x'),
        u: distinct('x'),
        p50: p50('x'),
        p95: p95('x'),
        p99: p99('x'),
        c: concat(),
        set: pageSet(),
        box: boxed(),
      },
      { needsMerge },
    );
  const events = fc
    .array(
      fc.record({
        x: fc.oneof(fc.integer({ min: -1e6, max: 1e6 }).map((i) => i / 8), fc.constantFrom(0.1, null, 1, -1, 0, -0, Number.MAX_VALUE)),
        c: fc.constantFrom('a', 'b', 'c'),
      }),
      { maxLength: 50 },
    )
    .map((records) => records.map((r, i) => ({ ...r, i })));
  const checkpoint = (agg: CompositeAggregate, acc: unknown[]) => agg.load(checkpointRoundTrip(agg.save(acc)));

  it.each([false, true])('resumes from a checkpoint with the results of an uninterrupted run (needsMerge: %s)', (needsMerge) => {
    const agg = everything(needsMerge);
    fc.assert(
      fc.property(events, fc.nat(), (events, cut) => {
        const at = cut % (events.length + 1);
        const acc = checkpoint(agg, runAll(agg, events.slice(0, at)));
        for (const event of events.slice(at)) agg.add(acc, event);
        expect(agg.result(acc)).toEqual(agg.result(runAll(agg, events)));
      }),
      { numRuns: 100 },
    );
  });

  it('merges loaded accumulators as it merges the saved ones', () => {
    const agg = everything(true);
    fc.assert(
      fc.property(events, fc.nat(), (events, cut) => {
        const at = cut % (events.length + 1);
        const first = () => runAll(agg, events.slice(0, at));
        const second = () => runAll(agg, events.slice(at));
        const expected = first();
        agg.merge(expected, second());
        const loaded = checkpoint(agg, first());
        const other = checkpoint(agg, second());
        const before = agg.result(other);
        agg.merge(loaded, other);
        expect(agg.result(loaded)).toEqual(agg.result(expected));
        agg.add(loaded, { x: 5, c: 'z' });
        expect(agg.result(other)).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  it('loads accumulators that share nothing with the saved ones or the saved data', () => {
    const agg = everything(true);
    const start = [{ x: 1, c: 'a' }, { x: 2, c: 'b' }];
    const acc = runAll(agg, start);
    const saved = agg.save(acc);
    const text = JSON.stringify(checkpointRoundTrip(saved));
    const loaded = agg.load(saved);
    const again = agg.load(saved);
    agg.add(loaded, { x: 100, c: 'z' });
    expect(agg.result(acc)).toEqual(agg.result(runAll(agg, start)));
    agg.add(acc, { x: -100, c: 'y' });
    expect(agg.result(loaded)).toEqual(agg.result(runAll(agg, [...start, { x: 100, c: 'z' }])));
    expect(agg.result(again)).toEqual(agg.result(runAll(agg, start)));
    expect(JSON.stringify(checkpointRoundTrip(saved))).toBe(text);
  });

  it('saves one state per slot, and the loaded accumulators still share them', () => {
    const agg = new CompositeAggregate(
      { p50: p50('ms'), p95: p95('ms'), p99: p99('ms'), total: sum('ms'), mean: avg('ms'), n: count(), n2: count() },
      { needsMerge: false },
    );
    const values = Array.from({ length: 100 }, (_, i) => ({ ms: i + 1 }));
    const saved = agg.save(runAll(agg, values));
    expect(saved).toHaveLength(3);
    expect(saved[0]).toMatchObject({ count: 100, min: 1, max: 100 });
    expect(saved[1]).toEqual({ partials: [5050], n: 100 });
    expect(saved[2]).toBe(100);
    const loaded = agg.load(checkpointRoundTrip(saved));
    expect(loaded).toHaveLength(3);
    expect(loaded[0]).toBeInstanceOf(DDSketch);
    for (const ms of [1000, 2000, 3000, 4000, 5000, 6000]) agg.add(loaded, { ms });
    // One sketch took each event once: every quantile moved as an unsplit run's did.
    const whole = agg.result(runAll(agg, [...values, ...[1000, 2000, 3000, 4000, 5000, 6000].map((ms) => ({ ms }))]));
    expect(agg.result(loaded)).toEqual(whole);
    expect((loaded[0] as DDSketch).count).toBe(106);
    expect(whole.p99).toBeGreaterThan(1000);
  });

  it('saves buffered slots as their raw events when merges are needed, and the accumulator otherwise', () => {
    const buffering = new CompositeAggregate({ n: count(), s: concat() }, { needsMerge: true });
    const events = [{ c: 'a' }, { c: 'b' }];
    const acc = runAll(buffering, events);
    const saved = buffering.save(acc);
    expect(saved).toEqual([2, events]);
    const loaded = buffering.load(checkpointRoundTrip(saved));
    buffering.merge(loaded, runAll(buffering, [{ c: 'c' }]));
    expect(buffering.result(loaded)).toEqual({ n: 3, s: 'abc' });
    expect(buffering.result(acc)).toEqual({ n: 2, s: 'ab' });
    expect((saved[1] as unknown[]).length).toBe(2);

    const folding = new CompositeAggregate({ n: count(), s: concat() }, { needsMerge: false });
    expect(folding.save(runAll(folding, events))).toEqual([2, 'ab']);
  });

  it('saves a buffered slot shared by several outputs once', () => {
    const shared = (name: string): Aggregate<{ n: number }, string> => ({
      create: () => ({ n: 0 }),
      add: (acc) => {
        acc.n++;
        return acc;
      },
      result: (acc) => `${name}:${acc.n}`,
      slot: 'buffered-slot',
    });
    const agg = new CompositeAggregate({ a: shared('a'), b: shared('b') }, { needsMerge: true });
    const saved = agg.save(runAll(agg, [1, 2]));
    expect(saved).toEqual([[1, 2]]);
    const loaded = agg.load(checkpointRoundTrip(saved));
    agg.merge(loaded, runAll(agg, [3]));
    expect(agg.result(loaded)).toEqual({ a: 'a:3', b: 'b:3' });
  });

  it('copies the accumulators of aggregates without save and load', () => {
    const agg = new CompositeAggregate({ box: boxed() }, { needsMerge: false });
    const acc = runAll(agg, [1, 2]);
    const saved = agg.save(acc);
    expect(saved).toEqual([{ n: 2 }]);
    expect(saved[0]).not.toBe(acc[0]);
    agg.add(acc, 3);
    expect(saved).toEqual([{ n: 2 }]);
    const loaded = agg.load(saved);
    expect(loaded[0]).not.toBe(saved[0]);
    agg.add(loaded, 4);
    expect(saved).toEqual([{ n: 2 }]);
    expect(agg.result(acc)).toEqual({ box: 3 });
  });

  it('refuses to save an accumulator that is not plain data, naming its outputs', () => {
    const sets: Aggregate<Set<unknown>, number> = { create: () => new Set(), add: (acc, e) => acc.add(e), result: (acc) => acc.size };
    const agg = new CompositeAggregate({ u: sets, v: sets }, { needsMerge: false });
    expect(() => agg.save(runAll(agg, [1]))).toThrow(
      `the accumulator of 'u', 'v' is not plain JSON data (it is a Set), so it cannot be checkpointed; give it save and load`,
    );
    const reducing = new CompositeAggregate({ r: reduce({ create: () => new Map(), add: () => undefined, result: () => 0 }) }, { needsMerge: false });
    expect(() => reducing.save(reducing.create())).toThrow(/reducer without save is not plain JSON data \(it is a Map\)/);
  });

  it('refuses a checkpoint that does not fit its aggregates, naming the outputs', () => {
    const agg = new CompositeAggregate({ n: count(), lo: min('x'), p: p50('x'), p2: p95('x') }, { needsMerge: false });
    const good = agg.save(runAll(agg, [{ x: 1 }]));
    expect(agg.result(agg.load(good))).toEqual({ n: 1, lo: 1, p: 1, p2: 1 });
    const failure = (saved: unknown) => {
      try {
        agg.load(saved);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        expect((err as UserError).code).toBe(ErrorCode.BAD_CHECKPOINT);
        return (err as UserError).message;
      }
      throw new Error('loaded');
    };
    expect(failure([1, 2])).toBe(`checkpoint: the window's aggregates need 3 saved states, got 2 states; was the checkpoint taken with other aggregates?`);
    expect(failure({ n: 1 })).toBe(`checkpoint: the window's aggregates need 3 saved states, got object; was the checkpoint taken with other aggregates?`);
    expect(failure([1, { nope: 1 }, null])).toBe(`checkpoint: output 'lo': saved state of min:x is not { value: number }, got {"nope":1}`);
    expect(failure([1, { value: 1 }, 'x'])).toMatch(/^checkpoint: output 'p', 'p2': saved state of sketch:x is not a saved sketch/);
  });

  it('saves and loads an empty map', () => {
    const empty = new CompositeAggregate({} as AggregateMap, { needsMerge: true });
    expect(empty.save(empty.create())).toEqual([]);
    expect(empty.load([])).toEqual([]);
  });
});

