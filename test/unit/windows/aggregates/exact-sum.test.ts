import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addExact, type ExactSum, exactValue, mergeExact } from '../../../../src/windows/aggregates/index.js';
import { shuffle, split } from './helpers.js';

function fsum(values: readonly number[]): number {
  const partials: ExactSum = [];
  for (const v of values) addExact(partials, v);
  return exactValue(partials);
}

function fromHex(mantissaHex: string, exponent: number, negative = false): number {
  // mantissaHex is "1" followed by 13 hex digits: a 53-bit integer, exact as a double.
  const value = parseInt(mantissaHex, 16) * 2 ** (exponent - 52);
  return negative ? -value : value;
}

/** A double as an exact integer count of 2^-1074 units. */
function units(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  if (exponent !== 0) mantissa |= 1n << 52n;
  const value = mantissa << BigInt(Math.max(exponent, 1) - 1);
  return bits >> 63n ? -value : value;
}

/** Reference: the exact sum with BigInt, rounded once by Number()'s correctly rounded decimal parsing. */
function referenceSum(values: readonly number[]): number {
  const total = values.reduce((acc, v) => acc + units(v), 0n);
  if (total === 0n) return 0;
  const negative = total < 0n;
  const digits = ((negative ? -total : total) * 5n ** 1074n).toString().padStart(1075, '0');
  const text = `${digits.slice(0, -1074)}.${digits.slice(-1074)}`;
  return negative ? -Number(text) : Number(text);
}

const double = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 });
const mixed = fc.oneof(
  double,
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 100),
  fc.double({ noNaN: true, min: -1, max: 1 }),
  fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 2 ** 53, 1e-16, 5e-324, -0),
);

describe('exact sum', () => {
  it('gets the classic hard cases right', () => {
    expect(fsum([1e100, 1, -1e100])).toBe(1);
    expect(fsum(Array<number>(10).fill(0.1))).toBe(1);
    expect(Array<number>(10).fill(0.1).reduce((a, b) => a + b)).not.toBe(1); // why exactness matters
    expect(fsum([0.1, 0.2, 0.3])).toBe(0.6);
    expect(fsum([0.1, 0.2, -0.3])).toBe(2.7755575615628914e-17);
    expect(fsum([])).toBe(0);
    expect(fsum([0])).toBe(0);
    expect(fsum([-0])).toBe(-0);
    expect(fsum([-0, -0])).toBe(-0);
    expect(fsum([-0, 0])).toBe(0);
    expect(fsum([0, -0])).toBe(0);
    expect(fsum([1, -1])).toBe(0);
  });

  // CPython's test_math.testFsum cases
  it.each<[string, number[], number]>([
    ['cancellation down to a tiny value', [1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50], 1e-100],
    ['round down below 2^53', [2 ** 53, -0.5, -(2 ** -54)], 2 ** 53 - 1],
    ['tiny tail breaks a tie upward', [2 ** 53, 1, 2 ** -100], 2 ** 53 + 2],
    ['tie upward after a larger start', [2 ** 53 + 10, 1, 2 ** -100], 2 ** 53 + 12],
    ['tie below 2^53', [2 ** 53 - 4, 0.5, 2 ** -54], 2 ** 53 - 3],
    ['half-even across partials', [1e16, 1, 1e-16], 10000000000000002],
    ['exact zero', [1e16 - 2, 1 - 2 ** -53, -(1e16 - 2), -(1 - 2 ** -53)], 0],
    ['harmonic series', Array.from({ length: 1000 }, (_, i) => 1 / (i + 1)), fromHex('1df11f45f4e61a', 2)],
    ['alternating harmonic', Array.from({ length: 1000 }, (_, i) => (-1) ** (i + 1) / (i + 1)), fromHex('162a2af1bd3624', -1, true)],
    [
      'full exponent range',
      [...Array.from({ length: 1023 }, (_, k) => -1074 + 2 * k).map((n) => 2 ** n - 2 ** (n + 50) + 2 ** (n + 52)), -(2 ** 1022)],
      fromHex('15555555555555', 970),
    ],
  ])('%s', (_name, values, expected) => {
    expect(fsum(values)).toBe(expected);
    expect(fsum([...values].reverse())).toBe(expected);
  });

  it('matches a BigInt reference on random inputs', () => {
    fc.assert(
      fc.property(fc.array(mixed, { maxLength: 60 }), (values) => {
        const expected = referenceSum(values);
        const actual = fsum(values);
        if (expected === 0) expect(actual === 0).toBe(true);
        else expect(actual).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('gives bit-identical sums however the values are split and merged', () => {
    fc.assert(
      fc.property(
        fc.array(mixed, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.nat(),
        fc.nat(),
        (values, cuts, orderSeed, valueSeed) => {
          const whole = fsum(values);
          const chunks = split(shuffle(values, valueSeed), cuts).map((chunk) => {
            const partials: ExactSum = [];
            for (const v of chunk) addExact(partials, v);
            return partials;
          });
          const merged: ExactSum = [];
          for (const chunk of shuffle(chunks, orderSeed)) mergeExact(merged, chunk);
          expect(exactValue(merged)).toBe(whole);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('leaves the merged-in partials untouched', () => {
    const into = [1e100];
    const other: ExactSum = [];
    addExact(other, 1);
    addExact(other, 1e-30);
    const before = [...other];
    mergeExact(into, other);
    expect(other).toEqual(before);
    expect(exactValue(into)).toBe(1e100);
  });

  it('keeps the partials list short', () => {
    const partials: ExactSum = [];
    for (let i = 0; i < 10_000; i++) addExact(partials, (i % 7) * 0.1 - 0.25);
    expect(partials.length).toBeLessThan(5);
  });

  it('turns a running total that overflows into a sticky NaN instead of growing', () => {
    const partials: ExactSum = [];
    addExact(partials, 1e308);
    addExact(partials, 1e308);
    expect(partials).toEqual([NaN]);
    addExact(partials, -1e308);
    addExact(partials, 5);
    expect(partials.length).toBe(1);
    expect(exactValue(partials)).toBeNaN();
    const other = [3];
    mergeExact(other, partials);
    expect(exactValue(other)).toBeNaN();
    // Within range, large values still cancel exactly.
    expect(fsum([1e308, -1e308, 1e308, 1])).toBe(1e308);
  });
});
