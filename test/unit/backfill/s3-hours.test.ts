import { describe, expect, it } from 'vitest';
import { hourOfKey, hourPrefix, listHours, parseS3Url, S3ObjectReader, type S3Service } from '../../../src/ingest/s3/index.js';
import { parseRange, parseTime } from '../../../src/backfill/range.js';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 22);

/** An in-memory bucket: what the source asks of S3, nothing more. */
function bucket(objects: Record<string, string | Buffer>): S3Service & { listed: string[] } {
  const listed: string[] = [];
  return {
    listed,
    async list(_bucket, prefix) {
      listed.push(prefix);
      return Object.keys(objects)
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map((key) => ({ key, size: Buffer.byteLength(objects[key] as string | Buffer) }));
    },
    async get(_bucket, key) {
      const body = objects[key];
      if (body === undefined) throw new Error('NoSuchKey');
      return Buffer.from(body);
    },
    async stream(_bucket, key) {
      const body = objects[key];
      if (body === undefined) throw new Error('NoSuchKey');
      return Readable.from([Buffer.from(body)]);
    },
    close() {},
  };
}

describe('S3 hours', () => {
  it('names Firehose hour prefixes in UTC and reads them back', () => {
    expect(hourPrefix(T0 + 2 * H + 5)).toBe('2026/01/02/00/');
    expect(hourOfKey('p/2026/01/02/00/x.gz', 'p/')).toBe(T0 + 2 * H);
    expect(hourOfKey('p/other/x.gz', 'p/')).toBeUndefined();
  });

  it('parses s3 URLs and refuses others with one line', () => {
    expect(parseS3Url('s3://my-bucket/clicks')).toEqual({ bucket: 'my-bucket', prefix: 'clicks/' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Url('s3://')).toThrow(/is not an S3 address/);
  });

  it('lists only the hours overlapping [start, end)', async () => {
    const s3 = bucket({
      'p/2026/01/01/21/a': 'x',
      'p/2026/01/01/22/a': 'x',
      'p/2026/01/01/23/a': 'x',
      'p/2026/01/02/00/a': 'x',
    });
    const objects = await listHours({ service: s3, bucket: 'b', prefix: 'p/', start: T0 + 30 * 60_000, end: T0 + 2 * H });
    expect(objects.map((o) => o.key)).toEqual(['p/2026/01/01/22/a', 'p/2026/01/01/23/a']);
    expect(s3.listed).toEqual(['p/2026/01/01/22/', 'p/2026/01/01/23/']);
    // open start: the whole prefix, filtered by the hour in each key
    const open = await listHours({ service: s3, bucket: 'b', prefix: 'p/', start: null, end: T0 + H });
    expect(open.map((o) => o.key)).toEqual(['p/2026/01/01/21/a', 'p/2026/01/01/22/a']);
  });
});

describe('S3ObjectReader', () => {
  it('reads gzip and plain objects line by line and resumes after a line', async () => {
    const s3 = bucket({ gz: gzipSync('{"a":1}\n\n{"a":2}\r\n{"a":3}'), plain: '{"a":1}\n{"a":2}\n' });
    const reader = new S3ObjectReader(s3, { bucket: 'b', key: 'gz', batchSize: 2 });
    const first = await reader.read();
    expect(first?.map((e) => [e.value, e.position])).toEqual([
      ['{"a":1}', { object: 'gz', line: 1 }],
      ['{"a":2}', { object: 'gz', line: 3 }],
    ]);
    expect((await reader.read())?.map((e) => e.value)).toEqual(['{"a":3}']);
    expect(await reader.read()).toBeNull();
    const resumed = new S3ObjectReader(s3, { bucket: 'b', key: 'gz', batchSize: 10, afterLine: 3 });
    expect((await resumed.read())?.map((e) => e.value)).toEqual(['{"a":3}']);
    expect(new S3ObjectReader(s3, { bucket: 'b', key: 'plain', batchSize: 10 }).partition).toBe('s3://b/plain');
    await expect(new S3ObjectReader(s3, { bucket: 'b', key: 'gone', batchSize: 10 }).read()).rejects.toThrow(/cannot read 's3:\/\/b\/gone': NoSuchKey/);
  });
});

describe('range', () => {
  it('takes epoch ms and ISO-8601 and wants end after start', () => {
    expect(parseTime('1767261600000', '--start')).toBe(1767261600000);
    expect(parseTime('2026-01-01T10:00:00', '--start')).toBe(Date.UTC(2026, 0, 1, 10));
    expect(() => parseTime('yesterday', '--start')).toThrow(/--start 'yesterday' is not a time/);
    expect(() => parseRange('2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z')).toThrow(/is not after --start/);
  });
});
