import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/core/errors.js';
import { compileIndexName, openSearchEncoder, type EncodedDocument } from '../../../../src/sinks/opensearch/index.js';
import { isRejection } from '../../../../src/sinks/opensearch/encoder.js';
import { buildBulkRequests, bulkBody, latestPerDocument, requestBytes, splitInHalf } from '../../../../src/sinks/opensearch/request-builder.js';

const encode = openSearchEncoder(compileIndexName('results'));

function doc(record: object): EncodedDocument {
  const encoded = encode(record);
  if (isRejection(encoded)) throw new Error(encoded.reason);
  return encoded;
}

/** A document of exactly `bytes` as the builder counts them (both NDJSON lines). */
function sized(id: string, bytes: number): EncodedDocument {
  const encoded = doc({ id, pad: 'x'.repeat(bytes - doc({ id, pad: '' }).bytes) });
  expect(encoded.bytes).toBe(bytes);
  return encoded;
}

const docs = (count: number, bytes = 100): EncodedDocument[] => Array.from({ length: count }, (_, n) => sized(`r${n}`, bytes));
const ids = (requests: EncodedDocument[][]): string[][] => requests.map((r) => r.map((d) => d.id ?? '?'));

describe('openSearchEncoder', () => {
  it('makes an index action with _id = the result id, then the result JSON, each line ending in a newline', () => {
    const result = { id: 'c9c3', key: { page: '/é' }, windowStart: 0, count: 4 };
    const encoded = doc(result);
    expect(encoded.text).toBe(`{"index":{"_index":"results","_id":"c9c3"}}\n${JSON.stringify(result)}\n`);
    expect(encoded.bytes).toBe(Buffer.byteLength(encoded.text));
    expect(encoded.bytes).toBeGreaterThan(encoded.text.length); // 'é' is two bytes
  });

  it('lets OpenSearch pick the id of a record without a string id', () => {
    expect(doc({ count: 1 }).text).toBe('{"index":{"_index":"results"}}\n{"count":1}\n');
    expect(doc({ id: 7 }).id).toBeUndefined();
  });

  it('refuses what cannot become a document, with a code and a reason', () => {
    expect(encode('text')).toMatchObject({ code: ErrorCode.VALIDATION_FAILED, reason: 'an OpenSearch document must be a JSON object, got string' });
    expect(encode([1])).toMatchObject({ code: ErrorCode.VALIDATION_FAILED });
    expect(encode({ id: 'x'.repeat(513) })).toMatchObject({ code: ErrorCode.VALIDATION_FAILED, reason: 'id must be 1 to 512 bytes to be an OpenSearch _id, got 513' });
    const dated = openSearchEncoder(compileIndexName('r-%Y.%m.%d'));
    expect(dated({ id: 'a', windowStart: '2026-01-01' })).toMatchObject({ code: ErrorCode.MISSING_TIME, reason: "index 'r-%Y.%m.%d' is dated by the result's windowStart (epoch ms), which this record lacks" });
    expect(dated({ id: 'a', windowStart: Date.UTC(2026, 4, 6, 7) })).toMatchObject({ index: 'r-2026.05.06' });
  });
});

describe('buildBulkRequests', () => {
  it('sends everything in one request when it fits, and nothing for no documents', () => {
    const input = docs(5);
    expect(buildBulkRequests(input, { maxBatchBytes: 10_000, maxBatchRecords: 100 })).toEqual([input]);
    expect(buildBulkRequests([], { maxBatchBytes: 10_000, maxBatchRecords: 100 })).toEqual([]);
  });

  it('splits by bytes: a request holds as many documents as fit, exactly up to the limit', () => {
    const requests = buildBulkRequests(docs(10, 100), { maxBatchBytes: 300, maxBatchRecords: 1_000 });
    expect(ids(requests)).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r6', 'r7', 'r8'], ['r9']]);
    for (const request of requests) expect(requestBytes(request)).toBeLessThanOrEqual(300);
    expect(ids(buildBulkRequests(docs(4, 100), { maxBatchBytes: 299, maxBatchRecords: 1_000 }))).toEqual([['r0', 'r1'], ['r2', 'r3']]);
  });

  it('splits by count too, keeping order', () => {
    expect(ids(buildBulkRequests(docs(5), { maxBatchBytes: 1_000_000, maxBatchRecords: 2 }))).toEqual([['r0', 'r1'], ['r2', 'r3'], ['r4']]);
  });

  it('sends a document larger than the limit alone, between its neighbours', () => {
    const input = [sized('a', 100), sized('big', 1_000), sized('b', 100)];
    expect(ids(buildBulkRequests(input, { maxBatchBytes: 500, maxBatchRecords: 100 }))).toEqual([['a'], ['big'], ['b']]);
  });

  it('builds the body from the documents’ lines, in order', () => {
    const input = docs(3);
    expect(bulkBody(input)).toBe(input.map((d) => d.text).join(''));
    expect(Buffer.byteLength(bulkBody(input))).toBe(requestBytes(input));
  });
});

describe('splitInHalf', () => {
  it('cuts where the bytes are halved, never leaving a half empty', () => {
    expect(ids(splitInHalf(docs(4)))).toEqual([['r0', 'r1'], ['r2', 'r3']]);
    expect(ids(splitInHalf(docs(5)))).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4']]);
    expect(ids(splitInHalf([sized('a', 100), sized('b', 100), sized('big', 1_000)]))).toEqual([['a', 'b'], ['big']]);
    expect(ids(splitInHalf([sized('big', 1_000), sized('a', 100), sized('b', 100)]))).toEqual([['big'], ['a', 'b']]);
    expect(ids(splitInHalf(docs(2)))).toEqual([['r0'], ['r1']]);
  });
});

describe('latestPerDocument', () => {
  it('keeps only the last of documents with the same index and id, and every document without an id', () => {
    const first = doc({ id: 'w1', revision: 0 });
    const other = doc({ id: 'w2', revision: 0 });
    const anonymous = doc({ count: 1 });
    const second = doc({ id: 'w1', revision: 1 });
    expect(latestPerDocument([first, other, anonymous, anonymous, second])).toEqual([other, anonymous, anonymous, second]);
    const dated = openSearchEncoder(compileIndexName('r-%Y'));
    const inOneYear = dated({ id: 'same', windowStart: Date.UTC(2025, 0) }) as EncodedDocument;
    const inAnother = dated({ id: 'same', windowStart: Date.UTC(2026, 0) }) as EncodedDocument;
    expect(latestPerDocument([inOneYear, inAnother])).toEqual([inOneYear, inAnother]);
  });
});
