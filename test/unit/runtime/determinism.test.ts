import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { definePipeline } from '../../../src/pipeline.js';
import { session, sliding, tumbling, type WindowAssigner } from '../../../src/windows/assigners.js';
import { count, distinct, max, p95, sum } from '../../../src/windows/aggregates/index.js';
import { runMemory } from '../../support/run-memory.js';
import type { DeadLetter } from '../../../src/core/context.js';

// The invariant: for one partition, the sequence of window results is a pure function of the
// partition's event sequence — batch boundaries do not change a byte of it.

const assigners: WindowAssigner[] = [tumbling(10), sliding(20, 5), sliding(15, 4), session(7)];

const eventArb = fc.record({
  k: fc.constantFrom('a', 'b', 'c'),
  t: fc.integer({ min: -20, max: 300 }),
  v: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })),
});

const lineArb = fc.oneof(
  { weight: 20, arbitrary: eventArb.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: fc.constant('{not json') },
  { weight: 1, arbitrary: fc.constant('{"k":"a"}') },
  { weight: 1, arbitrary: fc.constant('{"k":"b","t":5,"v":"x"}') },
);

function byLine(entries: readonly DeadLetter[]): DeadLetter[] {
  return [...entries].sort((a, b) => Number(a.position['line']) - Number(b.position['line']));
}

function pipelineFor(assigner: WindowAssigner, ooo: number, lateness: number) {
  return definePipeline('prop', (s) =>
    s
      .parseJson()
      .withWatermarks({ time: 't', maxOutOfOrderness: ooo })
      .keyBy('k')
      .window({ assign: assigner, aggregate: { n: count(), s: sum('v'), hi: max('v'), d: distinct('v'), p: p95('v') }, allowedLateness: lateness }),
  );
}

function unstamped(entries: readonly DeadLetter[]): DeadLetter[] {
  return entries.map(({ at, ...entry }) => {
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    return entry;
  });
}

describe('determinism under re-batching', () => {
  it('gives byte-identical results and late events, and the same dead letters, for every batching', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 0, maxLength: 80 }),
        fc.constantFrom(...assigners),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 25 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 6 }),
        async (lines, assigner, ooo, lateness, sizes) => {
          const definition = pipelineFor(assigner, ooo, lateness);
          const whole = await runMemory(definition, { p0: lines });
          const rebatched = await runMemory(definition, { p0: lines }, { batchSizes: () => sizes });
          expect(rebatched.results).toEqual(whole.results);
          // `at` is when an entry was written: wall-clock time, the one thing that may differ
          expect(unstamped(rebatched.late)).toEqual(unstamped(whole.late));
          // different stages reject at different times within a batch, so only the set is fixed
          expect(byLine(unstamped(rebatched.deadLetters))).toEqual(byLine(unstamped(whole.deadLetters)));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('combining partitions', () => {
  /** Sorted events split over partitions in order: no event is late anywhere. */
  const sortedSplit = fc
    .array(eventArb, { minLength: 1, maxLength: 60 })
    .chain((events) =>
      fc.tuple(
        fc.constant([...events].sort((a, b) => a.t - b.t)),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: events.length, maxLength: events.length }),
      ),
    );

  it('gives the same bytes as one partition holding all events, for every window kind', async () => {
    await fc.assert(
      fc.asyncProperty(sortedSplit, fc.constantFrom(...assigners), async ([events, owners], assigner) => {
        const definition = definePipeline('combine', (s) =>
          s
            .parseJson()
            .withWatermarks({ time: 't' })
            .keyBy('k')
            .window({ assign: assigner, aggregate: { n: count(), s: sum('v'), p: p95('v'), d: distinct('v') } }),
        );
        const lines = events.map((e) => JSON.stringify(e));
        const parts: Record<string, string[]> = { p0: [], p1: [], p2: [] };
        lines.forEach((line, i) => parts[`p${owners[i] ?? 0}`]?.push(line));
        const single = await runMemory(definition, { all: lines });
        const split = await runMemory(definition, parts, { batchSizes: () => [3] });
        expect(single.late).toEqual([]);
        expect(split.late).toEqual([]);
        expect(split.results).toEqual(single.results);
      }),
      { numRuns: 120 },
    );
  });

  it('keeps one result per partition, with the partition in its id, when asked', async () => {
    const definition = definePipeline('pp', (s) =>
      s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling(10), aggregate: { n: count() } }),
    );
    const partitions = { x: ['{"k":"a","t":1}', '{"k":"a","t":2}'], y: ['{"k":"a","t":3}'] };
    const combined = await runMemory(definition, partitions);
    const perPartition = await runMemory(definition, partitions, { perPartition: true });
    const c = combined.results.map((l) => JSON.parse(l) as Record<string, unknown>);
    const pp = perPartition.results.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(c.map((r) => [r['key'], r['n'], r['partition']])).toEqual([[{ k: 'a' }, 3, undefined]]);
    expect(pp.map((r) => [r['partition'], r['n']]).sort()).toEqual([
      ['x', 2],
      ['y', 1],
    ]);
    expect(new Set(pp.map((r) => r['id'])).size).toBe(2);
    expect(pp.map((r) => r['id'])).not.toContain(c[0]?.['id']);
  });
});

describe('keyed results (consumer groups)', () => {
  const definition = definePipeline('kd', (s) =>
    s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling(10), aggregate: { n: count() } }),
  );

  it('gives the combined results, ids and all, when every key lives in one partition', async () => {
    const partitions = { x: ['{"k":"a","t":1}', '{"k":"a","t":12}', '{"k":"a","t":25}'], y: ['{"k":"b","t":3}', '{"k":"b","t":4}', '{"k":"b","t":30}'] };
    const combined = await runMemory(definition, partitions);
    const keyed = await runMemory(definition, partitions, { results: 'keyed' });
    expect([...keyed.results].sort()).toEqual([...combined.results].sort());
    expect(keyed.summary.counters['split_keys'] ?? 0).toBe(0);
  });

  it('counts a key that shows up in two partitions: its results would share an id', async () => {
    const partitions = { x: ['{"k":"a","t":1}', '{"k":"a","t":20}'], y: ['{"k":"a","t":3}', '{"k":"a","t":21}'] };
    const keyed = await runMemory(definition, partitions, { results: 'keyed' });
    expect(keyed.summary.counters['split_keys']).toBeGreaterThan(0);
    expect(keyed.results.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([1, 1, 1, 1]);
  });
});

describe('combining sessions across partitions (regressions)', () => {
  it('keeps a due session that waits for a touching session of another partition', async () => {
    // p1's session [195,202) is due at watermark 201 but p0 still holds [202,209), which touches
    // it; the combined session must wait and merge, not be cleaned up unfired
    const definition = definePipeline('s', (s) =>
      s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: session(7), aggregate: { n: count() } }),
    );
    const e = (t: number): string => JSON.stringify({ k: 'a', t, v: 0 });
    const run = await runMemory(definition, { p0: [e(0), e(0), e(0), e(202)], p1: [e(0), e(0), e(195)], p2: [e(0)] }, { batchSizes: () => [3] });
    expect(run.results.map((l) => JSON.parse(l) as { windowStart: number; windowEnd: number; n: number }).map((r) => [r.windowStart, r.windowEnd, r.n])).toEqual([
      [0, 7, 6],
      [195, 209, 2],
    ]);
  });
});
