import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../../src/pipeline.js';
import { session, tumbling } from '../../../src/windows/assigners.js';
import { reduce } from '../../../src/windows/aggregates/index.js';
import { runMemory } from '../../support/run-memory.js';

interface Ev {
  k: string;
  t: number;
  v: string;
}

/** Concatenates values: order-sensitive, and deliberately without merge. */
const trail = () =>
  reduce<string[], string, Ev>({
    create: () => [],
    add: (acc, e) => {
      acc.push(e.v);
      return acc;
    },
    result: (acc) => acc.join(''),
  });

/** The same with merge: merging reducers keep their accumulator instead of the events. */
const mergingTrail = () =>
  reduce<string[], string, Ev>({
    create: () => [],
    add: (acc, e) => {
      acc.push(e.v);
      return acc;
    },
    merge: (into, other) => {
      into.push(...other);
      return into;
    },
    result: (acc) => [...acc].sort().join(''),
  });

const lines = (events: Ev[]): string[] => events.map((e) => JSON.stringify(e));

describe('user reducers in windows', () => {
  it('work in merging session windows without a merge of their own (events are folded at firing)', async () => {
    const definition = definePipeline('r', (s) =>
      s.parseJson<Ev>().withWatermarks({ time: 't', maxOutOfOrderness: 100 }).keyBy('k').window({ assign: session(10), aggregate: { trail: trail() } }),
    );
    // a@0 and a@30 are separate sessions until a@10 and a@20 bridge them (touching merges)
    const run = await runMemory(definition, { p: lines([{ k: 'a', t: 0, v: 'w' }, { k: 'a', t: 30, v: 'z' }, { k: 'a', t: 10, v: 'x' }, { k: 'a', t: 20, v: 'y' }]) });
    const results = run.results.map((l) => JSON.parse(l) as { windowStart: number; windowEnd: number; trail: string });
    expect(results.map((r) => [r.windowStart, r.windowEnd, r.trail])).toEqual([[0, 40, 'wxzy']]);
  });

  it('combine across partitions without a merge, folding partitions in a fixed order', async () => {
    const definition = definePipeline('r', (s) =>
      s.parseJson<Ev>().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling(10), aggregate: { trail: trail() } }),
    );
    const partitions = { p2: lines([{ k: 'a', t: 1, v: 'c' }]), p1: lines([{ k: 'a', t: 2, v: 'a' }, { k: 'a', t: 3, v: 'b' }]) };
    const run = await runMemory(definition, partitions);
    expect(run.results.map((l) => (JSON.parse(l) as { trail: string }).trail)).toEqual(['abc']);
  });

  it('use their own merge when they have one', async () => {
    const definition = definePipeline('r', (s) =>
      s.parseJson<Ev>().withWatermarks({ time: 't', maxOutOfOrderness: 100 }).keyBy('k').window({ assign: session(10), aggregate: { trail: mergingTrail() } }),
    );
    const run = await runMemory(definition, { p: lines([{ k: 'a', t: 0, v: 'q' }, { k: 'a', t: 20, v: 'p' }, { k: 'a', t: 10, v: 'r' }]) });
    expect(run.results.map((l) => (JSON.parse(l) as { trail: string }).trail)).toEqual(['pqr']);
  });
});
