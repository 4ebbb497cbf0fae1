import { describe, expect, it } from 'vitest';
import {
  billedBytes,
  buildRequests,
  FIREHOSE_MAX_BATCH_BYTES,
  FIREHOSE_MAX_BATCH_RECORDS,
  FIREHOSE_MAX_RECORD_BYTES,
  toFirehoseRecords,
  type EncodedLine,
} from '../../../../src/sinks/firehose/index.js';

// Batching into PutRecordBatch calls (500 records, 4 MiB) and packing lines into records.

const LIMITS = { maxBatchRecords: FIREHOSE_MAX_BATCH_RECORDS, maxBatchBytes: FIREHOSE_MAX_BATCH_BYTES };

function lines(count: number, bytes: number): EncodedLine[] {
  return Array.from({ length: count }, (_, index) => ({ index, line: Buffer.alloc(bytes, 'a') }));
}

describe('buildRequests', () => {
  it('splits at 500 records per call, in order', () => {
    const records = toFirehoseRecords(lines(1201, 10), { pack: false, maxRecordBytes: FIREHOSE_MAX_RECORD_BYTES });
    const requests = buildRequests(records, LIMITS);
    expect(requests.map((r) => r.length)).toEqual([500, 500, 201]);
    expect(requests.flat().map((r) => r.results[0])).toEqual(Array.from({ length: 1201 }, (_, i) => i));
  });

  it('splits at 4 MiB of data per call', () => {
    // 1,000 KiB records: four fit in 4 MiB (4,096,000 of 4,194,304 bytes), a fifth does not
    const records = toFirehoseRecords(lines(9, FIREHOSE_MAX_RECORD_BYTES), { pack: false, maxRecordBytes: FIREHOSE_MAX_RECORD_BYTES });
    const requests = buildRequests(records, LIMITS);
    expect(requests.map((r) => r.length)).toEqual([4, 4, 1]);
    for (const request of requests) expect(request.reduce((sum, r) => sum + r.data.length, 0)).toBeLessThanOrEqual(FIREHOSE_MAX_BATCH_BYTES);
  });

  it('fills a call exactly up to the byte limit', () => {
    const records = toFirehoseRecords(lines(5, 100), { pack: false, maxRecordBytes: 100 });
    expect(buildRequests(records, { maxBatchRecords: 500, maxBatchBytes: 200 }).map((r) => r.length)).toEqual([2, 2, 1]);
  });
});

describe('toFirehoseRecords', () => {
  it('keeps one line per record without packing', () => {
    const records = toFirehoseRecords(lines(3, 300), { pack: false, maxRecordBytes: FIREHOSE_MAX_RECORD_BYTES });
    expect(records.map((r) => [r.results, r.data.length, r.unpackedBilledBytes])).toEqual([
      [[0], 300, 5120],
      [[1], 300, 5120],
      [[2], 300, 5120],
    ]);
  });

  it('packs consecutive lines up to the record limit, keeping their order and bytes', () => {
    const input: EncodedLine[] = ['a\n', 'bb\n', 'ccc\n', 'dddd\n', 'e\n'].map((text, index) => ({ index, line: Buffer.from(text) }));
    const records = toFirehoseRecords(input, { pack: true, maxRecordBytes: 9 });
    expect(records.map((r) => r.data.toString())).toEqual(['a\nbb\nccc\n', 'dddd\ne\n']);
    expect(records.map((r) => r.results)).toEqual([[0, 1, 2], [3, 4]]);
    expect(records.map((r) => r.unpackedBilledBytes)).toEqual([3 * 5120, 2 * 5120]);
  });
});

describe('billedBytes', () => {
  it('rounds each record up to the next 5 KB', () => {
    expect([1, 5120, 5121, 10_240, 1_024_000].map(billedBytes)).toEqual([5120, 5120, 10_240, 10_240, 1_024_000]);
  });
});
