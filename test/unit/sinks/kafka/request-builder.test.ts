import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../../src/core/errors.js';
import { kafkaRecordEncoder, type EncodedRecord } from '../../../../src/sinks/kafka/encoder.js';
import { buildRequests, RECORD_BATCH_HEADER_BYTES, requestBytes } from '../../../../src/sinks/kafka/request-builder.js';

const encode = kafkaRecordEncoder('id');

/** A record of exactly `bytes` as the builder counts them. */
function sized(id: string, bytes: number): EncodedRecord {
  const record = encode({ id, pad: 'x'.repeat(bytes - encode({ id, pad: '' }).bytes) });
  expect(record.bytes).toBe(bytes);
  return record;
}

/** `count` records of `bytes` each, with ids r0, r1, … */
function records(count: number, bytes = 100): EncodedRecord[] {
  return Array.from({ length: count }, (_, n) => sized(`r${n}`, bytes));
}

const ids = (requests: EncodedRecord[][]): string[][] => requests.map((r) => r.map((x) => x.id ?? '?'));

describe('buildRequests', () => {
  it('sends everything in one request when it fits, and nothing for no records', () => {
    const input = records(5);
    expect(buildRequests(input, { maxBatchBytes: 10_000, maxBatchRecords: 100, topic: 't' })).toEqual([input]);
    expect(buildRequests([], { maxBatchBytes: 10_000, maxBatchRecords: 100, topic: 't' })).toEqual([]);
  });

  it('splits by record count, keeping order', () => {
    const requests = buildRequests(records(7), { maxBatchBytes: 1_000_000, maxBatchRecords: 3, topic: 't' });
    expect(ids(requests)).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r6']]);
  });

  it('splits by bytes, counting the batch header, and fills each request as far as it goes', () => {
    // header + 3 records of 100 fits exactly; a fourth would not
    const max = RECORD_BATCH_HEADER_BYTES + 300;
    const requests = buildRequests(records(8), { maxBatchBytes: max, maxBatchRecords: 100, topic: 't' });
    expect(ids(requests)).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r6', 'r7']]);
    for (const request of requests) expect(requestBytes(request)).toBeLessThanOrEqual(max);
    expect(ids(buildRequests(records(8), { maxBatchBytes: max - 1, maxBatchRecords: 100, topic: 't' }))).toEqual([['r0', 'r1'], ['r2', 'r3'], ['r4', 'r5'], ['r6', 'r7']]);
  });

  it('applies whichever limit is reached first', () => {
    const requests = buildRequests(records(10), { maxBatchBytes: RECORD_BATCH_HEADER_BYTES + 400, maxBatchRecords: 3, topic: 't' });
    expect(requests.map((r) => r.length)).toEqual([3, 3, 3, 1]);
  });

  it('keeps records of different sizes in order and under the limit', () => {
    const sizes = [80, 300, 90, 90, 250, 60, 60, 60, 400, 70];
    const input = sizes.map((size, n) => sized(`s${n}`, size));
    const max = RECORD_BATCH_HEADER_BYTES + 450;
    const requests = buildRequests(input, { maxBatchBytes: max, maxBatchRecords: 100, topic: 't' });
    expect(requests.flat()).toEqual(input);
    for (const request of requests) expect(requestBytes(request)).toBeLessThanOrEqual(max);
    // no two neighbouring requests could have been one
    for (let i = 1; i < requests.length; i++) expect(requestBytes([...(requests[i - 1] ?? []), ...(requests[i] ?? []).slice(0, 1)])).toBeGreaterThan(max);
  });

  it('takes a record that fills a request exactly on its own', () => {
    const [record] = records(1, 500) as [EncodedRecord];
    expect(buildRequests([record], { maxBatchBytes: RECORD_BATCH_HEADER_BYTES + 500, maxBatchRecords: 10, topic: 't' })).toEqual([[record]]);
  });

  it('fails the whole write with a UserError naming a record too large to send alone, before sending anything', () => {
    const input = [...records(2), sized('big-one', 5000)];
    let error: unknown;
    try {
      buildRequests(input, { maxBatchBytes: 4096, maxBatchRecords: 10, topic: 'results' });
    } catch (err) {
      error = err;
    }
    expect(isUserError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("result 'big-one'");
    expect(message).toContain(`is ${RECORD_BATCH_HEADER_BYTES + 5000} bytes`);
    expect(message).toContain("topic 'results'");
    expect(message).not.toContain('\n');
  });

  it('names a record without an id by its place in the write', () => {
    const big = encode({ pad: 'x'.repeat(200) });
    expect(() => buildRequests([encode({ id: 'a' }), big], { maxBatchBytes: 200, maxBatchRecords: 10, topic: 't' })).toThrow(/record #2 of the write is \d+ bytes/);
  });
});
