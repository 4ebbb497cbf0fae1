import { describe, expect, it } from 'vitest';
import { buildRequests, KINESIS_MAX_BATCH_BYTES, KINESIS_MAX_BATCH_RECORDS, toKinesisRecords, type KinesisRecord } from '../../../../src/sinks/kinesis/index.js';

// PutRecords calls stay within 500 records and 5 MiB, partition keys counted, in order.

const plain = (n: number, bytes: number, key = 'k'): KinesisRecord[] =>
  toKinesisRecords(
    Array.from({ length: n }, (_, index) => ({ index, partitionKey: key, data: Buffer.alloc(bytes, 'x') })),
    { aggregate: false, maxRecordBytes: 1024 * 1024 },
  );
const indices = (requests: KinesisRecord[][]): number[][] => requests.map((r) => r.flatMap((record) => record.entries));

describe('buildRequests', () => {
  it('cuts at 500 records per call', () => {
    const requests = buildRequests(plain(1001, 10), { maxBatchRecords: KINESIS_MAX_BATCH_RECORDS, maxBatchBytes: KINESIS_MAX_BATCH_BYTES });
    expect(requests.map((r) => r.length)).toEqual([500, 500, 1]);
    expect(indices(requests).flat()).toEqual(Array.from({ length: 1001 }, (_, i) => i));
  });

  it('cuts at 5 MiB per call, counting partition keys with the data', () => {
    // 5 records of 1 MiB − 10 bytes with 10-byte keys are exactly 5 MiB; a sixth byte of key tips it
    const exact = plain(6, 1024 * 1024 - 10, 'k'.repeat(10));
    expect(buildRequests(exact, { maxBatchRecords: 500, maxBatchBytes: KINESIS_MAX_BATCH_BYTES }).map((r) => r.length)).toEqual([5, 1]);
    const over = plain(5, 1024 * 1024 - 10, 'k'.repeat(11));
    expect(buildRequests(over, { maxBatchRecords: 500, maxBatchBytes: KINESIS_MAX_BATCH_BYTES }).map((r) => r.length)).toEqual([4, 1]);
  });

  it('never leaves a call empty and keeps a lone record that fills a call', () => {
    expect(buildRequests([], { maxBatchRecords: 500, maxBatchBytes: 100 })).toEqual([]);
    expect(buildRequests(plain(2, 100), { maxBatchRecords: 500, maxBatchBytes: 101 }).map((r) => r.length)).toEqual([1, 1]);
  });
});
