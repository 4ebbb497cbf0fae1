import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Aggregate, avg, count, max, min, sum } from '../../../../src/windows/aggregates/index.js';
import { checkpointSuite } from './checkpoint-suite.js';
import { checkpointRoundTrip, fold, restore, run, shuffle, split } from './helpers.js';

const prices = [{ price: 3 }, { price: null }, { other: 1 }, { price: -1.5 }, { price: 10 }];

describe('count', () => {
  it('counts every event, whatever its fields', () => {
    expect(run(count(), [])).toBe(0);
    expect(run(count(), prices)).toBe(5);
    expect(run(count(), [null, 'x', 1])).toBe(3);
  });

  it('merges by adding', () => {
    const agg = count();
    expect(agg.result(agg.merge!(fold(agg, [1, 2]), fold(agg, [3])))).toBe(3);
  });

  it('has no check', () => {
    expect(count().check).toBeUndefined();
  });

  describe('checkpoints', () => {
    it('is saved as the plain number it is', () => {
      expect(count().save).toBeUndefined();
      expect(count().load).toBeUndefined();
    });
    checkpointSuite({ aggregates: [count()], events: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 30 }) });
  });
});

/** Numeric values with the edges that matter to checkpoints: -0, overflow to NaN, the Infinity sentinels. */
const numericEvents = fc.array(
  fc.oneof(
    fc.record({
      v: fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }),
        fc.constantFrom(0, -0, 0.1, 1, -1, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE),
        fc.constant(null),
      ),
    }),
    fc.constant({}),
  ),
  { maxLength: 40 },
);

const numeric: [name: 'sum' | 'avg' | 'min' | 'max', make: (field: string) => Aggregate<unknown, number | null>, expected: number][] = [
  ['sum', sum, 11.5],
  ['avg', avg, 11.5 / 3],
  ['min', min, -1.5],
  ['max', max, 10],
];

describe.each(numeric)('%s', (name, make, expected) => {
  it('ignores null and missing values', () => {
    expect(run(make('price'), prices)).toBe(expected);
  });

  it('is null when no value was seen', () => {
    expect(run(make('price'), [])).toBeNull();
    expect(run(make('price'), [{ price: null }, { other: 2 }, {}, null, 'text'])).toBeNull();
  });

  it('reads dotted paths', () => {
    expect(run(make('order.total'), [{ order: { total: 4 } }, { order: null }, { order: { total: 4 } }])).toBe(4 * (name === 'sum' ? 2 : 1));
  });

  it('explains what it refuses', () => {
    const check = make('price').check!;
    expect(check({ price: 1.25 })).toBeUndefined();
    expect(check({ price: null })).toBeUndefined();
    expect(check({})).toBeUndefined();
    expect(check({ price: '12.50' })).toBe(`field 'price' must be a number, got string "12.50"`);
    expect(check({ price: 'x'.repeat(100) })).toBe(`field 'price' must be a number, got string "${'x'.repeat(24)}…"`);
    expect(check({ price: true })).toBe(`field 'price' must be a number, got boolean`);
    expect(check({ price: { amount: 1 } })).toBe(`field 'price' must be a number, got object`);
    expect(check({ price: [1] })).toBe(`field 'price' must be a number, got array`);
    expect(check({ price: NaN })).toBe(`field 'price' must be a finite number, got NaN`);
    expect(check({ price: -Infinity })).toBe(`field 'price' must be a finite number, got -Infinity`);
  });

  it('merges without touching the other accumulator', () => {
    const agg = make('price');
    const other = fold(agg, [{ price: 2 }]);
    const merged = agg.merge!(fold(agg, [{ price: 1 }]), other);
    expect(agg.result(merged)).toBe({ sum: 3, avg: 1.5, min: 1, max: 2 }[name]);
    agg.add(merged, { price: 100 });
    expect(agg.result(other)).toBe(2);
    // Merging an empty accumulator either way changes nothing.
    expect(agg.result(agg.merge!(agg.create(), fold(agg, [{ price: 7 }])))).toBe(7);
    expect(agg.result(agg.merge!(fold(agg, [{ price: 7 }]), agg.create()))).toBe(7);
  });

  it('gives identical results however the events are split', () => {
    const agg = make('v');
    const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }), fc.constantFrom(0.1, 0.7, -0, 0));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 50 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), (values, cuts, seed) => {
        const events = values.map((v) => ({ v }));
        const whole = run(agg, events);
        let acc = agg.create();
        for (const chunk of shuffle(split(events, cuts), seed)) acc = agg.merge!(acc, fold(agg, chunk));
        expect(agg.result(acc)).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });

  describe('checkpoints', () => {
    checkpointSuite({ aggregates: [make('v')], events: numericEvents });

    it('keeps -0 through JSON, which writes it as 0', () => {
      const agg = make('v');
      const acc = fold(agg, [{ v: -0 }, { v: -0 }]);
      expect(agg.result(acc)).toBe(-0);
      expect(agg.result(restore(agg, acc))).toBe(-0);
      expect(agg.result(agg.load!(JSON.parse(JSON.stringify(agg.save!(acc)))))).toBe(-0);
    });

    it('refuses saved data of another shape', () => {
      const agg = make('v');
      for (const bad of [null, 3, [], { value: 'x' }, { partials: [1, 'a'], n: 1 }, { partials: [], n: -1 }, { value: NaN }]) {
        expect(() => agg.load!(bad)).toThrow(/saved state of (sum|min|max):v is not/);
      }
    });
  });
});

describe('sum and avg', () => {
  it('are exact', () => {
    const events = Array.from({ length: 10 }, () => ({ x: 0.1 }));
    expect(run(sum('x'), events)).toBe(1);
    expect(run(avg('x'), events)).toBe(0.1);
    expect(run(sum('x'), [{ x: 1e100 }, { x: 1 }, { x: -1e100 }])).toBe(1);
  });

  it('sum of zeros is 0, not null', () => {
    expect(run(sum('x'), [{ x: 0 }])).toBe(0);
  });

  it('share one slot per field', () => {
    expect(sum('x').slot).toBe(avg('x').slot);
    expect(sum('x').slot).not.toBe(sum('y').slot);
  });
});

describe('sum and avg checkpoints', () => {
  it('save the partials and how many values they hold', () => {
    const agg = sum('x');
    const saved = agg.save!(fold(agg, [{ x: 1e100 }, { x: 1 }, { x: null }]));
    expect(saved).toEqual({ partials: [1, 1e100], n: 2 });
    expect(avg('x').load!(saved)).toEqual({ partials: [1, 1e100], n: 2 });
  });

  it('keep an overflowed sum NaN', () => {
    const agg = sum('x');
    const acc = fold(agg, [{ x: Number.MAX_VALUE }, { x: Number.MAX_VALUE }]);
    expect(agg.save!(acc)).toEqual({ partials: [NaN], n: 2 });
    const loaded = restore(agg, acc);
    agg.add(loaded, { x: -Number.MAX_VALUE });
    expect(agg.result(loaded)).toBeNaN();
  });
});

describe('min and max checkpoints', () => {
  it('save the box, with the Infinity that stands for no value', () => {
    expect(min('x').save!(min('x').create())).toEqual({ value: Infinity });
    expect(max('x').save!(fold(max('x'), [{ x: 2 }, { x: -0 }]))).toEqual({ value: 2 });
    expect(min('x').save!(fold(min('x'), [{ x: 0 }, { x: -0 }]))).toEqual({ value: '-0' });
    expect(checkpointRoundTrip(min('x').save!(min('x').create()))).toEqual({ value: Infinity });
    expect(min('x').result(restore(min('x'), min('x').create()))).toBeNull();
  });
});

describe('min and max', () => {
  it('treat -0 and 0 the same way in any order', () => {
    expect(run(min('x'), [{ x: 0 }, { x: -0 }])).toBe(-0);
    expect(run(min('x'), [{ x: -0 }, { x: 0 }])).toBe(-0);
    expect(run(max('x'), [{ x: 0 }, { x: -0 }])).toBe(0);
    expect(run(max('x'), [{ x: -0 }, { x: 0 }])).toBe(0);
  });

  it('accept values near the double limits', () => {
    expect(run(min('x'), [{ x: Number.MAX_VALUE }])).toBe(Number.MAX_VALUE);
    expect(run(max('x'), [{ x: -Number.MAX_VALUE }])).toBe(-Number.MAX_VALUE);
  });
});
