import { describe, expect, it } from 'vitest';
import { userRecords } from '../../../src/ingest/kinesis/reader.js';
import { KinesisLoadProducer, MAX_PUT_ATTEMPTS } from '../../../src/loadtest/kinesis-producer.js';
import type { LoadRecord } from '../../../src/loadtest/service.js';
import type { KinesisEntry } from '../../../src/sinks/kinesis/encoder.js';
import type { KinesisSinkService, PutOutcome, ShardRange } from '../../../src/sinks/kinesis/service.js';
import { hashKey } from '../../../src/sinks/kinesis/shards.js';

const HALF = 1n << 127n;
const SHARDS: ShardRange[] = [
  { shardId: 'shardId-000000000001', startingHashKey: HALF, endingHashKey: (1n << 128n) - 1n },
  { shardId: 'shardId-000000000000', startingHashKey: 0n, endingHashKey: HALF - 1n },
];
const shardOfKey = (key: string): string => (hashKey(key) < HALF ? 'shardId-000000000000' : 'shardId-000000000001');

/**
 * A stream of two shards that refuses the first `throttleFirst` entries it is sent with
 * ProvisionedThroughputExceededException, and whole calls with the `callErrors` given, in turn.
 */
function fakeStream(options: { throttleFirst?: number; callErrors?: Error[] } = {}): KinesisSinkService & { calls: KinesisEntry[][]; taken: KinesisEntry[] } {
  let toThrottle = options.throttleFirst ?? 0;
  const callErrors = [...(options.callErrors ?? [])];
  const calls: KinesisEntry[][] = [];
  const taken: KinesisEntry[] = [];
  return {
    calls,
    taken,
    describe: async () => ({ status: 'ACTIVE', openShards: 2 }),
    listShards: async () => SHARDS,
    async putRecords(records) {
      calls.push([...records]);
      const error = callErrors.shift();
      if (error !== undefined) throw error;
      return records.map((record): PutOutcome => {
        if (toThrottle > 0) {
          toThrottle--;
          return { code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' };
        }
        taken.push(record);
        return { shardId: shardOfKey(record.partitionKey) };
      });
    },
    close: () => undefined,
  };
}

const records = (n: number, keys = 7): LoadRecord[] => Array.from({ length: n }, (_, i) => ({ key: `page-${i % keys}`, value: JSON.stringify({ i, pad: 'x'.repeat(200) }) }));
const noWait = { sleep: async () => undefined, random: () => 0 };

describe('KinesisLoadProducer', () => {
  it('one record per event: counts calls, records, PUT units and each shard from the put results', async () => {
    const stream = fakeStream();
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: false, ...noWait });
    const puts = await producer.send(records(1200));
    // 500 records per call at most
    expect(stream.calls.map((c) => c.length)).toEqual([500, 500, 200]);
    expect(puts).toMatchObject({ putCalls: 3, kinesisRecords: 1200, aggregatedRecords: 0, userRecords: 1200, throttled: 0, retried: 0, putUnits: 1200 });
    const expected: Record<string, number> = {};
    for (const r of records(1200)) expected[shardOfKey(r.key)] = (expected[shardOfKey(r.key)] ?? 0) + 1;
    expect(puts.byShard).toEqual(expected);
    expect(puts.kinesisBytes).toBe(stream.taken.reduce((sum, e) => sum + e.data.length + Buffer.byteLength(e.partitionKey), 0));
  });

  it('throttled entries are sent again until taken, and counted, never dropped', async () => {
    const stream = fakeStream({ throttleFirst: 130 });
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: false, ...noWait });
    const puts = await producer.send(records(300));
    // the first call loses 130 entries, the second takes them
    expect(stream.calls.map((c) => c.length)).toEqual([300, 130]);
    expect(puts).toMatchObject({ putCalls: 2, kinesisRecords: 300, userRecords: 300, throttled: 130, retried: 130 });
    expect(stream.taken.map((e) => JSON.parse(e.data.toString()).i as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('a whole call refused for throttling is sent again; its records count as throttled', async () => {
    const busy = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
    const stream = fakeStream({ callErrors: [busy] });
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: false, ...noWait });
    const puts = await producer.send(records(10));
    expect(puts).toMatchObject({ putCalls: 2, userRecords: 10, throttled: 10, retried: 10 });
  });

  it('gives up after its attempts, and at once on a fatal error', async () => {
    const stream = fakeStream({ throttleFirst: Number.POSITIVE_INFINITY });
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: false, ...noWait });
    await expect(producer.send(records(3))).rejects.toThrow(`Kinesis did not take 3 of 3 records after ${MAX_PUT_ATTEMPTS} attempts (last: ProvisionedThroughputExceededException`);
    const missing = Object.assign(new Error('Stream x not found'), { name: 'ResourceNotFoundException' });
    const gone = fakeStream({ callErrors: [missing] });
    await expect(new KinesisLoadProducer(gone, SHARDS, { aggregate: false, ...noWait }).send(records(3))).rejects.toThrow('Stream x not found');
    expect(gone.calls).toHaveLength(1);
  });

  it('aggregated: fewer Kinesis records, each on the shard of all its user records, de-aggregating to every event', async () => {
    const stream = fakeStream();
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: true, maxAggregateBytes: 4096, ...noWait });
    const sent = records(200, 13);
    const puts = await producer.send(sent);
    expect(puts.userRecords).toBe(200);
    expect(puts.kinesisRecords).toBeLessThan(40);
    expect(puts.aggregatedRecords).toBeGreaterThan(0);
    expect(puts.putUnits).toBe(puts.kinesisRecords);
    const back: string[] = [];
    for (const [n, entry] of stream.taken.entries()) {
      expect(entry.data.length + Buffer.byteLength(entry.partitionKey)).toBeLessThanOrEqual(4096);
      const users = userRecords({ sequenceNumber: String(n), partitionKey: entry.partitionKey, data: entry.data, arrival: undefined });
      // every user record hashes to the shard its Kinesis record went to
      for (const u of users) expect(shardOfKey(u.partitionKey)).toBe(shardOfKey(entry.partitionKey));
      back.push(...users.map((u) => Buffer.from(u.data).toString()));
    }
    expect(back.sort()).toEqual(sent.map((r) => r.value).sort());
    const expected: Record<string, number> = {};
    for (const r of sent) expected[shardOfKey(r.key)] = (expected[shardOfKey(r.key)] ?? 0) + 1;
    expect(puts.byShard).toEqual(expected);
  });

  it('a record given a partition lands on that shard (hash-key order): how warm-up records reach every shard', async () => {
    const stream = fakeStream();
    const producer = new KinesisLoadProducer(stream, SHARDS, { aggregate: false, ...noWait });
    expect(producer.partitions).toBe(2);
    const puts = await producer.send([
      { key: 'warm-up-0', value: '{}', partition: 0 },
      { key: 'warm-up-1', value: '{}', partition: 1 },
    ]);
    expect(puts.byShard).toEqual({ 'shardId-000000000000': 1, 'shardId-000000000001': 1 });
    expect(stream.taken.map((e) => e.partitionKey.startsWith('warm-up-'))).toEqual([true, true]);
  });
});
