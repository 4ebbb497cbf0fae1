import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import aggregation from 'aws-kinesis-agg';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/core/errors.js';
import { hashKey, KINESIS_MAX_RECORD_BYTES, openKinesisSink, parseKinesisUrl, partitionKeyOf, putUnits, type KinesisSinkOptions } from '../../../src/sinks/kinesis/index.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis, type ReadRecord } from '../../support/kinesis.js';
import { ensureBuilt, readJsonl, scratch, sluice } from '../cli/cli.js';

// The Kinesis sink against kinesis-local: what arrives in the stream, read back with GetRecords
// and de-aggregated — every result exactly once, with its key as partition key — plain and KPL
// aggregated, through the API and through the command line.

const kinesis = useKinesis();
const FAST: KinesisSinkOptions = { env: {}, retry: { maxRetries: 10, initialDelayMs: 50, maxDelayMs: 500 } };
const options = (): KinesisSinkOptions => ({ ...FAST, endpointUrl: kinesis.endpoint });

/** A user record read back: a plain record, or one of an aggregated record's. */
interface UserRecord {
  readonly shardId: string;
  readonly partitionKey: string;
  readonly data: string;
  readonly aggregated: boolean;
}

function userRecords(records: readonly ReadRecord[]): UserRecord[] {
  return records.flatMap((record): UserRecord[] => {
    if (!record.data.subarray(0, 4).equals(Buffer.from([0xf3, 0x89, 0x9a, 0xc2]))) {
      return [{ shardId: record.shardId, partitionKey: record.partitionKey, data: record.data.toString('utf8'), aggregated: false }];
    }
    let out: UserRecord[] = [];
    aggregation.deaggregateSync(
      { data: record.data.toString('base64'), partitionKey: record.partitionKey, sequenceNumber: record.sequenceNumber, approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' },
      true,
      (err, users) => {
        if (err) throw err;
        out = (users ?? []).map((u) => ({ shardId: record.shardId, partitionKey: u.partitionKey, data: Buffer.from(u.data, 'base64').toString('utf8'), aggregated: true }));
      },
    );
    return out;
  });
}

/** Window-result-like records: `n` results over `keys` keys, about `pad` bytes each. */
const results = (n: number, keys: number, pad = 0): { id: string; key: string; windowStart: number; count: number; pad: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, key: `user-${i % keys}`, windowStart: i * 1000, count: i, pad: 'x'.repeat(pad) }));

/** The shard a partition key belongs to, from the stream's real hash key ranges. */
async function shardOfKey(stream: string): Promise<(key: string) => string> {
  const { Shards = [] } = await kinesis.kinesisClient().send(new ListShardsCommand({ StreamName: stream }));
  return (key) => {
    const hash = hashKey(key);
    const shard = Shards.find((s) => BigInt(s.HashKeyRange?.StartingHashKey ?? '-1') <= hash && hash <= BigInt(s.HashKeyRange?.EndingHashKey ?? '-1'));
    return shard?.ShardId ?? '?';
  };
}

describe('Kinesis sink on kinesis-local', { timeout: KINESIS_START_TIMEOUT_MS }, () => {
  it('puts every result exactly once as its JSON line, keyed by the result key, over several calls', async () => {
    const stream = await kinesis.createStream(2);
    const sink = await openKinesisSink(parseKinesisUrl(`kinesis://${stream}`, 'sink', {}), options());
    const written = results(1200, 40);
    expect(await sink.write(written.slice(0, 700))).toBeUndefined();
    expect(await sink.write(written.slice(700))).toBeUndefined();
    const metrics = sink.metrics();
    await sink.close();

    const users = userRecords(await kinesis.readAll(stream));
    expect(users).toHaveLength(1200);
    expect(users.every((u) => !u.aggregated)).toBe(true);
    const byId = new Map(users.map((u) => [(JSON.parse(u.data) as { id: string }).id, u]));
    expect(byId.size).toBe(1200);
    for (const result of written) {
      expect(byId.get(result.id)).toMatchObject({ partitionKey: result.key, data: `${JSON.stringify(result)}\n` });
    }
    // each key's results on one shard, in the order written
    const shardOf = await shardOfKey(stream);
    for (const user of users) expect(user.shardId).toBe(shardOf(user.partitionKey));
    const countsOfKey = users.filter((u) => u.partitionKey === 'user-3').map((u) => (JSON.parse(u.data) as { count: number }).count);
    expect(countsOfKey).toEqual(written.filter((r) => r.key === 'user-3').map((r) => r.count));
    expect(metrics).toMatchObject({ userRecords: 1200, kinesisRecords: 1200, aggregatedRecords: 0, rejected: 0 });
    expect(metrics.putCalls).toBeGreaterThanOrEqual(3);
  });

  it('aggregated: far fewer Kinesis records, every user record once, on the shard of its own key', async () => {
    const stream = await kinesis.createStream(3);
    const sink = await openKinesisSink(parseKinesisUrl(`kinesis://${stream}?aggregate=true`, 'sink', {}), options());
    const written = results(3000, 500, 150);
    expect(await sink.write(written)).toBeUndefined();
    const metrics = sink.metrics();
    await sink.close();

    const records = await kinesis.readAll(stream);
    const users = userRecords(records);
    expect(records.length).toBeLessThan(written.length / 100);
    expect(users).toHaveLength(written.length);
    expect(new Set(users.map((u) => u.data)).size).toBe(written.length);
    const byId = new Map(users.map((u) => [(JSON.parse(u.data) as { id: string }).id, u]));
    for (const result of written) expect(byId.get(result.id)).toMatchObject({ partitionKey: result.key, data: `${JSON.stringify(result)}\n` });
    // what KCL checks when it de-aggregates: each user record's key hashes into the shard it is on
    const shardOf = await shardOfKey(stream);
    for (const user of users) expect(user.shardId).toBe(shardOf(user.partitionKey));
    for (const record of records) expect(record.data.length + Buffer.byteLength(record.partitionKey)).toBeLessThanOrEqual(KINESIS_MAX_RECORD_BYTES);
    expect(metrics).toMatchObject({ userRecords: written.length, kinesisRecords: records.length, putUnitsUnaggregated: written.length, shardMapLoads: 1 });
    expect(metrics.putUnits).toBe(records.reduce((sum, r) => sum + putUnits(r.data.length + Buffer.byteLength(r.partitionKey)), 0));
    expect(metrics.putUnits).toBeLessThan(metrics.putUnitsUnaggregated / 10);
  });

  it('returns a result over 1 MiB as RECORD_TOO_LARGE and puts the rest', async () => {
    const stream = await kinesis.createStream(1);
    const sink = await openKinesisSink(parseKinesisUrl(`kinesis://${stream}`, 'sink', {}), options());
    const big = { id: 'big', key: 'k', text: 'x'.repeat(KINESIS_MAX_RECORD_BYTES) };
    const result = await sink.write([{ id: 'a', key: 'k' }, big]);
    await sink.close();
    expect(result?.rejected.map((r) => [r.record, r.code])).toEqual([[big, 'RECORD_TOO_LARGE']]);
    expect(userRecords(await kinesis.readAll(stream)).map((u) => u.data)).toEqual([`${JSON.stringify({ id: 'a', key: 'k' })}\n`]);
  });

  it('a missing stream fails open with one line that names it and says to create it', async () => {
    const failure = await openKinesisSink(parseKinesisUrl('kinesis://no-such-stream', 'sink', {}), options()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isUserError(failure)).toBe(true);
    expect((failure as Error).message).toBe(
      "Kinesis stream 'no-such-stream' does not exist; create it first, e.g. aws kinesis create-stream --stream-name no-such-stream --shard-count 1 (Sluice does not create streams)",
    );
  });
});

describe('--sink kinesis:// from the command line', { timeout: KINESIS_START_TIMEOUT_MS }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  beforeAll(async () => {
    ensureBuilt();
    ({ dir, cleanup } = await scratch());
    input = join(dir, 'events.jsonl');
    const events = Array.from({ length: 200 }, (_, i) => ({ k: `k${i % 7}`, t: i * 500, v: i }));
    await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  });
  afterAll(() => cleanup());
  const aggregate = ['aggregate', '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v'];

  it('delivers the same results as the file sink, keyed by the window key', async () => {
    const reference = join(dir, 'reference.jsonl');
    const local = await sluice([...aggregate, '--source', `file:${input}`, '--sink', `file:${reference}`]);
    expect(local.code, local.stderr).toBe(0);
    const expected = (await readJsonl(reference)) as { id: string; key: unknown }[];

    const stream = await kinesis.createStream(2);
    const run = await sluice([...aggregate, '--source', `file:${input}`, '--sink', `kinesis://${stream}?aggregate=true`], { env: { SLUICE_KINESIS_ENDPOINT: kinesis.endpoint } });
    expect(run.code, run.stderr).toBe(0);
    const users = userRecords(await kinesis.readAll(stream));
    expect(users.map((u) => JSON.parse(u.data) as unknown).sort(byId)).toEqual([...expected].sort(byId));
    // the window key {"k":"k4"} as canonical JSON
    expect(users.map((u) => u.partitionKey).sort()).toEqual(expected.map((r) => partitionKeyOf(r.key)).sort());
    expect(users.map((u) => u.partitionKey)).toContain('{"k":"k4"}');

    const missing = await sluice([...aggregate, '--source', `file:${input}`, '--sink', 'kinesis://not-there'], { env: { SLUICE_KINESIS_ENDPOINT: kinesis.endpoint } });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("Kinesis stream 'not-there' does not exist; create it first");
  });
});

function byId(a: unknown, b: unknown): number {
  return String((a as { id: string }).id).localeCompare(String((b as { id: string }).id));
}
