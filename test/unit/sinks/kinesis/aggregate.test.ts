import aggregation from 'aws-kinesis-agg';
import { describe, expect, it } from 'vitest';
import {
  aggregatedBytes,
  aggregateEntries,
  hashKey,
  KINESIS_MAX_RECORD_BYTES,
  KPL_MAGIC,
  putUnits,
  recordBytes,
  shardOf,
  toKinesisRecords,
  type IndexedEntry,
  type KinesisEntry,
  type ShardRange,
} from '../../../../src/sinks/kinesis/index.js';

// KPL aggregation checked against the de-aggregator of aws-kinesis-agg (what Lambda consumers
// use; KCL reads the same format): every user record comes back with its own partition key and
// bytes, records stay within the limit, and records only share an aggregated record when they go
// to the same shard.

/** The user records of a Kinesis record, as aws-kinesis-agg de-aggregates them. */
function deaggregate(record: KinesisEntry): KinesisEntry[] {
  let out: KinesisEntry[] | undefined;
  let error: Error | undefined;
  aggregation.deaggregateSync(
    { data: record.data.toString('base64'), partitionKey: record.partitionKey, sequenceNumber: '1', approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' },
    true,
    (err, records) => {
      if (err) error = err;
      else out = (records ?? []).map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data, 'base64') }));
    },
  );
  if (error !== undefined || out === undefined) throw error ?? new Error('no records');
  return out;
}

const entries = (n: number, bytes: number, keyOf: (i: number) => string): IndexedEntry[] =>
  Array.from({ length: n }, (_, index) => ({ index, partitionKey: keyOf(index), data: Buffer.from(`{"id":"r${index}","pad":"${'x'.repeat(bytes)}"}\n`) }));

/** Two shards splitting the hash space in half, as CreateStream makes them. */
const TWO_SHARDS: ShardRange[] = [
  { shardId: 'shardId-000000000000', startingHashKey: 0n, endingHashKey: 2n ** 127n - 1n },
  { shardId: 'shardId-000000000001', startingHashKey: 2n ** 127n, endingHashKey: 2n ** 128n - 1n },
];

describe('aggregateEntries', () => {
  it('round-trips through aws-kinesis-agg: same user records, same keys, numeric-looking and non-ASCII keys too', () => {
    // aws-kinesis-agg's own RecordAggregator swaps the keys of this very input ('7' sorts first as an object key)
    const input: KinesisEntry[] = [
      { partitionKey: 'b', data: Buffer.from('one') },
      { partitionKey: '7', data: Buffer.from('two') },
      { partitionKey: 'b', data: Buffer.from('three') },
      { partitionKey: 'é-ключ', data: Buffer.from([0, 255, 1]) },
    ];
    const record = aggregateEntries(input);
    expect(record.partitionKey).toBe('b');
    expect(record.data.subarray(0, 4)).toEqual(KPL_MAGIC);
    expect(deaggregate(record)).toEqual(input);
  });

  it('predicts its own size exactly, partition key included', () => {
    for (const n of [1, 2, 130, 1000]) {
      const input = entries(n, 37, (i) => `key-${i % 200}-ü`);
      expect(aggregatedBytes(input)).toBe(recordBytes(aggregateEntries(input)));
    }
  });
});

describe('toKinesisRecords', () => {
  it('without aggregation: one record per user record, untouched', () => {
    const input = entries(3, 10, (i) => `k${i}`);
    const records = toKinesisRecords(input, { aggregate: false, maxRecordBytes: KINESIS_MAX_RECORD_BYTES });
    expect(records.map((r) => [r.partitionKey, r.data, r.entries, r.shard])).toEqual(input.map((e) => [e.partitionKey, e.data, [e.index], undefined]));
  });

  it('packs records of one shard within the limit, and every user record comes back exactly once with its key', () => {
    const input = entries(5000, 300, (i) => `user-${i % 97}`);
    const records = toKinesisRecords(input, { aggregate: true, maxRecordBytes: KINESIS_MAX_RECORD_BYTES, shardOf: shardOf(TWO_SHARDS) });
    expect(records.length).toBeLessThan(10);
    const back: KinesisEntry[] = [];
    for (const record of records) {
      expect(recordBytes(record)).toBeLessThanOrEqual(KINESIS_MAX_RECORD_BYTES);
      const users = deaggregate(record);
      expect(users.map((u) => u.data)).toEqual(record.entries.map((i) => input[i]?.data));
      // KCL drops user records that hash to another shard than the record carrying them
      const shard = shardOf(TWO_SHARDS)(record.partitionKey);
      for (const user of users) expect(shardOf(TWO_SHARDS)(user.partitionKey)).toBe(shard);
      back.push(...users);
    }
    const sorted = (list: readonly KinesisEntry[]): string[] => list.map((e) => `${e.partitionKey} ${e.data.toString()}`).sort();
    expect(sorted(back)).toEqual(sorted(input));
    // per key, the order is kept
    const ofKey = (list: readonly KinesisEntry[], key: string): string[] => list.filter((e) => e.partitionKey === key).map((e) => e.data.toString());
    expect(ofKey(back, 'user-5')).toEqual(ofKey(input, 'user-5'));
  });

  it('cuts PUT units: 1,000 results of about 200 bytes', () => {
    const input = entries(1000, 170, (i) => `user-${i}`);
    const options = { maxRecordBytes: KINESIS_MAX_RECORD_BYTES, shardOf: shardOf(TWO_SHARDS) };
    const units = (records: readonly KinesisEntry[]): number => records.reduce((sum, r) => sum + putUnits(recordBytes(r)), 0);
    const plain = toKinesisRecords(input, { ...options, aggregate: false });
    const aggregated = toKinesisRecords(input, { ...options, aggregate: true });
    expect(units(plain)).toBe(1000);
    expect(units(aggregated)).toBeLessThanOrEqual(12);
    expect(aggregated.reduce((sum, r) => sum + r.unaggregatedPutUnits, 0)).toBe(1000);
  });

  it('is deterministic: same input, same bytes', () => {
    const make = (): Buffer[] => toKinesisRecords(entries(800, 900, (i) => `k${i % 13}`), { aggregate: true, maxRecordBytes: 64 * 1024, shardOf: shardOf(TWO_SHARDS) }).map((r) => r.data);
    expect(make()).toEqual(make());
  });

  it('without a shard map, only records of one key share a record; a group of one goes plain', () => {
    const input = [...entries(3, 5, () => 'a'), ...entries(1, 5, () => 'b')].map((e, index) => ({ ...e, index }));
    const records = toKinesisRecords(input, { aggregate: true, maxRecordBytes: KINESIS_MAX_RECORD_BYTES });
    expect(records.map((r) => [r.partitionKey, r.entries, r.shard])).toEqual([
      ['a', [0, 1, 2], 'a'],
      ['b', [3], undefined],
    ]);
    expect(records[1]?.data).toEqual(input[3]?.data);
  });

  it('a record too large to share goes alone, as a plain record', () => {
    const big = { index: 1, partitionKey: 'a', data: Buffer.alloc(KINESIS_MAX_RECORD_BYTES - 1, 'x') };
    const input = [{ index: 0, partitionKey: 'a', data: Buffer.from('small') }, big, { index: 2, partitionKey: 'a', data: Buffer.from('small') }];
    const records = toKinesisRecords(input, { aggregate: true, maxRecordBytes: KINESIS_MAX_RECORD_BYTES });
    expect(records.map((r) => r.entries)).toEqual([[0], [1], [2]]);
    expect(records[1]?.data).toBe(big.data);
  });
});

describe('shardOf', () => {
  it('maps a key to the shard whose range holds its MD5', () => {
    const of = shardOf(TWO_SHARDS);
    expect(hashKey('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    expect(of('a')).toBe('shardId-000000000000');
    // md5('c') = 4a8a08f0…, md5('d') = 8277e091… (top bit set)
    expect(of('d')).toBe('shardId-000000000001');
    expect(shardOf([])('a')).toBe('key:a');
  });
});
