import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Raw } from '../../../../src/core/envelope.js';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { S3ObjectReader, type S3Service } from '../../../../src/ingest/s3/index.js';

// The S3 object reader over a fake service whose bodies arrive in chunks cut wherever a test
// wants: lines, `\r\n`, UTF-8 characters and the gzip magic split across chunks.

type Body = () => Readable;

/** A bucket of bodies; each `stream` call records the stream it handed out. */
function bucket(objects: Record<string, Body>): S3Service & { opened: Readable[] } {
  const opened: Readable[] = [];
  return {
    opened,
    list: () => Promise.resolve([]),
    get: () => Promise.reject(new Error('the reader streams; it never gets a whole object')),
    stream(_bucket, key) {
      const body = objects[key];
      if (body === undefined) return Promise.reject(new Error('NoSuchKey: The specified key does not exist.\n<Error><Code>NoSuchKey</Code></Error>'));
      const stream = body();
      opened.push(stream);
      return Promise.resolve(stream);
    },
    close() {},
  };
}

/** `bytes` in chunks of `size` bytes (the last one shorter). */
const chunked = (bytes: Buffer, size: number): Body => () => {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks, { objectMode: false });
};

/** What the reader must produce, by the definition the whole-object reader had. */
function expected(text: string, afterLine = 0): [string, number][] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines
    .map((l, i): [string, number] => [l.endsWith('\r') ? l.slice(0, -1) : l, i + 1])
    .filter(([l, n]) => n > afterLine && l.trim() !== '');
}

async function readAll(service: S3Service, key: string, options: { batchSize?: number; afterLine?: number } = {}): Promise<[Raw, number][]> {
  const reader = new S3ObjectReader(service, { bucket: 'b', key, batchSize: options.batchSize ?? 3, afterLine: options.afterLine });
  const out: [Raw, number][] = [];
  for (let batch = await reader.read(); batch !== null; batch = await reader.read()) {
    expect(batch.length).toBeLessThanOrEqual(options.batchSize ?? 3);
    for (const e of batch) {
      expect(Object.keys(e.position)).toEqual(['object', 'line']);
      expect(e.position['object']).toBe(key);
      out.push([e.value as Raw, e.position['line'] as number]);
    }
  }
  await reader.close();
  return out;
}

const TEXT = '{"a":1}\r\n\n{"s":"ü€"}\r\n  \r\n{"a":3}\n\n{"a":4}\r\n{"last":"no newline"}';

describe('S3ObjectReader', () => {
  it('splits plain objects cut anywhere: mid-line, mid-\\r\\n, mid-character', async () => {
    const want = expected(TEXT);
    expect(want.map(([, n]) => n)).toEqual([1, 3, 5, 7, 8]);
    const bytes = Buffer.from(TEXT);
    for (let size = 1; size <= bytes.length; size++) {
      expect(await readAll(bucket({ k: chunked(bytes, size) }), 'k'), `chunks of ${size}`).toEqual(want);
    }
  });

  it('gunzips objects that start with the magic bytes, even when they arrive one byte at a time', async () => {
    const zipped = gzipSync(TEXT + '\n');
    for (const size of [1, 2, 3, 5, 16, zipped.length]) {
      expect(await readAll(bucket({ 'k.gz': chunked(zipped, size) }), 'k.gz'), `chunks of ${size}`).toEqual(expected(TEXT));
    }
  });

  it('reads objects shorter than the magic and empty ones', async () => {
    const s3 = bucket({ one: chunked(Buffer.from('1'), 1), gzipByte: chunked(Buffer.from([0x1f]), 1), empty: () => Readable.from([], { objectMode: false }) });
    expect(await readAll(s3, 'one')).toEqual([['1', 1]]);
    expect(await readAll(s3, 'gzipByte')).toEqual([['\x1f', 1]]);
    expect(await readAll(s3, 'empty')).toEqual([]);
  });

  it('resumes after any line, counting the skipped blank ones', async () => {
    const zipped = gzipSync(TEXT);
    const lines = TEXT.split('\n').length;
    for (let after = 0; after <= lines; after++) {
      expect(await readAll(bucket({ k: chunked(zipped, 4) }), 'k', { afterLine: after }), `after ${after}`).toEqual(expected(TEXT, after));
    }
    await expect(readAll(bucket({ k: chunked(zipped, 4) }), 'k', { afterLine: lines + 1 })).rejects.toThrow(
      `cannot read 's3://b/k': the checkpoint resumes after line ${lines + 1} but the object has ${lines} lines; it changed since`,
    );
  });

  it('turns a failed GET, a corrupt or cut gzip stream and a failing body into one line naming the object', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `{"i":${i}}`).join('\n');
    const zipped = gzipSync(lines);
    const corrupt = Buffer.from(zipped);
    corrupt.fill(0x55, 2000, 2100);
    const failing: Body = () =>
      Readable.from(
        (async function* () {
          yield Buffer.from('{"a":1}\n{"a":2}\n');
          throw new Error('socket hang up\n    at TLSSocket.onClose');
        })(),
        { objectMode: false },
      );
    const s3 = bucket({ corrupt: chunked(corrupt, 64), cut: chunked(zipped.subarray(0, zipped.length - 100), 64), failing });
    for (const [key, message] of [
      ['gone', /^cannot read 's3:\/\/b\/gone': NoSuchKey: The specified key does not exist\.$/],
      ['corrupt', /^cannot read 's3:\/\/b\/corrupt': [^\n]+$/],
      ['cut', /^cannot read 's3:\/\/b\/cut': unexpected end of file$/],
      ['failing', /^cannot read 's3:\/\/b\/failing': socket hang up$/],
    ] as const) {
      const error: unknown = await readAll(s3, key, { batchSize: 1000 }).catch((err: unknown) => err);
      expect(error, key).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe(ErrorCode.UNREADABLE_INPUT);
      expect((error as UserError).message, key).toMatch(message);
    }
    // a failure destroys what was streaming
    expect(s3.opened.every((s) => s.destroyed)).toBe(true);
  });

  it('pulls only about a batch ahead of what it returned, whatever the object size', async () => {
    const LINES = 1_000_000;
    const PER_CHUNK = 100;
    let pulled = 0;
    const body: Body = () =>
      Readable.from(
        (function* () {
          for (let first = 1; first <= LINES; first += PER_CHUNK) {
            pulled += PER_CHUNK;
            yield Buffer.from(Array.from({ length: PER_CHUNK }, (_, i) => `{"n":${first + i},"pad":"${'x'.repeat(40)}"}\n`).join(''));
          }
        })(),
        { objectMode: false },
      );
    const s3 = bucket({ big: body });
    const reader = new S3ObjectReader(s3, { bucket: 'b', key: 'big', batchSize: 100 });
    for (let i = 0; i < 50; i++) expect((await reader.read())?.length).toBe(100);
    // 5,000 lines returned; what is held or buffered is a stream buffer's worth (64 KiB ≈ 1,100 lines)
    expect(pulled - 5000).toBeLessThan(5000);
    await reader.close();
    expect(s3.opened[0]?.destroyed).toBe(true);
    expect(await reader.read()).toBeNull();
    expect(pulled).toBeLessThan(LINES / 50);
  });

  it('pulls a gzip object only as far as the lines asked for, and resumes after a line near its end', async () => {
    const LINES = 1_000_000;
    const zipped = gzipSync(Array.from({ length: LINES }, (_, i) => `{"n":${i + 1}}\n`).join(''));
    let pulledBytes = 0;
    const body: Body = () =>
      Readable.from(
        (function* () {
          for (let at = 0; at < zipped.length; at += 1024) {
            pulledBytes += Math.min(1024, zipped.length - at);
            yield zipped.subarray(at, at + 1024);
          }
        })(),
        { objectMode: false },
      );
    const first = new S3ObjectReader(bucket({ z: body }), { bucket: 'b', key: 'z', batchSize: 10 });
    expect((await first.read())?.map((e) => e.value)).toEqual(Array.from({ length: 10 }, (_, i) => `{"n":${i + 1}}`));
    expect(pulledBytes).toBeLessThan(zipped.length / 10);
    await first.close();

    const resumed = new S3ObjectReader(bucket({ z: body }), { bucket: 'b', key: 'z', batchSize: 2, afterLine: LINES - 1 });
    expect((await resumed.read())?.map((e) => [e.value, e.position])).toEqual([[`{"n":${LINES}}`, { object: 'z', line: LINES }]]);
    expect(await resumed.read()).toBeNull();
  });

  it('closing before the first read returns nothing and opens nothing', async () => {
    const s3 = bucket({ k: chunked(Buffer.from('{"a":1}\n'), 3) });
    const reader = new S3ObjectReader(s3, { bucket: 'b', key: 'k', batchSize: 10 });
    await reader.close();
    expect(await reader.read()).toBeNull();
    expect(s3.opened).toEqual([]);
  });
});
