import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadResultSet } from '../../../src/backfill/diff.js';
import type { S3Service } from '../../../src/ingest/s3/index.js';

// `sluice diff` over s3://BUCKET/PREFIX: every object under the prefix (a Firehose sink's
// delivery, plain or gzip) through the S3 service's narrow interface; no network here.

const line = (id: string, revision: number, count: number): string => JSON.stringify({ id, revision, count, windowStart: 0, windowEnd: 60_000 });

function bucketOf(objects: Record<string, Buffer | string>): S3Service & { listed: string[]; closed: number } {
  const service = {
    listed: [] as string[],
    closed: 0,
    list(bucket: string, prefix: string) {
      service.listed.push(`${bucket}/${prefix}`);
      return Promise.resolve(
        Object.entries(objects)
          .filter(([key]) => key.startsWith(prefix))
          .map(([key, body]) => ({ key, size: Buffer.byteLength(body) })),
      );
    },
    get(_bucket: string, key: string) {
      const body = objects[key];
      return body === undefined ? Promise.reject(new Error(`NoSuchKey: ${key}`)) : Promise.resolve(Buffer.from(body));
    },
    stream(bucket: string, key: string) {
      return service.get(bucket, key).then((body) => Readable.from([body]));
    },
    close() {
      service.closed++;
    },
  };
  return service;
}

describe('loadResultSet over s3://BUCKET/PREFIX', () => {
  it('reads every object under the prefix, plain and gzip, to one result per id', async () => {
    const s3 = bucketOf({
      'live/2026/01/01/00/stream-1-a': `${line('a', 0, 1)}\n${line('b', 0, 2)}\n`,
      'live/2026/01/01/01/stream-1-b': gzipSync(`${line('b', 1, 3)}\n${line('c', 0, 4)}\n`),
      'other/2026/01/01/00/x': `${line('z', 0, 9)}\n`,
    });
    const loaded = await loadResultSet('s3://results/live', { s3: () => s3 });
    expect(s3.listed).toEqual(['results/live/']);
    expect([...loaded.results.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(loaded.results.get('b')).toMatchObject({ revision: 1, count: 3 });
    expect(loaded.conflicts).toBe(0);
    expect(s3.closed).toBe(1);
  });

  it('takes a range sidecar stored beside the results', async () => {
    const s3 = bucketOf({ 'bf/results.jsonl': `${line('a', 0, 1)}\n`, 'bf/results.jsonl.range.json': '{"start":0,"end":3600000}\n' });
    expect((await loadResultSet('s3://results/bf/', { s3: () => s3 })).ranges).toEqual([{ start: 0, end: 3_600_000 }]);
  });

  it('refuses an empty prefix, a bad line and an unreadable object with one line naming them', async () => {
    const s3 = bucketOf({ 'bad/a': `${line('a', 0, 1)}\nnot json\n` });
    await expect(loadResultSet('s3://results/none/', { s3: () => s3 })).rejects.toThrow("no objects under 's3://results/none/'");
    await expect(loadResultSet('s3://results/bad/', { s3: () => s3 })).rejects.toThrow("'s3://results/bad/a' line 2 is not JSON");
    const broken = { ...bucketOf({ 'x/a': '' }), get: () => Promise.reject(new Error('Access Denied\nstack')) };
    await expect(loadResultSet('s3://results/x/', { s3: () => broken })).rejects.toThrow(/^cannot read 's3:\/\/results\/x\/a': Access Denied$/);
    expect(s3.closed).toBe(2);
  });

  it('needs an S3 service to read s3:// and a well-formed address', async () => {
    await expect(loadResultSet('s3://results/live/')).rejects.toThrow(/cannot read S3/);
    await expect(loadResultSet('s3://X/live/', { s3: () => bucketOf({}) })).rejects.toThrow(/is not an S3 address/);
  });
});
