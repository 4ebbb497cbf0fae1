import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distinct } from '../../../../src/windows/aggregates/index.js';
import { checkpointSuite } from './checkpoint-suite.js';
import { checkpointRoundTrip, fold, restore, run, shuffle, split } from './helpers.js';

const of = (...values: unknown[]) => values.map((user) => ({ user }));

describe('distinct', () => {
  it('counts distinct non-null values, 0 when there are none', () => {
    expect(run(distinct('user'), [])).toBe(0);
    expect(run(distinct('user'), [{ user: null }, {}, null])).toBe(0);
    expect(run(distinct('user'), of('a', 'b', 'a', null, 'c', 'b'))).toBe(3);
  });

  it('keeps types apart', () => {
    expect(run(distinct('user'), of(1, '1', true, 'true', 0, false, '', 'n1', 'bt'))).toBe(9);
  });

  it('compares objects and arrays by canonical JSON', () => {
    expect(run(distinct('user'), of({ a: 1, b: 2 }, { b: 2, a: 1 }, { a: 1 }, [1, 2], [2, 1], [1, 2]))).toBe(4);
  });

  it('does not confuse an object with a string spelled like its key', () => {
    expect(run(distinct('user'), of({ a: 1 }, 'j{"a":1}', '{"a":1}'))).toBe(3);
  });

  it('treats 0 and -0 as one value', () => {
    expect(run(distinct('user'), of(0, -0))).toBe(1);
  });

  it('merges by set union without touching the other set', () => {
    const agg = distinct('user');
    const other = fold(agg, of('b', 'c', { x: 1 }));
    const merged = agg.merge!(fold(agg, of('a', 'b', { x: 1 })), other);
    expect(agg.result(merged)).toBe(4);
    agg.add(merged, { user: 'z' });
    expect(agg.result(other)).toBe(3);
  });

  it('gives the same count however the events are split', () => {
    const agg = distinct('user');
    const value = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom('1', '2', true, null), fc.array(fc.nat(3), { maxLength: 2 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), (values, cuts, seed) => {
        const events = of(...values);
        let acc = agg.create();
        for (const chunk of shuffle(split(events, cuts), seed)) acc = agg.merge!(acc, fold(agg, chunk));
        expect(agg.result(acc)).toBe(run(agg, events));
      }),
      { numRuns: 200 },
    );
  });

  describe('checkpoints', () => {
    // Values that only the type or the canonical key tells apart, and a string spelled like a key.
    const value = fc.oneof(
      fc.integer({ min: -3, max: 20 }),
      fc.constantFrom('1', '2', 'true', '', true, false, null, 0, -0, NaN, Infinity, 1.5, '\u0000j{"a":1}', '\u0000n1'),
      fc.array(fc.nat(3), { maxLength: 2 }),
      fc.record({ a: fc.nat(2), b: fc.constantFrom('x', 1) }, { requiredKeys: ['a'] }),
    );
    checkpointSuite({ aggregates: [distinct('user')], events: fc.array(value, { maxLength: 40 }).map((values) => of(...values)) });

    it('saves arrays that keep 1 and "1" apart and objects as canonical keys', () => {
      const agg = distinct('user');
      const saved = agg.save!(fold(agg, of(1, '1', true, { b: 2, a: 1 }, { a: 1, b: 2 }, [1])));
      expect(saved).toEqual({ values: [1, '1', true], objects: [expect.stringContaining('{"a":1,"b":2}'), expect.stringContaining('[1]')] });
      const loaded = agg.load!(checkpointRoundTrip(saved));
      expect(agg.result(loaded)).toBe(5);
      for (const user of [1, '1', true, { a: 1, b: 2 }, [1]]) agg.add(loaded, { user });
      expect(agg.result(loaded)).toBe(5);
      agg.add(loaded, { user: 'true' });
      expect(agg.result(loaded)).toBe(6);
    });

    it('loads new sets', () => {
      const agg = distinct('user');
      const acc = fold(agg, of('a', { x: 1 }));
      const loaded = restore(agg, acc, false);
      expect(loaded.values).not.toBe(acc.values);
      expect(loaded.objects).not.toBe(acc.objects);
      expect(loaded).toEqual(acc);
    });

    it('refuses saved data of another shape', () => {
      const agg = distinct('user');
      for (const bad of [null, [], { values: [] }, { values: [{ a: 1 }], objects: [] }, { values: [], objects: [1] }, { values: 'a', objects: [] }]) {
        expect(() => agg.load!(bad)).toThrow(/saved state of distinct:user is not/);
      }
    });
  });
});
