import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonical, finalResults, type ResultRecord } from '../../../src/backfill/diff.js';
import { hourPrefix } from '../../../src/ingest/s3/index.js';
import type { CaptureRecord } from '../../../src/replay/capture-format.js';
import { useKafka } from '../../support/kafka.js';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto, type TestDeliveryStream } from '../../support/moto.js';
import { ensureBuilt, scratch, sluice } from '../cli/cli.js';
import { useCliRuns } from '../kafka/cli-runs.js';
import { BASE_TIME, completeLines, eventLines, eventsIn, sleep } from '../recovery/recovery.js';
import { lateWindowModule } from './backfill.js';

// The proof of backfill parity, end to end: the same events once live (a capture replayed
// into a keyed multi-partition Kafka topic, read by `sluice run` in a consumer group) and once as
// an archive holds them (in event-time order, in S3 in the Firehose layout, read by `sluice
// backfill`). `sluice diff LIVE BACKFILL` matches; the windows the live run re-fired for its late
// events are in the re-fired-late section, never among the differences.

const kafka = useKafka();
const moto = useMoto();
const start = useCliRuns();

const PARTITIONS = 4;
const HOUR = 3_600_000;
/** Three hours of events a second apart, starting 10 minutes past BASE_TIME: hours 00 to 03. */
const EVENTS = 3 * 3600;
const FIRST = BASE_TIME + 10 * 60_000;
const RANGE = ['--start', new Date(BASE_TIME).toISOString(), '--end', new Date(BASE_TIME + 4 * HOUR).toISOString()];

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
let topic = '';
let archive: TestDeliveryStream;
let results: TestDeliveryStream;
const env = (): Record<string, string> => ({ SLUICE_AWS_ENDPOINT: moto.endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey });
const path = (name: string): string => join(dir, name);
const ts = (line: string): number => (JSON.parse(line) as { ts: number }).ts;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  // allowed lateness 1 min: every late event (at most ~24 s behind the newest) re-fires its window
  module = await lateWindowModule(dir, '1m');
  const lines = eventLines({ seed: 21, count: EVENTS, stepMs: 1000, offsetMs: FIRST - BASE_TIME, keys: 8, maxDisorderMs: 4000, lateFraction: 0.02, lateSpreadMs: 20_000 }).trimEnd().split('\n');

  // the capture: keyed records, so that replay puts each key in one partition; then one sentinel per
  // partition (keyless, so it goes to the captured partition) far in the future, which moves that
  // partition's watermark past every real window
  const capture: CaptureRecord[] = lines.map((value, i) => ({ partition: 0, offset: String(i), timestamp: null, key: (JSON.parse(value) as { k: string }).k, headers: {}, value }));
  for (let p = 0; p < PARTITIONS; p++) {
    const value = JSON.stringify({ k: `zz-end-${p}`, ts: BASE_TIME + 1000 * 24 * HOUR, v: 0, seq: -1 });
    capture.push({ partition: p, offset: String(EVENTS + p), timestamp: null, key: null, headers: {}, value });
  }
  await writeFile(path('capture.jsonl.gz'), gzipSync(capture.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  topic = await kafka.createTopic({ prefix: 'parity', partitions: PARTITIONS });
  const replay = await sluice(['replay', '--from', path('capture.jsonl.gz'), '--to', `kafka://${kafka.bootstrap}/${topic}`, '--speed', 'max']);
  expect(replay.code, replay.stderr).toBe(0);

  // the archive: the same events in event-time order, one folder per event hour, two objects an
  // hour of which the second is gzip (Firehose's GZIP compression, named without .gz)
  archive = await moto.createDeliveryStream();
  results = await moto.createDeliveryStream();
  const sorted = [...lines].sort((x, y) => ts(x) - ts(y));
  const byHour = new Map<string, string[]>();
  for (const line of sorted) byHour.set(hourPrefix(ts(line)), [...(byHour.get(hourPrefix(ts(line))) ?? []), line]);
  expect([...byHour.keys()]).toEqual(['2026/01/01/00/', '2026/01/01/01/', '2026/01/01/02/', '2026/01/01/03/']);
  const s3 = new S3Client({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true });
  try {
    for (const [hour, events] of byHour) {
      const half = Math.ceil(events.length / 2);
      await s3.send(new PutObjectCommand({ Bucket: archive.bucket, Key: `${archive.prefix}${hour}archive-1-a`, Body: events.slice(0, half).join('\n') + '\n' }));
      await s3.send(new PutObjectCommand({ Bucket: archive.bucket, Key: `${archive.prefix}${hour}archive-1-b`, Body: gzipSync(events.slice(half).join('\n') + '\n') }));
    }
  } finally {
    s3.destroy();
  }
}, 900_000);
afterAll(() => cleanup());

/** The highest revision per id of a results file (complete lines: the live run may be writing it). */
async function finals(file: string): Promise<Map<string, ResultRecord>> {
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  return finalResults(completeLines(text).map((line) => JSON.parse(line) as unknown)).results;
}

/** A result without its revision: what a late re-firing must end at. */
const content = (r: ResultRecord | undefined): string => (r === undefined ? '' : canonical({ ...r, revision: 0 }));

describe('backfill parity: live over Kafka vs backfill of the same events from S3', () => {
  it('sluice diff LIVE BACKFILL exits 0; the windows the live run re-fired are in the re-fired-late section', async () => {
    const backfill = await sluice(['backfill', module, '--from', `s3://${archive.bucket}/${archive.prefix}`, ...RANGE, '--sink', `file:${path('backfill.jsonl')}`, '--sink', `firehose://${results.name}`], { env: env() });
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(eventsIn(backfill.stderr)).toBe(EVENTS);
    const expected = await finals(path('backfill.jsonl'));
    expect(expected.size).toBeGreaterThan(500);
    // in event-time order, nothing was late: every window fired once
    expect([...expected.values()].filter((r) => r.revision > 0)).toEqual([]);

    const live = start(['run', module, '--source', `kafka://${kafka.bootstrap}/${topic}?group=parity`, '--sink', `file:${path('live.jsonl')}`]);
    const pending = async (): Promise<string[]> => ((have) => [...expected].filter(([id, r]) => content(have.get(id)) !== content(r)).map(([id]) => id))(await finals(path('live.jsonl')));
    try {
      for (let i = 0; i < 1200 && (await pending()).length > 0; i++) await sleep(100);
    } finally {
      live.child.kill('SIGTERM');
    }
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);
    expect(await pending(), live.stderr()).toEqual([]);

    const refired = [...(await finals(path('live.jsonl'))).values()].filter((r) => r.revision > 0).map((r) => r.id);
    expect(refired.length).toBeGreaterThan(0);
    const diff = await sluice(['diff', path('live.jsonl'), path('backfill.jsonl'), '--examples', String(refired.length)]);
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.outLines[0]).toBe(`${expected.size - refired.length} same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, ${refired.length} re-fired late`);
    expect(diff.outLines.at(-1)).toBe('result sets match');
    // the section lists each of them, and they differ in their revision only: the live run's late
    // events all made it into its final results
    const section = diff.outLines.slice(diff.outLines.findIndex((l) => l.startsWith('re-fired late (')) + 1, -1);
    expect(section.map((l) => l.trim().split(':')[0]).sort()).toEqual([...refired].sort());
    for (const line of section) expect(line).toMatch(/^ {2}[^:]+: A \{"revision":[1-9]\d*\} B \{"revision":0\}$/);
  }, 300_000);

  it('sluice diff reads an s3:// prefix: the backfill results a Firehose sink delivered equal the file', async () => {
    const prefix = `s3://${results.bucket}/${results.prefix}`;
    const [asFile, live] = [await finals(path('backfill.jsonl')), await finals(path('live.jsonl'))];
    const same = await sluice(['diff', path('backfill.jsonl'), prefix], { env: env() });
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.outLines[0]).toBe(`${asFile.size} same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, 0 re-fired late`);
    const vsLive = await sluice(['diff', path('live.jsonl'), prefix], { env: env() });
    expect(vsLive.code, vsLive.stdout + vsLive.stderr).toBe(0);
    const refired = [...live.values()].filter((r) => r.revision > 0).length;
    expect(vsLive.outLines[0]).toBe(`${asFile.size - refired} same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, ${refired} re-fired late`);

    const nowhere = await sluice(['diff', path('backfill.jsonl'), `s3://${results.bucket}/no-such-prefix/`], { env: env() });
    expect(nowhere.code).toBe(1);
    expect(nowhere.errLines).toEqual([`sluice: no objects under 's3://${results.bucket}/no-such-prefix/'`]);
  }, 120_000);

  it('fails, naming the result, when one line of the backfill is dropped or altered', async () => {
    const lines = completeLines(await readFile(path('backfill.jsonl'), 'utf8'));
    const live = await finals(path('live.jsonl'));
    // windows the live run fired once: a difference there is a failure whatever the revisions
    const once = lines.map((line, i) => ({ i, r: JSON.parse(line) as ResultRecord & { count: number } })).filter(({ r }) => live.get(r.id)?.revision === 0);
    const pick = (n: number): { i: number; r: ResultRecord & { count: number } } => {
      const found = once[n];
      if (found === undefined) throw new Error(`only ${once.length} windows the live run fired once`);
      return found;
    };
    const [dropped, altered] = [pick(10), pick(20)];

    await writeFile(path('dropped.jsonl'), lines.filter((_, i) => i !== dropped.i).join('\n') + '\n');
    const missing = await sluice(['diff', path('live.jsonl'), path('dropped.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.outLines[0]).toMatch(/ same, 1 missing from B, 0 extra in B, 0 different, 0 at range edges, [1-9]\d* re-fired late$/);
    expect(missing.outLines).toContain('missing from B (1):');
    expect(missing.stdout).toContain(`"id":"${dropped.r.id}"`);
    expect(missing.outLines.at(-1)).toBe('result sets differ');

    const changed = lines.map((line, i) => (i === altered.i ? JSON.stringify({ ...altered.r, count: altered.r.count + 1 }) : line));
    await writeFile(path('altered.jsonl'), changed.join('\n') + '\n');
    const different = await sluice(['diff', path('live.jsonl'), path('altered.jsonl')]);
    expect(different.code).toBe(1);
    expect(different.outLines[0]).toMatch(/ same, 0 missing from B, 0 extra in B, 1 different, 0 at range edges, [1-9]\d* re-fired late$/);
    expect(different.outLines).toContain(`  ${altered.r.id}: A {"count":${altered.r.count}} B {"count":${altered.r.count + 1}}`);
  }, 120_000);
});
