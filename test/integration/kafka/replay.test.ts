import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCaptureLine, type CaptureRecord } from '../../../src/replay/capture-format.js';
import { useKafka } from '../../support/kafka.js';
import { ensureBuilt, lines, sluice } from '../cli/cli.js';
import { sleep, start } from '../recovery/recovery.js';

// Record and replay on a real broker: a generator capture replayed and recorded back, keyed records
// keeping their partitions, and a pipeline over the replayed topic giving the file's results.

const kafka = useKafka();
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const EVENTS = 5000;
const GENERATOR = `generator:clickstream?events=${EVENTS}&partitions=3&seed=1`;

/** A record as a plain kafkajs consumer sees it. */
type Consumed = Readonly<{ partition: number; key: string | null; value: Buffer; headers: IHeaders }>;

async function readCaptureFile(path: string): Promise<CaptureRecord[]> {
  const bytes = await readFile(path);
  const text = path.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return lines(text).map((line, i) => decodeCaptureLine(line, `line ${i + 1}`));
}

/** Every record of a topic, per partition in offset order, read with a plain kafkajs consumer. */
async function consume(topic: string, count: number): Promise<Consumed[]> {
  const out: Consumed[] = [];
  const consumer = kafka.client().consumer({ groupId: `replay-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const all = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({ partition, key: message.key?.toString('utf8') ?? null, value: message.value ?? Buffer.alloc(0), headers: message.headers ?? {} });
        if (out.length >= count) resolve();
      },
    });
  });
  try {
    await Promise.race([all, sleep(60_000).then(() => Promise.reject(new Error(`read ${out.length} of ${count} records from ${topic}`)))]);
    await sleep(1_000); // anything beyond `count` (a duplicate) arrives meanwhile and fails the test
  } finally {
    await consumer.disconnect();
  }
  return out;
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}

/** The generator captured, then replayed into a 3-partition topic; done once for the tests below. */
let replayed: Promise<{ capture: CaptureRecord[]; topic: string }> | undefined;
function generatorReplayed(): NonNullable<typeof replayed> {
  replayed ??= (async () => {
    const capturePath = join(dir, 'generator.jsonl.gz');
    const recorded = await sluice(['record', '--source', GENERATOR, '--out', capturePath]);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.errLines).toEqual([expect.stringMatching(new RegExp(`^sluice record: ${EVENTS} records from 3 partitions to .*generator\\.jsonl\\.gz in \\d+\\.\\d s$`))]);
    const topic = await kafka.createTopic({ prefix: 'replay', partitions: 3 });
    const result = await sluice(['replay', '--from', capturePath, '--to', `kafka://${kafka.bootstrap}/${topic}`, '--speed', 'max']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines).toEqual([expect.stringMatching(new RegExp(`^sluice replay: ${EVENTS} records from .* to kafka://.*/${topic} \\(3 partitions\\) in \\d+\\.\\d s$`))]);
    return { capture: await readCaptureFile(capturePath), topic };
  })();
  return replayed;
}

describe('sluice record and sluice replay', () => {
  it('record captures a generator source completely, each partition in order', async () => {
    const { capture } = await generatorReplayed();
    expect(capture).toHaveLength(EVENTS);
    for (const [partition, records] of groupBy(capture, (r) => r.partition)) {
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i + 1));
      expect(records.map((r) => (JSON.parse(r.value as string) as { eventId: string }).eventId)).toEqual(records.map((_, i) => `${String(partition)}:${i + 1}`));
    }
    expect(capture.every((r) => r.key === null && r.timestamp === null && Object.keys(r.headers).length === 0)).toBe(true);
  });

  it('replay puts each captured partition into one topic partition, in order, every record once', async () => {
    const { capture, topic } = await generatorReplayed();
    const consumed = await consume(topic, EVENTS);
    expect(consumed).toHaveLength(EVENTS);
    const byTopicPartition = groupBy(consumed, (c) => c.partition);
    const byCaptured = groupBy(capture, (r) => r.partition);
    const targets = new Set<number>();
    for (const records of byCaptured.values()) {
      const first = consumed.find((c) => c.value.toString('utf8') === records[0]?.value);
      const target = byTopicPartition.get(first?.partition ?? -1) ?? [];
      targets.add(first?.partition ?? -1);
      expect(target.map((c) => c.value.toString('utf8'))).toEqual(records.map((r) => r.value));
      expect(target.every((c) => c.key === null)).toBe(true);
    }
    expect([...targets].sort()).toEqual([0, 1, 2]);
  });

  it('keyed records keep their partition, key order, headers and binary values', async () => {
    const original = await kafka.createTopic({ prefix: 'keyed', partitions: 3 });
    const messages = Array.from({ length: 600 }, (_, n) => {
      const value = n % 50 === 0 ? Buffer.from([0xff, n & 0xff, 0xfe]) : JSON.stringify({ n });
      return { key: `user-${n % 37}`, value, headers: { n: String(n), source: 'test' } };
    });
    const producer = kafka.client().producer();
    await producer.connect();
    await producer.send({ topic: original, messages }).finally(() => producer.disconnect());
    const before = await consume(original, messages.length);

    const capturePath = join(dir, 'keyed.jsonl');
    const recorded = await sluice(['record', '--source', `kafka://${kafka.bootstrap}/${original}`, '--out', capturePath, '--limit', '600', '--duration', '60s']);
    expect(recorded.code, recorded.stderr).toBe(0);
    const capture = await readCaptureFile(capturePath);
    expect(capture).toHaveLength(600);
    expect(capture.filter((r) => typeof r.value === 'object' && r.value !== null)).toHaveLength(12);
    // recording observes: its throwaway group committed nothing
    const admin = kafka.client().admin();
    await admin.connect();
    const groups = (await admin.listGroups()).groups.filter((g) => g.groupId.startsWith('sluice-record-'));
    const offsets = await Promise.all(groups.map(({ groupId }) => admin.fetchOffsets({ groupId, topics: [original] })));
    await admin.disconnect();
    expect(groups.length).toBeGreaterThan(0);
    expect(offsets.flat().flatMap((t) => t.partitions.map((p) => p.offset)).filter((o) => o !== '-1')).toEqual([]);

    const copy = await kafka.createTopic({ prefix: 'keyed-copy', partitions: 3 });
    const replay = await sluice(['replay', '--from', capturePath, '--to', `kafka://${kafka.bootstrap}/${copy}`, '--speed', '10']);
    expect(replay.code, replay.stderr).toBe(0);
    const after = await consume(copy, messages.length);
    const view = (c: Consumed): string => JSON.stringify([c.partition, c.value.toString('base64'), c.headers['n']?.toString(), c.headers['source']?.toString()]);
    const perKey = (consumed: readonly Consumed[]): Map<string | null, string[]> => new Map([...groupBy(consumed, (c) => c.key)].map(([k, cs]) => [k, cs.map(view)]));
    expect(perKey(after)).toEqual(perKey(before));
  });

  it('record reads the replayed topic back: same values and keys, same order per key and partition', async () => {
    const { capture, topic } = await generatorReplayed();
    const backPath = join(dir, 'back.jsonl');
    const back = await sluice(['record', '--source', `kafka://${kafka.bootstrap}/${topic}`, '--out', backPath, '--limit', String(EVENTS), '--duration', '90s']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.errLines).toEqual([expect.stringMatching(new RegExp(`^sluice record: ${EVENTS} records from 3 partitions to `))]);
    const records = await readCaptureFile(backPath);
    const order = (rs: readonly CaptureRecord[]): string[][] => [...groupBy(rs, (r) => r.partition).values()].map((g) => g.map((r) => `${r.key}|${String(r.value)}`)).sort();
    expect(order(records)).toEqual(order(capture));
    expect(records.every((r) => typeof r.timestamp === 'number' && typeof r.offset === 'string')).toBe(true);
  });

  // Kept last: the broker is shared, and this one runs a pipeline until its results are in.
  it('replay equals file: a pipeline over the replayed topic gives the window results of the same pipeline over the capture', async () => {
    const { capture, topic } = await generatorReplayed();
    // one values file per captured partition, as the topic has one partition per captured one:
    // event-time watermarks are per partition, so a single interleaved file would make other
    // events late than the topic does
    const valuesDir = join(dir, 'values');
    await mkdir(valuesDir, { recursive: true });
    for (const [partition, records] of groupBy(capture, (r) => r.partition)) {
      await writeFile(join(valuesDir, `${String(partition)}.jsonl`), records.map((r) => `${String(r.value)}\n`).join(''));
    }
    // keyed by user, as each generator partition has its own users: over a consumer group a
    // window key must live in one partition (see README, Kafka)
    const agg = ['--key', 'userId', '--time', 'ts', '--window', 'tumbling:10s', '--agg', 'count,distinct:page,p95:dwellMs', '--max-out-of-orderness', '5s'];
    const fileOut = join(dir, 'file-results.jsonl');
    const fromFile = await sluice(['aggregate', '--source', `file:${valuesDir}/*.jsonl`, '--sink', `file:${fileOut}`, ...agg]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const expected = lines(await readFile(fileOut, 'utf8'));

    // A topic never ends, so its last windows never fire: expect every window that ends before
    // the slowest partition's last event time, less the out-of-orderness and one window of slack.
    const lastTime = Math.min(...[...groupBy(capture, (r) => r.partition).values()].map((rs) => Math.max(...rs.map((r) => Date.parse((JSON.parse(r.value as string) as { ts: string }).ts)))));
    const due = expected.filter((line) => (JSON.parse(line) as { windowEnd: number }).windowEnd <= lastTime - 5_000 - 10_000);
    expect(due.length).toBeGreaterThan(expected.length / 2);

    const kafkaOut = join(dir, 'kafka-results.jsonl');
    const run = start(['aggregate', '--source', `kafka://${kafka.bootstrap}/${topic}?group=replay-equals-file`, '--sink', `file:${kafkaOut}`, '--dead-letter', `file:${join(dir, 'dead.jsonl')}`, ...agg]);
    const results = async (): Promise<string[]> => (existsSync(kafkaOut) ? lines(await readFile(kafkaOut, 'utf8')) : []);
    const missing = async (): Promise<string[]> => ((have) => due.filter((line) => !have.has(line)))(new Set(await results()));
    try {
      for (let i = 0; i < 600 && (await missing()).length > 0; i++) await sleep(100);
      await sleep(1_000);
    } finally {
      run.child.kill('SIGTERM');
    }
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(0);
    expect(await missing()).toEqual([]);
    // and nothing that the file run did not produce, byte for byte, nor anything twice
    const got = await results();
    expect(got.filter((line) => !expected.includes(line))).toEqual([]);
    expect(new Set(got).size).toBe(got.length);
  }, 120_000);
});
