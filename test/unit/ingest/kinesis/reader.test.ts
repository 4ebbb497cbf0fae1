import aggregation from 'aws-kinesis-agg';
import { describe, expect, it } from 'vitest';
import { KinesisShardReader, compareSequence, userRecords } from '../../../../src/ingest/kinesis/reader.js';
import type { ShardFetch, ShardRecord, ShardStream } from '../../../../src/ingest/kinesis/shard-stream.js';

// The shard reader on a scripted shard stream: KPL de-aggregation with KCL's sub-sequence
// numbers, resuming inside an aggregated record, batches of bounded size, and a closed shard that
// is reported and parked instead of ending the partition.

/** KPL-aggregates `records` into Kinesis records, as a producer with aggregation on would. */
async function aggregate(records: { partitionKey: string; data: string }[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    aggregation.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })),
      (encoded, callback) => {
        out.push(encoded.data);
        callback();
      },
      () => resolve(),
      (err) => reject(err),
    );
  });
  return out;
}

function scripted(fetches: ShardFetch[]): ShardStream {
  return {
    shardId: 'shardId-000000000000',
    next: async () => fetches.shift() ?? { records: [], millisBehindLatest: 0, ended: undefined },
    close: async () => undefined,
  };
}

const rec = (sequenceNumber: string, data: Uint8Array | string, partitionKey = 'k'): ShardRecord => ({
  sequenceNumber,
  partitionKey,
  data: typeof data === 'string' ? Buffer.from(data) : data,
  arrival: 1_000,
});

const text = (batch: readonly { value: unknown }[] | null): string[] => (batch ?? []).map((e) => Buffer.from(e.value as Uint8Array).toString());

describe('Kinesis shard reader', () => {
  it('de-aggregates KPL records into user records numbered like KCL, keeping their partition keys', async () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ partitionKey: `key-${i % 2}`, data: `{"n":${i}}` }));
    const [packed] = await aggregate(users);
    const records = userRecords(rec('100', packed as Buffer, 'key-0'));
    expect(records.map((r) => [r.sequenceNumber, r.sub, r.partitionKey, Buffer.from(r.data).toString()])).toEqual(users.map((u, i) => ['100', i, u.partitionKey, u.data]));
    // a plain record is itself, sub-sequence 0
    expect(userRecords(rec('101', 'plain')).map((r) => r.sub)).toEqual([0]);
  });

  it('resumes inside an aggregated record: nothing at or before (sequence, sub) again, nothing after it lost', async () => {
    const [packed] = await aggregate(Array.from({ length: 6 }, (_, i) => ({ partitionKey: 'p', data: `u${i}` })));
    const reader = new KinesisShardReader('s', scripted([{ records: [rec('100', 'before'), rec('200', packed as Buffer), rec('300', 'after')], millisBehindLatest: 0, ended: undefined }]), {
      shard: 'shardId-000000000000',
      sequence: '200',
      sub: 2,
    });
    const batch = await reader.read();
    expect(text(batch)).toEqual(['u3', 'u4', 'u5', 'after']);
    expect(batch?.[0]?.position).toEqual({ shard: 'shardId-000000000000', sequence: '200', sub: 3 });
    expect(batch?.[0]?.meta).toEqual({ key: 'p', timestamp: 1_000, route: 'p' });
  });

  it('hands a large fetch over in batches, so a checkpoint can fall inside an aggregated record', async () => {
    const [packed] = await aggregate(Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'p', data: `u${i}` })));
    const reader = new KinesisShardReader('s', scripted([{ records: [rec('200', packed as Buffer)], millisBehindLatest: 0, ended: undefined }]), undefined, undefined, 2);
    expect(text(await reader.read())).toEqual(['u0', 'u1']);
    expect(reader.position).toEqual({ shard: 'shardId-000000000000', sequence: '200', sub: 1 });
    expect(text(await reader.read())).toEqual(['u2', 'u3']);
    expect(text(await reader.read())).toEqual(['u4']);
  });

  it('reports a closed shard once everything was handed over, then reads nothing until closed', async () => {
    const ended: string[] = [];
    const reader = new KinesisShardReader('s', scripted([{ records: [rec('1', 'a'), rec('2', 'b')], millisBehindLatest: 0, ended: { childShardIds: ['shardId-000000000001'] } }]), undefined, (r) => ended.push(r.partition), 1);
    expect(text(await reader.read())).toEqual(['a']);
    expect(ended).toEqual([]);
    expect(text(await reader.read())).toEqual(['b']);
    const parked = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ended).toEqual(['s/shardId-000000000000']);
    expect(reader.children).toEqual(['shardId-000000000001']);
    await reader.close();
    expect(await parked).toBeNull();
  });

  it('without onEnded (a backfill), a shard read to its end simply ends', async () => {
    const reader = new KinesisShardReader('s', scripted([{ records: [rec('1', 'a')], millisBehindLatest: 0, ended: { childShardIds: [] } }]), undefined);
    expect(text(await reader.read())).toEqual(['a']);
    expect(await reader.read()).toBeNull();
  });

  it('orders sequence numbers numerically, not as text', () => {
    expect(compareSequence('9', '10')).toBeLessThan(0);
    expect(compareSequence('49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692538361571095921575989136588899')).toBeLessThan(0);
    expect(compareSequence('5', '5')).toBe(0);
  });
});
