import { DDSketch } from '@datadog/sketches-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Aggregate, mergeSketch, p50, p95, p99, percentile, type PercentileAcc } from '../../../../src/windows/aggregates/index.js';
import { UserError } from '../../../../src/core/errors.js';
import { checkpointSuite } from './checkpoint-suite.js';
import { checkpointRoundTrip, fold, mulberry32, restore, run, shuffle, split } from './helpers.js';

const QUANTILES = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

/** The value the sketch estimates: the one at rank floor(q * (n - 1)) of the sorted data. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function distribution(name: string, n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const draw: Record<string, () => number> = {
    uniform: () => 1 + random() * 999,
    exponential: () => -Math.log(1 - random()) * 250,
    lognormal: () => Math.exp(3 + 1.5 * normal()),
    'normal around 0': () => normal() * 100,
    'mostly zeros': () => (random() < 0.6 ? 0 : random() * 50 - 10),
    'tiny and huge': () => (random() < 0.5 ? random() * 1e-6 : random() * 1e9),
  };
  return Array.from({ length: n }, draw[name]!);
}

describe('percentile', () => {
  it.each(['uniform', 'exponential', 'lognormal', 'normal around 0', 'mostly zeros', 'tiny and huge'])(
    'stays within 1%% relative error on a %s distribution',
    (name) => {
      const values = distribution(name, 20_000, 42);
      const sorted = [...values].sort((a, b) => a - b);
      const events = values.map((ms) => ({ ms }));
      for (const q of QUANTILES) {
        const estimate = run(percentile('ms', q), events)!;
        const exact = exactQuantile(sorted, q);
        expect(Math.abs(estimate - exact), `q=${q} exact=${exact} estimate=${estimate}`).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-12);
      }
    },
  );

  it('answers the lower quantile, rank floor(q * (n - 1))', () => {
    const events = [1, 2, 3].map((x) => ({ x }));
    expect(run(p99('x'), events)).toBeCloseTo(2, 1);
    expect(run(p50('x'), [1, 2, 3, 4].map((x) => ({ x })))).toBeCloseTo(2, 1);
  });

  it('answers 0, never -0, for zeros', () => {
    expect(Object.is(run(p50('x'), [{ x: -0 }, { x: 0 }]), 0)).toBe(true);
    expect(Object.is(run(p50('x'), [{ x: 0 }, { x: -0 }]), 0)).toBe(true);
    expect(Object.is(run(p50('x'), [{ x: -0 }]), 0)).toBe(true);
  });

  it('never answers outside the data', () => {
    for (const v of [3, -7.25, 0, 1e-300, -1e-300, 123456.789, Number.MAX_VALUE]) {
      for (const q of [0.001, 0.5, 0.999]) expect(run(percentile('x', q), [{ x: v }])).toBe(v);
    }
    const events = [10, 20, 30].map((x) => ({ x }));
    expect(run(percentile('x', 0.001), events)).toBeGreaterThanOrEqual(10);
    expect(run(percentile('x', 0.999), events)).toBeLessThanOrEqual(30);
  });

  it('costs nothing until a value arrives, and is null without values', () => {
    const agg = p50('x');
    expect(agg.create()).toBeNull();
    const acc = fold(agg, [{ x: null }, {}, { y: 1 }]);
    expect(acc).toBeNull();
    expect(agg.result(acc)).toBeNull();
    expect(agg.merge!(null, null)).toBeNull();
  });

  it('shares one sketch per field', () => {
    expect(p50('ms').slot).toBe('sketch:ms');
    expect(p95('ms').slot).toBe('sketch:ms');
    expect(percentile('ms', 0.999).slot).toBe(p99('ms').slot);
    expect(p50('other').slot).not.toBe(p50('ms').slot);
  });

  it('checks values like the other numeric aggregates', () => {
    const check = p95('ms').check!;
    expect(check({ ms: 5 })).toBeUndefined();
    expect(check({ ms: null })).toBeUndefined();
    expect(check({ ms: 'fast' })).toBe(`field 'ms' must be a number, got string "fast"`);
    expect(check({ ms: Infinity })).toBe(`field 'ms' must be a finite number, got Infinity`);
  });

  it('refuses q outside (0, 1)', () => {
    for (const q of [0, 1, -0.5, 1.5, NaN]) expect(() => percentile('x', q)).toThrow(UserError);
    expect(() => percentile('x', 2)).toThrow(`percentile of 'x': q must be between 0 and 1 (exclusive), got 2`);
  });

  it('merges without touching the other sketch', () => {
    const agg = p99('x');
    const other = fold(agg, [{ x: 1 }, { x: 2 }]);
    const fromEmpty = agg.merge!(agg.create(), other);
    expect(fromEmpty).not.toBe(other);
    agg.add(fromEmpty, { x: 1000 });
    expect(agg.result(other)).toBeLessThanOrEqual(2);
    expect(other!.count).toBe(2);
  });

  it('merges negative values (which DDSketch.merge 2.1.1 drops)', () => {
    const agg = p50('x');
    const a = fold(agg, [-5, -4, -3].map((x) => ({ x })));
    const b = fold(agg, [-2, -1, 10].map((x) => ({ x })));
    const merged = agg.merge!(a, b);
    const whole = fold(agg, [-5, -4, -3, -2, -1, 10].map((x) => ({ x })));
    for (const q of QUANTILES) expect(percentile('x', q).result(merged)).toBe(percentile('x', q).result(whole));
    expect(percentile('x', 0.7).result(merged)).toBeLessThan(0);
  });

  it('merges a sketch whose top key is 0 (which DenseStore.merge 2.1.1 corrupts)', () => {
    const agg = p99('x');
    const merged = agg.merge!(fold(agg, [{ x: 0.5 }]), fold(agg, [0.1, 0.99, 0.99].map((x) => ({ x }))));
    expect(merged!.store.bins.some(Number.isNaN)).toBe(false);
    expect(agg.result(merged)).toBe(run(agg, [0.5, 0.1, 0.99, 0.99].map((x) => ({ x }))));
    expect(agg.result(merged)).toBeCloseTo(0.99, 2);
  });

  it('gives identical percentiles however the values are split and merged', () => {
    // fc.double draws most of its values from tiny magnitudes, which spread a sketch over
    // ~70,000 keys; values of a few decades keep the many runs fast, and a few runs below
    // cover the whole range.
    const value = fc.oneof(
      fc.integer({ min: -1e8, max: 1e8 }).map((i) => i / 100),
      fc.double({ noNaN: true, min: 0.97, max: 1.01 }),
      fc.integer({ min: -50, max: 50 }),
      fc.constantFrom(0, -0, 1, -1, 1e-300, 1e300, -1e300),
    );
    const aggregates = QUANTILES.map((q) => percentile('v', q));
    const agg = aggregates[0]!;
    fc.assert(
      fc.property(fc.array(value, { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), fc.nat(), (values, cuts, seed, valueSeed) => {
        const events = values.map((v) => ({ v }));
        const whole = fold(agg, events);
        let acc: PercentileAcc = agg.create();
        for (const chunk of shuffle(split(shuffle(events, valueSeed), cuts), seed)) acc = agg.merge!(acc, fold(agg, chunk));
        for (const a of aggregates) expect(a.result(acc)).toBe(a.result(whole));
      }),
      { numRuns: 300 },
    );
  });

  it('mergeSketch folds every store and the summary', () => {
    const a = new DDSketch();
    const b = new DDSketch();
    for (const v of [-3, 0, 2]) a.accept(v);
    for (const v of [-8, 0, 0, 5]) b.accept(v);
    mergeSketch(a, b);
    expect([a.count, a.zeroCount, a.negativeStore.count, a.store.count, a.min, a.max]).toEqual([7, 3, 2, 2, -8, 5]);
    expect(b.count).toBe(4);
  });

  describe('checkpoints', () => {
    // fc.double draws most of its values from tiny magnitudes, which spread a sketch over
    // ~70,000 keys; values of a few decades keep the many runs fast, and a few runs below
    // cover the whole range.
    const value = fc.oneof(
      fc.integer({ min: -1e8, max: 1e8 }).map((i) => i / 100),
      fc.double({ noNaN: true, min: 0.97, max: 1.01 }),
      fc.integer({ min: -50, max: 50 }),
      fc.constantFrom(0, -0, 1, -1, 5e-324, -5e-324, 1e-6, -1e-6),
    );
    const eventsOf = (value: fc.Arbitrary<number>) =>
      fc.array(fc.oneof({ weight: 9, arbitrary: value.map((v) => ({ v })) }, { weight: 1, arbitrary: fc.constant({ v: null }) }), { maxLength: 60 });
    const events = eventsOf(value);
    const aggregates = QUANTILES.map((q) => percentile('v', q)) as [Aggregate<PercentileAcc, unknown>, ...Aggregate<PercentileAcc, unknown>[]];
    checkpointSuite({ aggregates, events, numRuns: 150 });

    describe('with values across the whole double range', () => {
      // Stores of ~70,000 keys: fewer runs.
      const extreme = fc.oneof(
        value,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(1e-300, -1e-300, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE),
      );
      checkpointSuite({ aggregates, events: eventsOf(extreme), numRuns: 15 });
    });

    /** Per-key counts of a store: what answers and merges depend on. */
    const counts = (store: DDSketch['store']) => store.bins.flatMap((n, i) => (n === 0 ? [] : [[i + store.offset, n]]));
    const summary = (s: DDSketch) => [s.count, s.zeroCount, s.min, s.max, s.sum, counts(s.store), counts(s.negativeStore)];

    it('loads a sketch with the same counts and summary', () => {
      fc.assert(
        fc.property(events, (events) => {
          const agg = aggregates[0];
          const acc = fold(agg, events);
          const loaded = restore(agg, acc);
          if (acc === null) {
            expect(loaded).toBeNull();
            return;
          }
          expect(loaded).toBeInstanceOf(DDSketch);
          expect(summary(loaded!)).toEqual(summary(acc));
        }),
        { numRuns: 200 },
      );
    });

    it('saves readable plain data: both stores trimmed to their keys, and the summary', () => {
      const agg = p50('x');
      const acc = fold(agg, [-3, 0, 2, 2, 1e-320].map((x) => ({ x })));
      const saved = agg.save!(acc) as Record<string, unknown>;
      const mapping = new DDSketch({ relativeAccuracy: 0.01 }).mapping;
      expect(saved).toEqual({
        relativeAccuracy: 0.01,
        count: 5,
        zeroCount: 2,
        min: -3,
        max: 2,
        sum: 1,
        positive: { offset: mapping.key(2), bins: [2] },
        negative: { offset: mapping.key(3), bins: [1] },
      });
      expect(agg.save!(fold(agg, [{ x: 1 }, { x: 1.5 }]))).toMatchObject({ positive: { offset: mapping.key(1), bins: [1, ...Array<number>(mapping.key(1.5) - mapping.key(1) - 1).fill(0), 1] }, negative: { offset: 0, bins: [] } });
      expect(agg.save!(null)).toBeNull();
      expect(agg.load!(null)).toBeNull();
      expect(checkpointRoundTrip(saved)).toEqual(saved);
    });

    it('merges a loaded sketch through mergeSketch like the original, both ways', () => {
      const agg = p99('x');
      const a = fold(agg, [-5, 0.99, 1, 3].map((x) => ({ x })))!;
      const b = fold(agg, [0.5, 0.98, -0.1, 0].map((x) => ({ x })))!;
      const expected = new DDSketch();
      mergeSketch(expected, a);
      mergeSketch(expected, b);
      const viaLoaded = restore(agg, a)!;
      mergeSketch(viaLoaded, restore(agg, b)!);
      expect(summary(viaLoaded)).toEqual(summary(expected));
      for (const q of QUANTILES) expect(viaLoaded.getValueAtQuantile(q)).toBe(expected.getValueAtQuantile(q));
    });

    it('refuses saved data that is not a sketch it can rebuild', () => {
      const agg = p50('x');
      const good = agg.save!(fold(agg, [-3, 0, 2].map((x) => ({ x })))) as Record<string, unknown>;
      const variants: Record<string, unknown>[] = [
        { ...good, relativeAccuracy: 0.02 },
        { ...good, count: 4 },
        { ...good, zeroCount: 0.5 },
        { ...good, min: 'low' },
        { ...good, positive: { offset: 1.5, bins: [1] } },
        { ...good, positive: { offset: 0, bins: [-1] } },
        { ...good, negative: { offset: 0, bins: [NaN] } },
        { ...good, negative: undefined },
      ];
      expect(agg.load!(good)).not.toBeNull();
      for (const bad of [...variants, 3, [], 'sketch']) expect(() => agg.load!(bad)).toThrow(/saved state of sketch:x is not a saved sketch/);
    });
  });
});
