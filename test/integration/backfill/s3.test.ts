import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto, type TestDeliveryStream } from '../../support/moto.js';
import { ensureBuilt, expectOneLineError, scratch, sluice } from '../cli/cli.js';
import { eventLines, eventsIn } from '../recovery/recovery.js';
import { windowModule } from './backfill.js';

const moto = useMoto();
let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
let stream: TestDeliveryStream;
const env = (): Record<string, string> => ({ SLUICE_AWS_ENDPOINT: moto.endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey });
/** The events of each hour 00, 01, 02 of 2026-01-01, as Firehose would have delivered them. */
const hours: string[][] = [];

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  module = await windowModule(dir);
  stream = await moto.createDeliveryStream();
  // events 2 s apart over three hours: 1800 an hour
  const all = eventLines({ seed: 3, count: 5400, stepMs: 2000, keys: 8, maxDisorderMs: 4000, lateFraction: 0, lateSpreadMs: 0 }).trimEnd().split('\n');
  for (let h = 0; h < 3; h++) hours.push(all.slice(h * 1800, (h + 1) * 1800));
  const s3 = new S3Client({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true });
  const put = (key: string, body: string | Buffer): Promise<unknown> => s3.send(new PutObjectCommand({ Bucket: stream.bucket, Key: `${stream.prefix}${key}`, Body: body }));
  for (let h = 0; h < 3; h++) {
    const lines = hours[h] as string[];
    // two objects an hour, the second gzip (Firehose's GZIP compression), named without .gz
    await put(`2026/01/01/0${h}/stream-1-a`, lines.slice(0, 900).join('\n') + '\n');
    await put(`2026/01/01/0${h}/stream-1-b`, gzipSync(lines.slice(900).join('\n') + '\n'));
  }
  s3.destroy();
  await writeFile(join(dir, 'hour-01.jsonl'), (hours[1] as string[]).join('\n') + '\n');
  await writeFile(join(dir, 'hour-02.jsonl'), (hours[2] as string[]).join('\n') + '\n');
}, 600_000);
afterAll(() => cleanup());

describe('sluice backfill from S3', () => {
  it('--plan lists only the objects of the hours in range, with their sizes', async () => {
    const from = `s3://${stream.bucket}/${stream.prefix}`;
    const result = await sluice(['backfill', module, '--from', from, '--start', '2026-01-01T01:30:00Z', '--end', '2026-01-01T03:00:00Z', '--plan'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    const keys = result.outLines.slice(0, -1).map((line) => line.split('\t')[0]);
    expect(keys).toEqual(['01/stream-1-a', '01/stream-1-b', '02/stream-1-a', '02/stream-1-b'].map((k) => `${from}2026/01/01/${k}`));
    for (const line of result.outLines.slice(0, -1)) expect(Number(line.split('\t')[1])).toBeGreaterThan(0);
    expect(result.outLines.at(-1)).toMatch(/^4 partitions, \d+ bytes for \[2026-01-01T01:30:00.000Z, 2026-01-01T03:00:00.000Z\)$/);
  });

  it('backfills the hours in range and equals the file backfill of the same events', async () => {
    const out = join(dir, 's3.jsonl');
    const result = await sluice(
      ['backfill', module, '--from', `s3://${stream.bucket}/${stream.prefix}`, '--start', '2026-01-01T01:00:00Z', '--end', '2026-01-01T03:00:00Z', '--sink', `file:${out}`],
      { env: env() },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(eventsIn(result.stderr)).toBe(3600);
    const files = await sluice(['backfill', module, '--from', `file:${join(dir, 'hour-0*.jsonl')}`, '--sink', `file:${join(dir, 'files.jsonl')}`]);
    expect(files.code, files.stderr).toBe(0);
    const diff = await sluice(['diff', join(dir, 'files.jsonl'), out]);
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.outLines[0]).toMatch(/^[1-9]\d* same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, 0 re-fired late$/);
  });

  it('a range that selects no objects is a one-line error, not an empty success', async () => {
    const result = await sluice(['backfill', module, '--from', `s3://${stream.bucket}/${stream.prefix}`, '--start', '2026-01-01T05:00:00Z', '--end', '2026-01-01T06:00:00Z', '--sink', `file:${join(dir, 'empty.jsonl')}`], { env: env() });
    expect(expectOneLineError(result, 1)).toBe(
      `sluice: no objects under 's3://${stream.bucket}/${stream.prefix}' for the hours in [2026-01-01T05:00:00.000Z, 2026-01-01T06:00:00.000Z) (layout PREFIX/YYYY/MM/DD/HH/)`,
    );
  });
});
