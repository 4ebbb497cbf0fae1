import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonical, finalResults, type ResultRecord } from '../../../src/backfill/diff.js';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto, type StoredTimestreamRecord } from '../../support/moto.js';
import { useOpenSearch } from '../../support/opensearch.js';
import { ensureBuilt, readJsonl, scratch, sluice } from '../cli/cli.js';
import { eventLines } from '../recovery/recovery.js';
import { lateWindowModule } from './backfill.js';

// Running the same backfill twice leaves the same data, thanks to result ids and revisions: in
// OpenSearch the documents are indexed under the result id (a second run overwrites each with the
// same bytes), in Timestream each record carries Version = revision + 1. moto's Timestream appends
// instead of upserting, so there the second run must write the very records of the first.

const opensearch = useOpenSearch();
const moto = useMoto();

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
let input = '';
const env = (): Record<string, string> => ({ SLUICE_AWS_ENDPOINT: moto.endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey });

type Result = ResultRecord & { readonly key: { readonly k: string }; readonly windowEnd: number; readonly count: number };

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  module = await lateWindowModule(dir, '1m');
  // two hours of events with some late ones: the backfill itself re-fires windows (revision > 0),
  // so each run emits several results for some ids
  input = join(dir, 'events.jsonl');
  await writeFile(input, eventLines({ seed: 13, count: 7200, stepMs: 1000, keys: 6, maxDisorderMs: 4000, lateFraction: 0.03, lateSpreadMs: 20_000 }));
});
afterAll(() => cleanup());

/** Runs the backfill with `sink` and a file sink beside it; returns every result it emitted. */
async function backfill(sink: string, name: string, withEnv = false): Promise<Result[]> {
  const out = join(dir, `${name}.jsonl`);
  const result = await sluice(['backfill', module, '--from', `file:${input}`, '--sink', sink, '--sink', `file:${out}`], withEnv ? { env: env() } : {});
  expect(result.code, result.stderr).toBe(0);
  return readJsonl<Result>(out);
}

function expectRefirings(emitted: readonly Result[]): void {
  const finals = finalResults(emitted).results;
  expect(emitted.length).toBeGreaterThan(finals.size);
  expect([...finals.values()].filter((r) => r.revision > 0).length).toBeGreaterThan(0);
}

describe('a backfill run twice leaves the same data', () => {
  it('in OpenSearch: the same documents, one per result id, each the final revision', async () => {
    const index = opensearch.indexName('backfill');
    const client = opensearch.client();
    const documents = async (): Promise<Map<string, unknown>> => {
      await client.indices.refresh({ index });
      const found = await client.search({ index, body: { query: { match_all: {} }, size: 10_000 } });
      expect(found.body.hits.hits.length).toBe((await client.count({ index })).body.count);
      return new Map(found.body.hits.hits.map((hit) => [String(hit._id), hit._source as unknown]));
    };

    const first = await backfill(`opensearch://${opensearch.hostPort}/${index}`, 'os-1');
    expectRefirings(first);
    const afterFirst = await documents();
    const finals = finalResults(first).results;
    expect(afterFirst.size).toBe(finals.size);
    for (const [id, result] of finals) expect(canonical(afterFirst.get(id)), id).toBe(canonical(result));

    const second = await backfill(`opensearch://${opensearch.hostPort}/${index}`, 'os-2');
    expect(second).toEqual(first);
    const afterSecond = await documents();
    expect(afterSecond.size).toBe(afterFirst.size);
    for (const [id, doc] of afterFirst) expect(canonical(afterSecond.get(id)), id).toBe(canonical(doc));
  }, 300_000);

  it('in Timestream: the second run writes the same records with the same Version per result', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const sink = `timestream://${database}/${table}`;
    // a stored record's result: its dimension k and its time (windowEnd − 1)
    const idOf = (r: StoredTimestreamRecord): string => `${r.Dimensions?.find((d) => d.Name === 'k')?.Value ?? '?'}@${r.Time ?? '?'}`;
    const perResult = (records: readonly StoredTimestreamRecord[]): Map<string, string[]> => {
      const out = new Map<string, string[]>();
      for (const r of records) out.set(idOf(r), [...(out.get(idOf(r)) ?? []), canonical({ version: r.Version, measures: r.MeasureValues })].sort());
      return out;
    };

    const first = await backfill(sink, 'ts-1', true);
    expectRefirings(first);
    const stored = await moto.timestreamRecords(database, table);
    expect(stored).toHaveLength(first.length);
    const afterFirst = perResult(stored);
    // every emission of a result is there with Version = revision + 1, the final one the highest
    const finals = finalResults(first).results;
    expect(afterFirst.size).toBe(finals.size);
    for (const result of finals.values() as Iterable<Result>) {
      const versions = (afterFirst.get(`${result.key.k}@${result.windowEnd - 1}`) ?? []).map((v) => (JSON.parse(v) as { version: number }).version);
      expect(Math.max(...versions), result.id).toBe(result.revision + 1);
    }

    const second = await backfill(sink, 'ts-2', true);
    expect(second).toEqual(first);
    const all = await moto.timestreamRecords(database, table);
    expect(all).toHaveLength(2 * first.length);
    // moto appends: the second run's records, set by set, are the first run's
    expect(perResult(all.slice(first.length))).toEqual(afterFirst);
  }, 300_000);
});
