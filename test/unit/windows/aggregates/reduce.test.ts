import { describe, expect, it, vi } from 'vitest';
import { buffered, count, reduce } from '../../../../src/windows/aggregates/index.js';
import { fold, run } from './helpers.js';

interface Click {
  page: string;
}

const clicks: Click[] = [{ page: 'a' }, { page: 'b' }, { page: 'c' }];

describe('reduce', () => {
  it('accepts an add that mutates and returns nothing', () => {
    const pages = reduce({
      create: () => [] as string[],
      add: (acc, e: Click) => {
        acc.push(e.page);
      },
      result: (acc) => acc.join(''),
    });
    expect(run(pages, clicks)).toBe('abc');
    expect(pages.merge).toBeUndefined();
    expect(pages.check).toBeUndefined();
    expect(pages.slot).toBeUndefined();
  });

  it('accepts an add that returns a new accumulator', () => {
    const joined = reduce({ create: () => '', add: (acc: string, e: Click) => acc + e.page, result: (acc) => acc.toUpperCase() });
    expect(run(joined, clicks)).toBe('ABC');
  });

  it('wraps merge in both styles', () => {
    const returning = reduce({ create: () => 0, add: (a: number) => a + 1, merge: (a: number, b: number) => a + b, result: (a) => a });
    expect(returning.merge!(2, 3)).toBe(5);
    const mutating = reduce({
      create: () => ({ n: 0 }),
      add: (a) => {
        a.n++;
      },
      merge: (a, b) => {
        a.n += b.n;
      },
      result: (a) => a.n,
    });
    const into = { n: 2 };
    expect(mutating.merge!(into, { n: 3 })).toBe(into);
    expect(into.n).toBe(5);
  });

  it('passes check through', () => {
    const agg = reduce({
      create: () => 0,
      add: (a: number) => a + 1,
      result: (a) => a,
      check: (e: unknown) => (typeof e === 'object' ? undefined : 'events must be objects'),
    });
    expect(agg.check!({})).toBeUndefined();
    expect(agg.check!(3)).toBe('events must be objects');
  });

  it('keeps `this` for class-based reducers', () => {
    class Tally {
      step = 2;
      create() {
        return 0;
      }
      add(acc: number) {
        return acc + this.step;
      }
      merge(a: number, b: number) {
        return a + b + this.step * 0;
      }
      result(acc: number) {
        return acc * this.step;
      }
    }
    const agg = reduce(new Tally());
    expect(run(agg, [1, 2])).toBe(8);
    expect(agg.merge!(1, 2)).toBe(3);
  });
});

describe('buffered', () => {
  const concat = reduce({ create: () => '', add: (acc: string, e: Click) => acc + e.page, result: (acc) => acc });

  it('keeps events in order and folds them at result time', () => {
    const agg = buffered(concat);
    const acc = fold(agg, clicks);
    expect(acc).toEqual(clicks);
    expect(agg.result(acc)).toBe('abc');
    expect(agg.result(agg.create())).toBe('');
  });

  it('merges by appending the other events after its own, leaving the other untouched', () => {
    const agg = buffered(concat);
    const other = fold(agg, [{ page: 'x' }, { page: 'y' }]);
    const merged = agg.merge(fold(agg, clicks), other);
    expect(agg.result(merged)).toBe('abcxy');
    expect(other).toHaveLength(2);
    expect(agg.result(agg.merge(agg.create(), other))).toBe('xy');
  });

  it('merges large buffers', () => {
    const agg = buffered(count());
    const big = fold(agg, Array.from({ length: 300_000 }, (_, i) => i));
    expect(agg.result(agg.merge(fold(agg, [1]), big))).toBe(300_001);
  });

  it('folds into a fresh accumulator every time', () => {
    const create = vi.fn(() => [] as string[]);
    const agg = buffered(
      reduce({
        create,
        add: (acc, e: Click) => {
          acc.push(e.page);
        },
        result: (acc) => acc.join(''),
      }),
    );
    const acc = fold(agg, clicks);
    expect(agg.result(acc)).toBe('abc');
    expect(agg.result(acc)).toBe('abc');
    expect(create).toHaveBeenCalledTimes(2);
    expect(agg.fold(acc)).toEqual(['a', 'b', 'c']);
    expect(agg.inner).toBe(agg.inner);
  });

  it('keeps the check and slot of the wrapped aggregate', () => {
    const checked = reduce({ create: () => 0, add: (a: number) => a, result: (a) => a, check: () => 'no' });
    expect(buffered(checked).check!({})).toBe('no');
    expect(buffered(count()).slot).toBe('count');
    expect(buffered(checked).slot).toBeUndefined();
  });
});
