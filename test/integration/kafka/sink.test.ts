import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindLoopbackPort } from '../../../src/dev/common/service.js';
import { parseKafkaUrl } from '../../../src/kafka/endpoint.js';
import { DEFAULT_MAX_BATCH_BYTES, kafkaRecordEncoder, openKafkaSink } from '../../../src/sinks/kafka/index.js';
import { RECORD_BATCH_HEADER_BYTES } from '../../../src/sinks/kafka/request-builder.js';
import { KAFKA_START_TIMEOUT_MS, quietKafka, useKafka } from '../../support/kafka.js';
import { ensureBuilt, expectOneLineError, lines, scratch, sluice, writeJsonl } from '../cli/cli.js';
import { startForeground } from './cli-runs.js';

// The Kafka sink against a real broker: the CLI round trip beside the file sink, acknowledgement
// before `write` resolves, one-line errors for a missing topic, an unreachable broker and an
// over-size result, and `sluice dev kafka` as a user runs it.

const kafka = useKafka();
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

type Consumed = { readonly partition: number; readonly offset: number; readonly key: string | null; readonly value: string };

/** Records in the topic: the sum of its partitions' high watermarks (acknowledged by all replicas). */
async function recordCount(topic: string): Promise<number> {
  const admin = kafka.client().admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Reads the topic from the beginning until `count` records arrived, in a fresh group. */
async function consume(topic: string, count: number): Promise<Consumed[]> {
  const consumer = kafka.client().consumer({ groupId: `sink-test-${randomUUID()}` });
  const received: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received only ${received.length} of ${count} records`)), 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.push({ partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? '' });
          if (received.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }).once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    socket.once('connect', () => (socket.destroy(), resolve(false)));
  });
}

const aggregate = (input: string, ...sinks: string[]): string[] =>
  ['aggregate', '--source', `file:${input}`, ...sinks.flatMap((s) => ['--sink', s]), '--key', 'page', '--time', 'ts', '--window', 'tumbling:10s', '--agg', 'count,distinct:userId'];

describe('Kafka sink (kafka://BROKERS/TOPIC)', () => {
  it('writes exactly what the file sink writes, keyed by the key field, each key in one partition in order', async () => {
    const topic = await kafka.createTopic({ prefix: 'sink-roundtrip', partitions: 3 });
    const events = Array.from({ length: 400 }, (_, i) => ({ page: `/page-${(i * 7) % 11}`, ts: i * 250, userId: `u${i % 13}` }));
    const input = await writeJsonl(join(dir, 'roundtrip.jsonl'), events);
    const out = join(dir, 'roundtrip.out.jsonl');
    const result = await sluice(aggregate(input, `kafka://${kafka.bootstrap}/${topic}?key=key.page`, `file:${out}`));
    expect(result.code, result.stderr).toBe(0);

    const fileLines = lines(await readFile(out, 'utf8'));
    expect(fileLines.length).toBeGreaterThan(50);
    expect(await recordCount(topic)).toBe(fileLines.length);
    const records = await consume(topic, fileLines.length);
    expect(records.map((r) => r.value).sort()).toEqual([...fileLines].sort());

    const partitionOf = new Map<string, number>();
    for (const record of records) {
      const page = (JSON.parse(record.value) as { key: { page: string } }).key.page;
      expect(record.key).toBe(page);
      expect(partitionOf.get(page) ?? record.partition, `${page} in one partition`).toBe(record.partition);
      partitionOf.set(page, record.partition);
    }
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);
    // per key, the topic holds the results in the order the file has them
    for (const page of partitionOf.keys()) {
      const inTopic = records.filter((r) => r.key === page).sort((a, b) => a.offset - b.offset).map((r) => r.value);
      expect(inTopic).toEqual(fileLines.filter((line) => (JSON.parse(line) as { key: { page: string } }).key.page === page));
    }
  });

  it('resolves a write only once the broker has every record of it, a record of the full request size included', async () => {
    const topic = await kafka.createTopic({ prefix: 'sink-acks' });
    const sink = await openKafkaSink(parseKafkaUrl(`kafka://${kafka.bootstrap}/${topic}`, 'sink'), { maxBatchRecords: 64 });
    try {
      const results = Array.from({ length: 500 }, (_, i) => ({ id: `result-${i}`, key: { page: `/p${i % 5}` }, count: i }));
      await sink.write(results);
      // read the moment the write resolved
      expect(await recordCount(topic)).toBe(500);

      // a record the sink counts as exactly its default request limit: the broker takes it
      const encode = kafkaRecordEncoder('id');
      const base = { id: 'result-big', key: { page: '/big' }, pad: '' };
      const big = { ...base, pad: 'x'.repeat(DEFAULT_MAX_BATCH_BYTES - RECORD_BATCH_HEADER_BYTES - encode(base).bytes) };
      expect(RECORD_BATCH_HEADER_BYTES + encode(big).bytes).toBe(DEFAULT_MAX_BATCH_BYTES);
      await sink.write([big]);
      expect(await recordCount(topic)).toBe(501);
    } finally {
      await sink.close();
    }
    const records = await consume(topic, 501);
    expect(new Set(records.map((r) => r.key))).toEqual(new Set([...Array.from({ length: 500 }, (_, i) => `result-${i}`), 'result-big']));
  });

  it('fails at start-up with one line when the topic does not exist', async () => {
    const input = await writeJsonl(join(dir, 'missing-topic.jsonl'), [{ page: '/', ts: 1 }]);
    const topic = `missing-${randomUUID().slice(0, 8)}`;
    const line = expectOneLineError(await sluice(aggregate(input, `kafka://${kafka.bootstrap}/${topic}`)), 1);
    expect(line).toBe(`sluice: Kafka topic '${topic}' does not exist on ${kafka.bootstrap}; create it first (Sluice does not create topics)`);
  });

  it('fails at start-up with one line when no broker answers', async () => {
    const input = await writeJsonl(join(dir, 'no-broker.jsonl'), [{ page: '/', ts: 1 }]);
    const port = await bindLoopbackPort();
    const line = expectOneLineError(await sluice(aggregate(input, `kafka://127.0.0.1:${port}/results`)), 1);
    expect(line).toMatch(new RegExp(`^sluice: cannot reach Kafka at 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\); is the broker running`));
  });

  it('fails the run with one line naming a result too large for Kafka', async () => {
    const topic = await kafka.createTopic({ prefix: 'sink-oversize' });
    // the key goes into both the record key and the value: ~1.2 MB as a record, under the
    // source's own 1 MiB line limit as an event
    const hugePage = `/${'x'.repeat(600_000)}`;
    const input = await writeJsonl(join(dir, 'oversize.jsonl'), [{ page: '/small', ts: 1_000 }, { page: hugePage, ts: 2_000 }, { page: '/small', ts: 30_000 }]);
    const reference = join(dir, 'oversize.out.jsonl');
    expect((await sluice(aggregate(input, `file:${reference}`))).code).toBe(0);
    const hugeId = lines(await readFile(reference, 'utf8')).map((l) => JSON.parse(l) as { id: string; key: { page: string } }).find((r) => r.key.page === hugePage)?.id;
    expect(hugeId).toMatch(/^[0-9a-f]{32}$/);

    const result = await sluice(aggregate(input, `kafka://${kafka.bootstrap}/${topic}?key=key.page`));
    const line = expectOneLineError(result, 1);
    expect(line).toMatch(new RegExp(`^sluice: Kafka topic '${topic}': result '${hugeId}' is 12\\d{5} bytes as a Kafka record, over the sink's limit of 1048576 bytes`));
  });
});

describe('sluice dev kafka', () => {
  it('runs a broker on the given port, prints one line, and stops cleanly on SIGTERM', async () => {
    const port = await bindLoopbackPort();
    const dev = await startForeground(['dev', 'kafka', '--port', String(port)]);
    try {
      expect(dev.stderr()).toBe(`sluice: Kafka is running at 127.0.0.1:${port} (Ctrl-C stops it)\n`);

      const admin = quietKafka(`127.0.0.1:${port}`).admin();
      await admin.connect();
      const cluster = await admin.describeCluster().finally(() => admin.disconnect());
      expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([`127.0.0.1:${port}`]);

      dev.child.kill('SIGTERM');
      expect(await dev.exited).toEqual({ code: 0, signal: null });
      expect(dev.stdout()).toBe('');
      expect(lines(dev.stderr())).toHaveLength(1);
      expect(await refusesConnections(port)).toBe(true);
    } finally {
      if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
    }
  }, KAFKA_START_TIMEOUT_MS);
});
