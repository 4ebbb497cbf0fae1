import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../src/core/errors.js';
import { FIREHOSE_MAX_RECORD_BYTES, openFirehoseSink, parseFirehoseUrl, type FirehoseSink } from '../../../src/sinks/firehose/index.js';
import { MOTO_CREDENTIALS, useMoto, type TestDeliveryStream } from '../../support/moto.js';

// The Firehose sink against a real moto server: moto's Firehose writes each PutRecordBatch call
// to its ExtendedS3 destination as one object, unbuffered, so what a write sent can be read back
// from S3 at once and compared line by line.

const moto = useMoto();

const PAGES = ['/', '/help', '/pricing', '/docs/getting-started', '/blog/2026/11/windows'];

/** Window results as the window operator emits them, `count` of them, each line distinct. */
function results(count: number, start = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    const windowStart = 1_793_536_140_000 + Math.floor(n / PAGES.length) * 60_000;
    return {
      id: `r${String(n).padStart(6, '0')}`,
      key: { page: PAGES[n % PAGES.length] },
      windowStart,
      windowEnd: windowStart + 60_000,
      revision: 0,
      count: (n * 7) % 50,
      avg_dwellMs: 1000 + n / 8,
      distinct_userId: n % 13,
    };
  });
}

async function open(stream: TestDeliveryStream, query = ''): Promise<FirehoseSink> {
  const endpoint = parseFirehoseUrl(`firehose://${stream.name}${query}`, '--sink', {});
  return openFirehoseSink(endpoint, { env: { SLUICE_AWS_ENDPOINT: moto.endpoint }, credentials: MOTO_CREDENTIALS });
}

/** Every line of every object under the stream's prefix, after checking each object is whole lines. */
async function delivered(stream: TestDeliveryStream): Promise<string[]> {
  const objects = await moto.readObjects(stream.bucket, stream.prefix);
  expect(objects.length).toBeGreaterThan(0);
  const lines: string[] = [];
  for (const { key, body } of objects) {
    expect(key.startsWith(stream.prefix)).toBe(true);
    expect(body.endsWith('\n'), `object ${key} ends with a newline`).toBe(true);
    lines.push(...body.slice(0, -1).split('\n'));
  }
  return lines;
}

const sorted = (lines: readonly string[]): string[] => [...lines].sort();

describe('Firehose sink on moto', () => {
  it('delivers every result exactly once as one NDJSON line, in calls of at most 500 records', async () => {
    const stream = await moto.createDeliveryStream();
    const sink = await open(stream);
    const written = [...results(700), ...results(500, 700)];
    expect(await sink.write(written.slice(0, 700))).toBeUndefined();
    expect(await sink.write(written.slice(700))).toBeUndefined();
    await sink.close();

    const lines = await delivered(stream);
    expect(lines).toHaveLength(written.length);
    expect(sorted(lines)).toEqual(sorted(written.map((r) => JSON.stringify(r))));
    for (const line of lines.slice(0, 10)) expect(JSON.parse(line)).toHaveProperty('key.page');
    const metrics = sink.metrics();
    expect(metrics).toMatchObject({ records: 1200, firehoseRecords: 1200, putCalls: 3, retriedRecords: 0, rejected: 0 });
    expect(metrics.billedBytes).toBe(1200 * 5120);
    expect(metrics.billedBytesUnpacked).toBe(metrics.billedBytes);
  });

  it('packs many results into one Firehose record: the same lines in S3, far fewer billed bytes', async () => {
    const written = results(1000);
    const plain = await moto.createDeliveryStream();
    const packed = await moto.createDeliveryStream();
    const plainSink = await open(plain);
    const packedSink = await open(packed, '?pack=true');
    await plainSink.write(written);
    await packedSink.write(written);
    await plainSink.close();
    await packedSink.close();

    const expected = sorted(written.map((r) => JSON.stringify(r)));
    expect(sorted(await delivered(plain))).toEqual(expected);
    expect(sorted(await delivered(packed))).toEqual(expected);

    const unpacked = plainSink.metrics();
    const saved = packedSink.metrics();
    expect(saved.records).toBe(1000);
    // ~170 bytes a result: all of them fit in one 1,000 KiB record
    expect(saved.firehoseRecords).toBe(1);
    expect(saved.putCalls).toBe(1);
    const bytes = written.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    expect(saved.billedBytes).toBe(Math.ceil(bytes / 5120) * 5120);
    expect(saved.billedBytesUnpacked).toBe(unpacked.billedBytes);
    expect(saved.billedBytes * 20).toBeLessThan(unpacked.billedBytes);
  });

  it('returns a result over the record limit as rejected, unsent, and delivers the rest', async () => {
    const stream = await moto.createDeliveryStream();
    const sink = await open(stream);
    const [first, second] = results(2);
    const huge = { id: 'huge', key: { page: '/huge' }, windowStart: 0, windowEnd: 60_000, revision: 0, blob: 'x'.repeat(FIREHOSE_MAX_RECORD_BYTES) };
    const outcome = await sink.write([first, huge, second]);
    await sink.close();

    expect(outcome?.rejected).toHaveLength(1);
    expect(outcome?.rejected[0]?.record).toBe(huge);
    expect(outcome?.rejected[0]?.code).toBe(ErrorCode.RECORD_TOO_LARGE);
    expect(outcome?.rejected[0]?.reason).toMatch(/^result 'huge' is \d+ bytes as a Firehose record .* over the limit of 1024000 bytes per record$/);
    expect(sorted(await delivered(stream))).toEqual(sorted([JSON.stringify(first), JSON.stringify(second)]));
  });

  it('fails at open with one line naming a delivery stream that does not exist', async () => {
    const endpoint = parseFirehoseUrl('firehose://no-such-stream?region=us-east-1', '--sink', {});
    const error = await openFirehoseSink(endpoint, { endpointUrl: moto.endpoint, credentials: MOTO_CREDENTIALS }).then(
      () => new Error('expected a failure'),
      (err: unknown) => err as Error,
    );
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe("Firehose delivery stream 'no-such-stream' in us-east-1 does not exist; create it first (Sluice does not create delivery streams)");
    expect(error.message).not.toContain('\n');
  });
});
