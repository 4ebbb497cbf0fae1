import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Aggregate } from '../../../../src/windows/aggregates/index.js';
import { checkpointRoundTrip, fold, restore } from './helpers.js';

/** What {@link checkpointSuite} exercises. */
export interface CheckpointCase<A> {
  /**
   * Aggregates of one slot: the first creates, adds, merges, saves and loads, and the results
   * of all of them are compared (several percentiles read one sketch).
   */
  readonly aggregates: readonly [Aggregate<A, unknown>, ...Aggregate<A, unknown>[]];
  readonly events: fc.Arbitrary<unknown[]>;
  readonly numRuns?: number;
}

function saveOf<A>(aggregate: Aggregate<A, unknown>, acc: A): unknown {
  return aggregate.save ? aggregate.save(acc) : acc;
}

function loadOf<A>(aggregate: Aggregate<A, unknown>, saved: unknown): A {
  return aggregate.load ? aggregate.load(saved) : (saved as A);
}

/**
 * The checkpoint properties every aggregate must have, as `it` blocks of the calling `describe`.
 * Results are compared with `toEqual`, which tells -0 from 0 and takes NaN as equal to NaN.
 */
export function checkpointSuite<A>(c: CheckpointCase<A>): void {
  const agg = c.aggregates[0];
  const results = (acc: A) => c.aggregates.map((a) => a.result(acc));
  const addAll = (acc: A, events: readonly unknown[]) => {
    for (const event of events) acc = agg.add(acc, event);
    return acc;
  };
  const numRuns = c.numRuns ?? 200;

  it('resumes from a checkpoint with the results of an uninterrupted run', () => {
    fc.assert(
      fc.property(c.events, fc.nat(), (events, cut) => {
        const at = cut % (events.length + 1);
        const acc = addAll(restore(agg, fold(agg, events.slice(0, at))), events.slice(at));
        expect(results(acc)).toEqual(results(fold(agg, events)));
      }),
      { numRuns },
    );
  });

  it('saves a loaded accumulator as it was saved', () => {
    fc.assert(
      fc.property(c.events, (events) => {
        const saved = checkpointRoundTrip(saveOf(agg, fold(agg, events)));
        expect(checkpointRoundTrip(saveOf(agg, loadOf(agg, saved)))).toEqual(saved);
      }),
      { numRuns },
    );
  });

  if (agg.merge) {
    const merge = agg.merge.bind(agg);
    it('merges loaded accumulators as it merges the saved ones, leaving the other untouched', () => {
      fc.assert(
        fc.property(c.events, fc.nat(), (events, cut) => {
          const at = cut % (events.length + 1);
          const first = events.slice(0, at);
          const second = events.slice(at);
          const expected = results(merge(fold(agg, first), fold(agg, second)));
          expect(results(merge(restore(agg, fold(agg, first)), restore(agg, fold(agg, second))))).toEqual(expected);
          expect(results(merge(fold(agg, first), restore(agg, fold(agg, second))))).toEqual(expected);
          expect(results(merge(restore(agg, fold(agg, first)), fold(agg, second)))).toEqual(expected);
          const other = restore(agg, fold(agg, second));
          const before = results(other);
          const fresh = merge(agg.create(), other);
          expect(results(fresh)).toEqual(before);
          addAll(merge(fresh, restore(agg, fold(agg, first))), first);
          expect(results(other)).toEqual(before);
        }),
        { numRuns },
      );
    });
  }

  it('loads a copy that shares nothing with the saved accumulator or the saved data', () => {
    fc.assert(
      fc.property(c.events, c.events, c.events, (start, more, other) => {
        let acc = fold(agg, start);
        const saved = saveOf(agg, acc);
        const text = JSON.stringify(checkpointRoundTrip(saved));
        let loaded = loadOf(agg, saved);
        const again = loadOf(agg, saved);
        loaded = addAll(loaded, more);
        expect(results(acc)).toEqual(results(fold(agg, start)));
        acc = addAll(acc, other);
        expect(results(loaded)).toEqual(results(fold(agg, [...start, ...more])));
        expect(results(again)).toEqual(results(fold(agg, start)));
        // The saved data is a snapshot: the accumulator went on without changing it.
        expect(JSON.stringify(checkpointRoundTrip(saved))).toBe(text);
      }),
      { numRuns: Math.ceil(numRuns / 2) },
    );
  });
}
