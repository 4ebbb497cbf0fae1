import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import aggregation from 'aws-kinesis-agg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCaptureLine, type CaptureRecord } from '../../../src/replay/capture-format.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis, type ReadRecord } from '../../support/kinesis.js';
import { ensureBuilt, scratch, sluice } from './cli.js';

// `sluice replay --to kinesis://` on kinesis-local: every captured record arrives once, with the
// captured key as partition key (or its captured partition when it had none), in per-key order,
// paced by the captured timestamps; aggregated on request; a missing stream is one clear line.

const kinesis = useKinesis();
let dir: string;
let cleanup: () => Promise<void>;
let capturePath: string;
const capture: CaptureRecord[] = [];
/** Captured timestamps span this long; at --speed 2 the replay takes at least half of it. */
const SPAN_MS = 1_600;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  for (let i = 0; i < 400; i++) {
    // keyed records from a Kinesis capture, and a keyless partition (a file or generator capture)
    const keyless = i % 10 === 9;
    capture.push({
      partition: keyless ? 'gen-1' : `shardId-00000000000${i % 2}`,
      offset: String(i),
      timestamp: 1_793_536_140_000 + Math.floor((i * SPAN_MS) / 400),
      key: keyless ? null : `user-${i % 23}`,
      headers: {},
      value: JSON.stringify({ seq: i, page: `/p/${i % 5}` }),
    });
  }
  capturePath = join(dir, 'capture.jsonl');
  await writeFile(capturePath, capture.map(encodeCaptureLine).join(''));
});
afterAll(() => cleanup());

const env = (): Record<string, string> => ({ SLUICE_KINESIS_ENDPOINT: kinesis.endpoint });

/** User records of a stream, aggregated records de-aggregated, in shard order. */
function userRecords(records: readonly ReadRecord[]): { partitionKey: string; data: string }[] {
  return records.flatMap((record) => {
    if (!record.data.subarray(0, 4).equals(Buffer.from([0xf3, 0x89, 0x9a, 0xc2]))) return [{ partitionKey: record.partitionKey, data: record.data.toString('utf8') }];
    let out: { partitionKey: string; data: string }[] = [];
    aggregation.deaggregateSync(
      { data: record.data.toString('base64'), partitionKey: record.partitionKey, sequenceNumber: record.sequenceNumber, approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' },
      true,
      (err, users) => {
        if (err) throw err;
        out = (users ?? []).map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data, 'base64').toString('utf8') }));
      },
    );
    return out;
  });
}

const expectedKey = (r: CaptureRecord): string => r.key ?? String(r.partition);

function expectAllOnce(users: readonly { partitionKey: string; data: string }[]): void {
  expect(users).toHaveLength(capture.length);
  expect(new Set(users.map((u) => u.data)).size).toBe(capture.length);
  const byValue = new Map(users.map((u) => [u.data, u.partitionKey]));
  for (const record of capture) expect(byValue.get(record.value as string)).toBe(expectedKey(record));
  // per partition key, the captured order
  for (const key of ['user-4', 'gen-1']) {
    expect(users.filter((u) => u.partitionKey === key).map((u) => u.data)).toEqual(capture.filter((r) => expectedKey(r) === key).map((r) => r.value));
  }
}

describe('sluice replay --to kinesis://', { timeout: KINESIS_START_TIMEOUT_MS }, () => {
  it('puts every captured record once with its key as partition key, at the captured pace', async () => {
    const stream = await kinesis.createStream(2);
    const started = performance.now();
    const result = await sluice(['replay', '--from', capturePath, '--to', `kinesis://${stream}`, '--speed', '2'], { env: env() });
    const elapsed = performance.now() - started;
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines).toEqual([expect.stringMatching(new RegExp(`^sluice replay: 400 records from .*capture\\.jsonl to kinesis://${stream} \\(2 shards\\) in \\d+\\.\\d s$`))]);
    // pacing waits: a lower bound only (an upper bound would depend on the machine)
    expect(elapsed).toBeGreaterThanOrEqual(SPAN_MS / 2 - 50);
    const records = await kinesis.readAll(stream);
    expect(records).toHaveLength(capture.length);
    expectAllOnce(userRecords(records));
  });

  it('?aggregate=true packs the records into fewer Kinesis records', async () => {
    const stream = await kinesis.createStream(2);
    const result = await sluice(['replay', '--from', capturePath, '--to', `kinesis://${stream}?aggregate=true`, '--speed', 'max'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    const records = await kinesis.readAll(stream);
    expect(records.length).toBeLessThan(capture.length / 10);
    expectAllOnce(userRecords(records));
  });

  it('a missing stream fails before anything is sent, with one line that says to create it', async () => {
    const result = await sluice(['replay', '--from', capturePath, '--to', 'kinesis://not-there', '--speed', 'max'], { env: env() });
    expect(result.code).not.toBe(0);
    expect(result.errLines).toEqual([expect.stringContaining("Kinesis stream 'not-there' does not exist; create it first")]);
  });

  it('refuses key= (keys come from the capture)', async () => {
    const result = await sluice(['replay', '--from', capturePath, '--to', 'kinesis://s?key=id'], { env: env() });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('a replay takes partition keys from the capture; remove key=');
  });
});
