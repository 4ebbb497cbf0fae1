import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  type Aggregate,
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
import { shuffle, split } from './helpers.js';

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
