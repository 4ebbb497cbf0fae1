import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, results, scratch, sluice, summaryOf, writeJsonl } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const AGG = 'count,sum:v,min:v,max:v,avg:v,distinct:u';

/**
 * Ten events, two keys, 5 s of allowed out-of-orderness. The sixth event (a@8000) arrives after
 * b@10000 but within 5 s of it, so it is on time for [0, 10s).
 */
const EVENTS = [
  { k: 'a', t: 1000, v: 5, u: 'x' },
  { k: 'b', t: 2000, v: 1, u: 'x' },
  { k: 'a', t: 3000, v: 7, u: 'y' },
  { k: 'a', t: 9999, v: -2, u: 'x' },
  { k: 'b', t: 10000, v: 4, u: 'z' },
  { k: 'a', t: 8000, v: 3, u: 'w' },
  { k: 'a', t: 12000, v: 10, u: 'z' },
  { k: 'b', t: 15500, v: 2.5, u: 'x' },
  { k: 'b', t: 19999, v: 0.5, u: 'x' },
  { k: 'a', t: 20000, v: 1, u: 'y' },
];

/**
 * Worked out by hand. a [0,10s): v 5, 7, -2, 3 (sum 13, avg 3.25), users x, y, w. b [0,10s): v 1.
 * a [10s,20s): v 10. b [10s,20s): v 4, 2.5, 0.5 (sum 7, avg 7/3), users z, x. a [20s,30s): v 1.
 * Windows fire in order of end, then key; the id is left out here and checked separately.
 */
const GOLDEN = [
  '{"key":{"k":"a"},"windowStart":0,"windowEnd":10000,"revision":0,"count":4,"sum_v":13,"min_v":-2,"max_v":7,"avg_v":3.25,"distinct_u":3}',
  '{"key":{"k":"b"},"windowStart":0,"windowEnd":10000,"revision":0,"count":1,"sum_v":1,"min_v":1,"max_v":1,"avg_v":1,"distinct_u":1}',
  '{"key":{"k":"a"},"windowStart":10000,"windowEnd":20000,"revision":0,"count":1,"sum_v":10,"min_v":10,"max_v":10,"avg_v":10,"distinct_u":1}',
  '{"key":{"k":"b"},"windowStart":10000,"windowEnd":20000,"revision":0,"count":3,"sum_v":7,"min_v":0.5,"max_v":4,"avg_v":2.3333333333333335,"distinct_u":2}',
  '{"key":{"k":"a"},"windowStart":20000,"windowEnd":30000,"revision":0,"count":1,"sum_v":1,"min_v":1,"max_v":1,"avg_v":1,"distinct_u":1}',
];

const ID = /^\{"id":"([0-9a-f]{32})",/;

function aggregateArgs(source: string, extra: string[] = []): string[] {
  return ['aggregate', '--source', `file:${source}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', AGG, '--max-out-of-orderness', '5s', ...extra];
}

/** Each stdout line split into its id and the rest, written as the line would be without the id. */
function splitIds(lines: readonly string[]): { ids: string[]; rest: string[] } {
  const ids: string[] = [];
  const rest: string[] = [];
  for (const line of lines) {
    const m = ID.exec(line);
    expect(m, `line does not start with a 32-hex id: ${line}`).not.toBeNull();
    ids.push((m as RegExpExecArray)[1] as string);
    rest.push('{' + line.slice((m as RegExpExecArray)[0].length));
  }
  return { ids, rest };
}

describe('sluice aggregate: golden output', () => {
  it('prints exactly the hand-computed results, fields in order id, key, windowStart, windowEnd, revision, then the aggregates in --agg order', async () => {
    const input = await writeJsonl(join(dir, 'golden.jsonl'), EVENTS);
    const result = await sluice(aggregateArgs(input));
    expect(result.code).toBe(0);
    const { ids, rest } = splitIds(result.outLines);
    expect(rest).toEqual(GOLDEN);
    expect(new Set(ids).size).toBe(GOLDEN.length);
    expect(summaryOf(result)).toEqual({ eventsIn: 10, resultsOut: 5, late: 0, deadLettered: 0 });
  });

  it('gives the same id to the same key and window on every run, and other ids under another --name', async () => {
    const input = await writeJsonl(join(dir, 'ids.jsonl'), EVENTS);
    const [first, second, other] = await Promise.all([sluice(aggregateArgs(input)), sluice(aggregateArgs(input)), sluice(aggregateArgs(input, ['--name', 'other']))]);
    const a = splitIds(first.outLines);
    const b = splitIds(second.outLines);
    const c = splitIds(other.outLines);
    expect(b.ids).toEqual(a.ids);
    expect(second.stdout).toBe(first.stdout);
    // the name changes the ids and nothing else
    expect(c.rest).toEqual(a.rest);
    for (let i = 0; i < a.ids.length; i++) expect(c.ids[i]).not.toBe(a.ids[i]);
  });

  it('reads the time field as ISO-8601 text or as epoch ms with identical results', async () => {
    const epoch = await writeJsonl(join(dir, 'epoch.jsonl'), EVENTS);
    const iso = await writeJsonl(
      join(dir, 'iso.jsonl'),
      EVENTS.map((e) => ({ ...e, t: new Date(e.t).toISOString() })),
    );
    const [fromEpoch, fromIso] = await Promise.all([sluice(aggregateArgs(epoch)), sluice(aggregateArgs(iso))]);
    expect(fromEpoch.code).toBe(0);
    expect(fromIso.code).toBe(0);
    expect(fromIso.stdout).toBe(fromEpoch.stdout);
    expect(fromIso.outLines).toHaveLength(GOLDEN.length);
  });
});

describe('sluice aggregate: several files', () => {
  it('--per-partition keeps one result per file, with its partition; without it, one combined result per key and window', async () => {
    const sub = join(dir, 'two');
    await mkdir(sub);
    const p1 = await writeJsonl(join(sub, 'p1.jsonl'), [
      { k: 'a', t: 1000, v: 1, u: 'x' },
      { k: 'a', t: 2000, v: 2, u: 'y' },
      { k: 'b', t: 3000, v: 5, u: 'x' },
    ]);
    const p2 = await writeJsonl(join(sub, 'p2.jsonl'), [
      { k: 'a', t: 1500, v: 10, u: 'x' },
      { k: 'a', t: 2500, v: 20, u: 'z' },
      { k: 'a', t: 9000, v: 30, u: 'z' },
    ]);
    const glob = join(sub, 'p*.jsonl');
    const [split, combined] = await Promise.all([sluice(aggregateArgs(glob, ['--per-partition'])), sluice(aggregateArgs(glob))]);

    expect(split.code).toBe(0);
    const perPartition = results(split)
      .map(({ id: _id, ...rest }) => rest)
      .sort((x, y) => `${String(x['partition'])}${JSON.stringify(x['key'])}`.localeCompare(`${String(y['partition'])}${JSON.stringify(y['key'])}`));
    expect(perPartition).toEqual([
      { key: { k: 'a' }, partition: p1, windowStart: 0, windowEnd: 10000, revision: 0, count: 2, sum_v: 3, min_v: 1, max_v: 2, avg_v: 1.5, distinct_u: 2 },
      { key: { k: 'b' }, partition: p1, windowStart: 0, windowEnd: 10000, revision: 0, count: 1, sum_v: 5, min_v: 5, max_v: 5, avg_v: 5, distinct_u: 1 },
      { key: { k: 'a' }, partition: p2, windowStart: 0, windowEnd: 10000, revision: 0, count: 3, sum_v: 60, min_v: 10, max_v: 30, avg_v: 20, distinct_u: 2 },
    ]);
    // the partition is part of the id
    const splitIds = results(split).map((r) => r['id']);
    expect(new Set(splitIds).size).toBe(3);
    for (const line of split.outLines) expect(Object.keys(JSON.parse(line) as object).slice(0, 6)).toEqual(['id', 'key', 'partition', 'windowStart', 'windowEnd', 'revision']);

    expect(combined.code).toBe(0);
    const together = results(combined).map(({ id: _id, ...rest }) => rest);
    expect(together).toEqual([
      // the count is the sum of the files' counts; distinct users are not counted twice
      { key: { k: 'a' }, windowStart: 0, windowEnd: 10000, revision: 0, count: 5, sum_v: 63, min_v: 1, max_v: 30, avg_v: 12.6, distinct_u: 3 },
      { key: { k: 'b' }, windowStart: 0, windowEnd: 10000, revision: 0, count: 1, sum_v: 5, min_v: 5, max_v: 5, avg_v: 5, distinct_u: 1 },
    ]);
    expect(summaryOf(combined)).toEqual({ eventsIn: 6, resultsOut: 2, late: 0, deadLettered: 0 });
  });

  it('a glob over 3 files covering increasing time ranges prints the same bytes as their concatenation', async () => {
    const parts = join(dir, 'parts');
    await mkdir(parts);
    const keys = ['a', 'b', 'c'];
    const texts: string[] = [];
    for (let f = 0; f < 3; f++) {
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        // 200 events per file, 30 s per file, slightly out of order within each file
        const t = f * 30_000 + i * 150 - (i % 5 === 3 ? 400 : 0);
        lines.push(JSON.stringify({ k: keys[(i * 7 + f) % 3], t: Math.max(f * 30_000, t), v: (i % 13) - 4 + 0.25, u: `u${(i * 11) % 17}` }));
      }
      const text = lines.join('\n') + '\n';
      texts.push(text);
      await writeFile(join(parts, `part-${f}.jsonl`), text);
    }
    const whole = join(dir, 'all.jsonl');
    await writeFile(whole, texts.join(''));

    const [globbed, single] = await Promise.all([
      sluice(aggregateArgs(join(parts, 'part-*.jsonl'), ['--batch-size', '17'])),
      sluice(aggregateArgs(whole, ['--batch-size', '17'])),
    ]);
    expect(single.code).toBe(0);
    expect(globbed.code).toBe(0);
    expect(single.outLines.length).toBeGreaterThan(20);
    expect(globbed.stdout).toBe(single.stdout);
    expect(summaryOf(globbed)).toEqual({ ...summaryOf(single) });
  });
});
