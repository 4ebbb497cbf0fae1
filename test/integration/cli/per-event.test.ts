import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, readJsonl, results, scratch, sluice, summaryOf, writeJsonl } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const WINDOW = ['--key', 'k', '--time', 't', '--window', 'tumbling:10s'];

/** Drops the id, which the golden tests check; here only the values matter. */
const withoutId = (records: Record<string, unknown>[]) => records.map(({ id: _id, ...rest }) => rest);

describe('sluice aggregate: records it cannot use', () => {
  const lines = [
    '{"k":"a","t":1000,"v":1}',
    'not json at all',
    '{"k":"a","t":2000,"v":2}',
    '{"t":3000,"v":3}',
    '{"k":"b","v":4}',
    '{"k":"b","t":"soon","v":5}',
    '{"k":"b","t":4000,"v":"6"}',
    '{"k":"b","t":5000,"v":7}',
  ];

  it('dead-letters each bad record with its reason and position, and aggregates the rest', async () => {
    const input = await writeJsonl(join(dir, 'mixed.jsonl'), lines);
    const dlPath = join(dir, 'mixed-dead.jsonl');
    const result = await sluice(['aggregate', '--source', `file:${input}`, ...WINDOW, '--agg', 'count,sum:v', '--dead-letter', `file:${dlPath}`]);

    expect(result.code).toBe(0);
    expect(withoutId(results(result))).toEqual([
      { key: { k: 'a' }, windowStart: 0, windowEnd: 10_000, revision: 0, count: 2, sum_v: 3 },
      { key: { k: 'b' }, windowStart: 0, windowEnd: 10_000, revision: 0, count: 1, sum_v: 7 },
    ]);

    const dead = (await readJsonl(dlPath)).sort((a, b) => Number((a['position'] as { line: number }).line) - Number((b['position'] as { line: number }).line));
    const at = (line: number) => ({ file: input, line });
    expect(dead).toEqual([
      expect.objectContaining({ stage: 'parse-json', code: 'PARSE_ERROR', reason: expect.stringMatching(/^not valid JSON: /), position: at(2), raw: lines[1] }),
      expect.objectContaining({ stage: 'key-by', code: 'MISSING_KEY', reason: "missing key field 'k'", position: at(4), raw: lines[3] }),
      expect.objectContaining({ stage: 'watermarks', code: 'MISSING_TIME', reason: "missing time field 't'", position: at(5), raw: lines[4] }),
      expect.objectContaining({ stage: 'watermarks', code: 'BAD_TIME', reason: expect.stringContaining("'soon'"), position: at(6), raw: lines[5] }),
      expect.objectContaining({ stage: 'window', code: 'BAD_FIELD', reason: 'field \'v\' must be a number, got string "6"', position: at(7), raw: lines[6] }),
    ]);
    for (const entry of dead) expect(entry).toMatchObject({ pipeline: 'aggregate', partition: input });

    // with dead letters in a file, stderr holds the summary alone
    expect(result.errLines).toHaveLength(1);
    expect(summaryOf(result)).toEqual({ eventsIn: 8, resultsOut: 2, late: 0, deadLettered: 5 });
  });

  it('writes dead letters to stderr as JSON lines by default, before the summary', async () => {
    const input = await writeJsonl(join(dir, 'mixed-default.jsonl'), lines);
    const result = await sluice(['aggregate', '--source', `file:${input}`, ...WINDOW, '--agg', 'count,sum:v']);
    expect(result.code).toBe(0);
    expect(result.errLines).toHaveLength(6);
    const entries = result.errLines.slice(0, 5).map((line) => JSON.parse(line) as { code: string });
    expect(entries.map((e) => e.code).sort()).toEqual(['BAD_FIELD', 'BAD_TIME', 'MISSING_KEY', 'MISSING_TIME', 'PARSE_ERROR']);
    expect(summaryOf(result)).toEqual({ eventsIn: 8, resultsOut: 2, late: 0, deadLettered: 5 });
  });
});

describe('sluice aggregate: late events', () => {
  const lines = ['{"k":"a","t":1000}', '{"k":"a","t":15000}', '{"k":"a","t":2000}', '{"k":"b","t":16000}'];
  const expected = [
    { key: { k: 'a' }, windowStart: 0, windowEnd: 10_000, revision: 0, count: 1 },
    { key: { k: 'a' }, windowStart: 10_000, windowEnd: 20_000, revision: 0, count: 1 },
    { key: { k: 'b' }, windowStart: 10_000, windowEnd: 20_000, revision: 0, count: 1 },
  ];

  it('go to the --late file with their reason and position', async () => {
    const input = await writeJsonl(join(dir, 'late.jsonl'), lines);
    const latePath = join(dir, 'late-out.jsonl');
    const result = await sluice(['aggregate', '--source', `file:${input}`, ...WINDOW, '--late', `file:${latePath}`]);
    expect(result.code).toBe(0);
    expect(withoutId(results(result))).toEqual(expected);
    expect(await readJsonl(latePath)).toEqual([
      {
        pipeline: 'aggregate',
        stage: 'window',
        code: 'LATE',
        reason: 'every window of event time 2000 has closed: watermark 14999 ≥ window end − 1 + allowed lateness (0 ms)',
        partition: input,
        position: { file: input, line: 3 },
        raw: lines[2],
        time: 2000,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      },
    ]);
    expect(result.errLines).toHaveLength(1);
    expect(summaryOf(result)).toEqual({ eventsIn: 4, resultsOut: 3, late: 1, deadLettered: 0 });
  });

  it('are dropped and counted in the summary by default', async () => {
    const input = await writeJsonl(join(dir, 'late-default.jsonl'), lines);
    const result = await sluice(['aggregate', '--source', `file:${input}`, ...WINDOW]);
    expect(result.code).toBe(0);
    expect(withoutId(results(result))).toEqual(expected);
    // nothing but the summary: a late event is not a dead letter
    expect(result.errLines).toHaveLength(1);
    expect(summaryOf(result)).toEqual({ eventsIn: 4, resultsOut: 3, late: 1, deadLettered: 0 });
  });

  it('within --allowed-lateness re-fire their window with the next revision', async () => {
    const input = await writeJsonl(join(dir, 'late-allowed.jsonl'), lines);
    const result = await sluice(['aggregate', '--source', `file:${input}`, ...WINDOW, '--allowed-lateness', '10s']);
    expect(result.code).toBe(0);
    const out = results(result);
    expect(withoutId(out)).toEqual([
      { key: { k: 'a' }, windowStart: 0, windowEnd: 10_000, revision: 0, count: 1 },
      { key: { k: 'a' }, windowStart: 0, windowEnd: 10_000, revision: 1, count: 2 },
      { key: { k: 'a' }, windowStart: 10_000, windowEnd: 20_000, revision: 0, count: 1 },
      { key: { k: 'b' }, windowStart: 10_000, windowEnd: 20_000, revision: 0, count: 1 },
    ]);
    // a re-firing updates the same result: same id
    expect(out[1]?.['id']).toBe(out[0]?.['id']);
    expect(summaryOf(result)).toEqual({ eventsIn: 4, resultsOut: 4, late: 0, deadLettered: 0 });
  });
});
