/**
 * Differential test: the same inputs through real Apache Flink (1.20, DataStream API) and through
 * Sluice must give the same window results and the same late events.
 *
 * Random cases come from fast-check with a fixed seed; to explore, set SLUICE_FLINK_SEED and
 * SLUICE_FLINK_CASES (their number). Edge cases are written by hand. Flink runs all cases in one JVM
 * (test/support/flink-oracle.ts), one job per case; the first run downloads Flink with Maven, hence
 * the long beforeAll timeout. Without Java or Maven the suite fails, it never skips.
 *
 * Compared per case: the multiset of (key, start, end, revision, count, sum); the sequence of
 * firings of each key and window (Flink runs simultaneous timers in no defined order, Sluice by key
 * then start, so order is only compared within a key and window); the multiset of late events.
 * A failure prints the case as JSON, ready to replay.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/pipeline.js';
import { runPipeline } from '../../src/runtime/run.js';
import { memorySource } from '../../src/ingest/memory/index.js';
import type { Sink } from '../../src/core/connectors.js';
import type { DeadLetter } from '../../src/core/context.js';
import { session, sliding, tumbling, type WindowAssigner } from '../../src/windows/assigners.js';
import { count, sum } from '../../src/windows/aggregates/index.js';
import type { WindowResult } from '../../src/windows/result.js';
import {
  ensureFlinkOracle,
  type OracleCase,
  type OracleCaseOutput,
  type OracleEvent,
  type OracleOutput,
  type OracleResult,
  type OracleWindow,
} from '../support/flink-oracle.js';

const SEED = process.env['SLUICE_FLINK_SEED'] === undefined ? 20_251_122 : Number(process.env['SLUICE_FLINK_SEED']);
const RANDOM_CASES = process.env['SLUICE_FLINK_CASES'] === undefined ? 40 : Number(process.env['SLUICE_FLINK_CASES']);
const FIRST_RUN_TIMEOUT = 10 * 60_000;

// ---------------------------------------------------------------------------------------------
// cases

const KEYS = ['a', 'b', 'c', 'd'] as const;

const windowArb: fc.Arbitrary<OracleWindow> = fc.oneof(
  fc.record({ kind: fc.constant('tumbling' as const), size: fc.integer({ min: 5, max: 40 }) }),
  fc.integer({ min: 10, max: 40 }).chain((size) =>
    fc.oneof(
      // a slide dividing the size: every event is in exactly size / slide windows
      fc.constantFrom(...divisors(size).filter((d) => d >= 2)).map((slide) => ({ kind: 'sliding' as const, size, slide })),
      // any slide up to the size, usually not dividing it
      fc.integer({ min: 2, max: size }).map((slide) => ({ kind: 'sliding' as const, size, slide })),
    ),
  ),
  fc.record({ kind: fc.constant('session' as const), gap: fc.integer({ min: 3, max: 20 }) }),
);

/** Timestamps either uniform over a small range, or a walk that mostly advances and sometimes jumps back. */
const timesArb = (n: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.array(fc.integer({ min: 0, max: 200 }), { minLength: n, maxLength: n }),
    fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.array(fc.integer({ min: -15, max: 12 }), { minLength: n, maxLength: n }))
      .map(([start, steps]) => {
        let t = start;
        return steps.map((step) => (t += step));
      }),
  );

const caseArb: fc.Arbitrary<Omit<OracleCase, 'case'>> = fc
  .record({
    window: windowArb,
    ooo: fc.integer({ min: 0, max: 20 }),
    lateness: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
    keys: fc.integer({ min: 1, max: 4 }),
    n: fc.integer({ min: 0, max: 60 }),
    // one case in five moves every timestamp below zero, at least partly
    shift: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -150, max: -1 }) }),
  })
  .chain(({ window, ooo, lateness, keys, n, shift }) =>
    fc
      .tuple(
        timesArb(n),
        fc.array(fc.integer({ min: 0, max: keys - 1 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: -5, max: 20 }), { minLength: n, maxLength: n }),
      )
      .map(([times, keyIndexes, values]) => ({
        window,
        ooo,
        lateness,
        events: times.map((t, i) => ({ k: KEYS[keyIndexes[i] as number] as string, t: t + shift, v: values[i] as number })),
      })),
  );

const randomCases: OracleCase[] = fc.sample(caseArb, { seed: SEED, numRuns: RANDOM_CASES }).map((c, i) => ({ case: `random-${i}`, ...c }));

function ev(k: string, t: number, v = 1): OracleEvent {
  return { k, t, v };
}

/** Hand-written edges; comments give what Flink does (watermark = max t − ooo − 1). */
const edgeCases: OracleCase[] = [
  {
    // a@10 moves the watermark to 9 = end − 1: [0,10) fires; the second a@9 is then late
    case: 'tumbling: event at end-1, fired at watermark end-1, then dropped',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 0,
    events: [ev('a', 9, 1), ev('a', 10, 2), ev('a', 9, 4), ev('b', 30, 1)],
  },
  {
    // within lateness a@9 re-fires [0,10) as revision 1; at watermark 10 = 9 + 1 it is cleaned up
    case: 'tumbling: event at end-1 re-fires within lateness, dropped at cleanup',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 1,
    events: [ev('a', 9, 1), ev('a', 10, 2), ev('a', 9, 4), ev('a', 11, 1), ev('a', 9, 8)],
  },
  {
    // watermark 14 == max timestamp 9 + lateness 5: cleanup time, so a@4 is late
    case: 'tumbling: event exactly at cleanup time is dropped',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 5,
    events: [ev('a', 3, 1), ev('b', 15, 1), ev('a', 4, 2)],
  },
  {
    // watermark 13 < 9 + 5: a@4 re-fires [0,10) as revision 1
    case: 'tumbling: event one before cleanup time re-fires',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 5,
    events: [ev('a', 3, 1), ev('b', 14, 1), ev('a', 4, 2)],
  },
  {
    // with out-of-orderness 3, a@13 makes the watermark 9 and fires [0,10)
    case: 'tumbling: out-of-orderness shifts the firing',
    window: { kind: 'tumbling', size: 10 },
    ooo: 3,
    lateness: 0,
    events: [ev('a', 5, 1), ev('a', 12, 1), ev('a', 8, 2), ev('a', 13, 1), ev('a', 9, 4), ev('a', 10, 8)],
  },
  {
    case: 'tumbling: negative timestamps align to the epoch',
    window: { kind: 'tumbling', size: 7 },
    ooo: 2,
    lateness: 3,
    events: [ev('a', -1), ev('a', -7), ev('a', -8), ev('b', -15), ev('a', 0), ev('a', -14), ev('b', -22), ev('a', 6), ev('a', -9)],
  },
  {
    // four keys' windows fire on the same watermark
    case: 'tumbling: simultaneous firings across keys',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 10,
    events: [ev('d', 4), ev('b', 2), ev('c', 3), ev('a', 1), ev('a', 25), ev('c', 9), ev('b', 0), ev('a', 40)],
  },
  {
    // a@7 is in [0,10) and [5,15); after watermark 11, a@8 still joins [5,15) and is not late,
    // while a@3 (in [0,10) and [-5,5)) is late for both
    case: 'sliding: late for some windows but not others',
    window: { kind: 'sliding', size: 10, slide: 5 },
    ooo: 0,
    lateness: 0,
    events: [ev('a', 7, 1), ev('a', 12, 2), ev('a', 8, 4), ev('a', 3, 8), ev('a', 30, 16)],
  },
  {
    // size 10, slide 3: a@8 re-fires [3,13) but skips [0,10); a@1 is late everywhere; a@5 re-fires [3,13) again
    case: 'sliding: slide not dividing size, partial lateness',
    window: { kind: 'sliding', size: 10, slide: 3 },
    ooo: 1,
    lateness: 2,
    events: [ev('a', 7, 1), ev('a', 14, 2), ev('a', 8, 4), ev('a', 15, 8), ev('a', 1, 16), ev('a', 5, 32)],
  },
  {
    case: 'sliding: negative timestamps',
    window: { kind: 'sliding', size: 12, slide: 5 },
    ooo: 1,
    lateness: 4,
    events: [ev('a', -3), ev('a', -11), ev('b', -1), ev('a', 2), ev('a', -13), ev('a', -6), ev('b', 9), ev('a', -2)],
  },
  {
    // a@5 is exactly gap after a@0: [0,5) and [5,10) touch and merge; so does a@10; b@16 is gap + 1 after b@10
    case: 'session: events exactly gap apart touch and merge',
    window: { kind: 'session', gap: 5 },
    ooo: 0,
    lateness: 0,
    events: [ev('a', 0, 1), ev('a', 5, 2), ev('a', 10, 4), ev('b', 10, 1), ev('b', 16, 2), ev('a', 100, 8)],
  },
  {
    // [0,5) and [10,15) both fired by watermark 19; a@5 ([5,10)) touches both: [0,15) fires at once;
    // a@7 lies inside [0,15): same bounds, revision 1
    case: 'session: late event bridges two fired sessions within lateness',
    window: { kind: 'session', gap: 5 },
    ooo: 0,
    lateness: 20,
    events: [ev('a', 0, 1), ev('a', 10, 2), ev('a', 20, 4), ev('a', 5, 8), ev('a', 7, 16), ev('a', 60, 32)],
  },
  {
    // a@7's own window [7,10) is past lateness (9 + 10 <= 20) but it touches the live [10,13), so it joins;
    // later a@-1 ([-1,2)) is late once [0,13) was cleaned up at watermark 22
    case: 'session: late on its own but joins a live session',
    window: { kind: 'session', gap: 3 },
    ooo: 0,
    lateness: 10,
    events: [ev('a', 10, 1), ev('a', 21, 2), ev('a', 7, 4), ev('a', 6, 8), ev('a', 3, 16), ev('a', 22, 32), ev('a', 0, 64), ev('a', 23, 128), ev('a', -1, 256)],
  },
  {
    // [0,5) fires and is cleaned up at watermark 7 = 4 + 3; a@2 opens a new [2,7) that fires at once
    case: 'session: new session after cleanup fires at once and keeps merging',
    window: { kind: 'session', gap: 5 },
    ooo: 0,
    lateness: 3,
    events: [ev('a', 0, 1), ev('b', 8, 1), ev('a', 2, 2), ev('a', 1, 4), ev('a', 0, 8), ev('a', -5, 16), ev('a', -20, 32)],
  },
  {
    case: 'session: merges with out-of-orderness before firing',
    window: { kind: 'session', gap: 4 },
    ooo: 10,
    lateness: 0,
    events: [ev('a', 20), ev('a', 10), ev('a', 14), ev('b', 12), ev('a', 30), ev('a', 26), ev('b', 40), ev('a', 17), ev('a', 45)],
  },
  {
    case: 'no events',
    window: { kind: 'tumbling', size: 10 },
    ooo: 0,
    lateness: 0,
    events: [],
  },
];

const allCases: OracleCase[] = [...edgeCases, ...randomCases];

// ---------------------------------------------------------------------------------------------
// Sluice side

interface Observed extends OracleCaseOutput {
  readonly rejected: DeadLetter[];
}

function assignerOf(window: OracleWindow): WindowAssigner {
  switch (window.kind) {
    case 'tumbling':
      return tumbling(window.size);
    case 'sliding':
      return sliding(window.size, window.slide);
    case 'session':
      return session(window.gap);
  }
}

function capture<T>(into: T[]): Sink<T> {
  return {
    description: 'capture',
    write: (records) => {
      into.push(...records);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

async function runSluice(c: OracleCase): Promise<Observed> {
  const definition = definePipeline('oracle', (s) =>
    s
      .parseJson<OracleEvent>()
      .withWatermarks({ time: 't', maxOutOfOrderness: c.ooo })
      .keyBy('k')
      .window({ assign: assignerOf(c.window), aggregate: { count: count(), sum: sum('v') }, allowedLateness: c.lateness }),
  );
  const fired: WindowResult<{ count: number; sum: number | null }>[] = [];
  const late: DeadLetter[] = [];
  const rejected: DeadLetter[] = [];
  await runPipeline({
    definition,
    source: memorySource({ partitions: { p0: c.events.map((e) => JSON.stringify(e)) } }),
    sinks: [capture(fired as unknown[])],
    deadLetter: capture(rejected),
    late: capture(late),
  });
  return {
    results: fired.map((r) => ({
      key: (r.key as { k: string }).k,
      start: r.windowStart,
      end: r.windowEnd,
      revision: r.revision,
      count: r.count,
      sum: r.sum ?? 0,
    })),
    late: late.map((d) => {
      const e = JSON.parse(d.raw ?? 'null') as OracleEvent;
      return { k: e.k, t: e.t, v: e.v };
    }),
    rejected,
  };
}

// ---------------------------------------------------------------------------------------------
// comparison

const resultText = (r: OracleResult): string => `${r.key} [${r.start},${r.end}) rev ${r.revision}: count ${r.count} sum ${r.sum}`;
const eventText = (e: OracleEvent): string => `${e.k}@${e.t} v${e.v}`;
const sorted = (items: string[]): string[] => [...items].sort();

/** Firings per key and window, each in emission order. */
function perWindow(results: readonly OracleResult[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of results) (out[`${r.key} [${r.start},${r.end})`] ??= []).push(resultText(r));
  return out;
}

function explain(c: OracleCase, flink: OracleCaseOutput, sluice: OracleCaseOutput): string {
  return [
    `Sluice differs from Flink on case '${c.case}' (fast-check seed ${SEED}; set SLUICE_FLINK_SEED to change it).`,
    `Replay: ${JSON.stringify(c)}`,
    `Flink:  ${flink.results.map(resultText).join(' | ') || '(no results)'}; late: ${flink.late.map(eventText).join(', ') || 'none'}`,
    `Sluice: ${sluice.results.map(resultText).join(' | ') || '(no results)'}; late: ${sluice.late.map(eventText).join(', ') || 'none'}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

describe('window results match Apache Flink 1.20', () => {
  let flink: OracleOutput;

  beforeAll(async () => {
    const oracle = await ensureFlinkOracle();
    flink = await oracle.run(allCases);
  }, FIRST_RUN_TIMEOUT);

  for (const c of allCases) {
    it(c.case, async () => {
      const expected = flink.get(c.case);
      if (expected === undefined) throw new Error(`the Flink oracle returned nothing for case '${c.case}'`);
      const actual = await runSluice(c);
      const message = explain(c, expected, actual);
      expect(actual.rejected.map((d) => d.reason), message).toEqual([]);
      expect(sorted(actual.results.map(resultText)), message).toEqual(sorted(expected.results.map(resultText)));
      expect(perWindow(actual.results), message).toEqual(perWindow(expected.results));
      expect(sorted(actual.late.map(eventText)), message).toEqual(sorted(expected.late.map(eventText)));
    });
  }

  // A generator too tame to reach the interesting paths would let this suite pass for nothing.
  it('random cases reach late events, late firings, merged sessions and negative times', () => {
    const outputs = randomCases.map((c) => ({ c, out: flink.get(c.case) as OracleCaseOutput }));
    const reached = {
      lateEvents: outputs.filter(({ out }) => out.late.length > 0).length,
      lateFirings: outputs.filter(({ out }) => out.results.some((r) => r.revision > 0)).length,
      mergedSessions: outputs.filter(({ c, out }) => out.results.some((r) => c.window.kind === 'session' && r.end - r.start > c.window.gap)).length,
      touchingSessions: randomCases.filter((c) => c.window.kind === 'session' && touches(c.events, c.window.gap)).length,
      slidingNotDividing: randomCases.filter((c) => c.window.kind === 'sliding' && c.window.size % c.window.slide !== 0).length,
      negativeTimes: randomCases.filter((c) => c.events.some((e) => e.t < 0)).length,
    };
    for (const [what, cases] of Object.entries(reached)) expect(cases, `${what} (seed ${SEED})`).toBeGreaterThan(0);
  });
});

function touches(events: readonly OracleEvent[], gap: number): boolean {
  return events.some((a, i) => events.some((b, j) => i !== j && a.k === b.k && b.t - a.t === gap));
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}
