import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { buffered, count, reduce, type Reducer } from '../../../../src/windows/aggregates/index.js';
import { checkpointSuite } from './checkpoint-suite.js';
import { checkpointRoundTrip, fold, restore, run } from './helpers.js';

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

const clickEvents = fc.array(fc.record({ page: fc.constantFrom('a', 'b', 'c', 'd', '', '1') }), { maxLength: 30 });

/** Plain data, updated in place, with a NaN and ±Infinity among its numbers. */
interface Tally {
  n: number;
  pages: string[];
  low: number;
  high: number;
  ratio: number;
}

const tally: Reducer<Tally, unknown, Click> = {
  create: () => ({ n: 0, pages: [], low: Infinity, high: -Infinity, ratio: NaN }),
  add: (acc, e) => {
    acc.n++;
    acc.pages.push(e.page);
    acc.low = Math.min(acc.low, e.page.length);
    acc.high = Math.max(acc.high, e.page.length);
    acc.ratio = acc.high / acc.low;
  },
  merge: (into, other) => {
    into.n += other.n;
    into.pages.push(...other.pages);
    into.low = Math.min(into.low, other.low);
    into.high = Math.max(into.high, other.high);
    into.ratio = into.high / into.low;
  },
  result: (acc) => ({ ...acc, pages: [...acc.pages].sort().join('') }),
};

/** A Set, which is not plain data: saved as a sorted array. */
const pageSet = (): Reducer<Set<string>, string, Click> => ({
  create: () => new Set(),
  add: (acc, e) => {
    acc.add(e.page);
  },
  merge: (into, other) => {
    for (const page of other) into.add(page);
  },
  result: (acc) => [...acc].sort().join(','),
  save: (acc) => [...acc].sort(),
  load: (saved) => new Set(saved as string[]),
});

describe('reduce checkpoints', () => {
  describe('of a plain-data accumulator', () => {
    checkpointSuite({ aggregates: [reduce(tally)], events: clickEvents });
  });

  describe('with save and load', () => {
    checkpointSuite({ aggregates: [reduce(pageSet())], events: clickEvents });
  });

  describe('without merge', () => {
    checkpointSuite({ aggregates: [reduce({ create: () => '', add: (acc: string, e: Click) => acc + e.page, result: (acc) => acc })], events: clickEvents });
  });

  it('saves plain data as it is, and what save returns', () => {
    expect(reduce(tally).save!(fold(reduce(tally), [{ page: 'ab' }]))).toEqual({ n: 1, pages: ['ab'], low: 2, high: 2, ratio: 1 });
    expect(reduce(pageSet()).save!(new Set(['b', 'a']))).toEqual(['a', 'b']);
  });

  it('copies what save returns and what load gets', () => {
    const pages: Reducer<{ pages: string[] }, string, Click> = {
      create: () => ({ pages: [] }),
      add: (acc, e) => {
        acc.pages.push(e.page);
      },
      result: (acc) => acc.pages.join(''),
      // Both hand out the very array they were given: Sluice must not keep it shared.
      save: (acc) => acc.pages,
      load: (saved) => ({ pages: saved as string[] }),
    };
    const agg = reduce(pages);
    const acc = fold(agg, clicks);
    const saved = agg.save!(acc);
    agg.add(acc, { page: 'd' });
    expect(saved).toEqual(['a', 'b', 'c']);
    const loaded = agg.load!(saved);
    agg.add(loaded, { page: 'x' });
    expect(saved).toEqual(['a', 'b', 'c']);
    expect(agg.result(agg.load!(saved))).toBe('abc');
  });

  it('keeps `this` for the save and load of class-based reducers', () => {
    class Pages {
      separator = '|';
      create() {
        return [] as string[];
      }
      add(acc: string[], e: Click) {
        acc.push(e.page);
      }
      result(acc: string[]) {
        return acc.join('');
      }
      save(acc: string[]) {
        return acc.join(this.separator);
      }
      load(saved: unknown) {
        return (saved as string).split(this.separator);
      }
    }
    const agg = reduce(new Pages());
    const acc = fold(agg, clicks);
    expect(agg.save!(acc)).toBe('a|b|c');
    expect(agg.result(restore(agg, acc))).toBe('abc');
  });

  it('wants both save and load, or neither', () => {
    const base = { create: () => new Set<string>(), add: () => undefined, result: () => 0 };
    expect(() => reduce({ ...base, save: (acc: Set<string>) => [...acc] })).toThrow(UserError);
    expect(() => reduce({ ...base, save: (acc: Set<string>) => [...acc] })).toThrow('reduce: give the reducer both save and load, or neither (it has only save)');
    expect(() => reduce({ ...base, load: () => new Set<string>() })).toThrow('(it has only load)');
  });

  it('refuses to save an accumulator that is not plain data, naming what is not', () => {
    const saveOf = (acc: unknown) => reduce({ create: () => acc, add: () => undefined, result: () => 0 }).save!(acc);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { back: cyclic };
    const cases: [unknown, string][] = [
      [new Set([1]), 'it is a Set'],
      [{ users: new Map() }, 'acc.users is a Map'],
      [{ when: new Date(0) }, 'acc.when is a Date'],
      [[1, undefined], 'acc[1] is undefined'],
      [[1, , 3], 'acc[1] is undefined'], // eslint-disable-line no-sparse-arrays
      [{ f: () => 1 }, 'acc.f is a function'],
      [{ big: 1n }, 'acc.big is a bigint'],
      [cyclic, 'acc.self.back is a cycle'],
      [Object.create({ inherited: 1 }) as unknown, 'it is not a plain object'],
    ];
    for (const [acc, where] of cases) {
      let error: unknown;
      try {
        saveOf(acc);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe(ErrorCode.BAD_DEFINITION);
      expect((error as UserError).message).toBe(
        `the accumulator of a reducer without save is not plain JSON data (${where}), so it cannot be checkpointed; give it save and load`,
      );
    }
  });

  it('refuses a save that returns what is not plain data', () => {
    const agg = reduce({ create: () => new Set<string>(), add: () => undefined, result: () => 0, save: (acc: Set<string>) => ({ pages: acc }), load: () => new Set<string>() });
    expect(() => agg.save!(new Set())).toThrow(
      'what the save of a reducer returns is not plain JSON data (acc.pages is a Set), so it cannot be checkpointed; save must return plain JSON data',
    );
  });

  it('saves what JSON keeps: undefined properties dropped, "__proto__" kept as a field, shared parts copied apart', () => {
    const shared = { x: 1 };
    const acc = JSON.parse('{"__proto__": {"p": 1}, "gone": null}') as Record<string, unknown>;
    acc['gone'] = undefined;
    acc['a'] = shared;
    acc['b'] = shared;
    const saved = reduce({ create: () => acc, add: () => undefined, result: () => 0 }).save!(acc) as Record<string, unknown>;
    expect(Object.keys(saved)).toEqual(['__proto__', 'a', 'b']);
    expect(Object.getPrototypeOf(saved)).toBe(Object.prototype);
    expect(saved['a']).toEqual(shared);
    expect(saved['a']).not.toBe(saved['b']);
  });
});

describe('buffered checkpoints', () => {
  const concat = reduce({ create: () => '', add: (acc: string, e: Click) => acc + e.page, result: (acc) => acc });
  checkpointSuite({ aggregates: [buffered(concat)], events: clickEvents });

  it('saves the raw events, whatever the wrapped reducer keeps', () => {
    const agg = buffered(reduce(pageSet()));
    const acc = fold(agg, clicks);
    const saved = agg.save(acc);
    expect(saved).toEqual(clicks);
    expect(saved).not.toBe(acc);
    const loaded = agg.load(checkpointRoundTrip(saved));
    expect(agg.result(agg.merge(loaded, fold(agg, [{ page: 'z' }])))).toBe('a,b,c,z');
    expect(() => agg.load({ events: [] })).toThrow(/saved state of buffered events is not an array/);
  });
});

