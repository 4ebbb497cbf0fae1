import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaBroker } from '../../../src/dev/kafka/index.js';
import { createTopic, KAFKA_START_TIMEOUT_MS, quietKafka } from '../../support/kafka.js';

// The local broker helper itself: a real round trip through a consumer group, then a stop that
// leaves nothing behind (no listening port, no temp folder).

const MESSAGES = 1000;
const KEYS = 20;

interface Received {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly n: number;
}

let broker: KafkaBroker | undefined;

beforeAll(async () => {
  broker = await startKafka();
}, KAFKA_START_TIMEOUT_MS);

afterAll(async () => {
  await broker?.stop();
});

describe('local Kafka broker (src/dev/kafka)', () => {
  it('round-trips keyed messages in per-partition order, then stops without leaving a port or files', async () => {
    if (broker === undefined) throw new Error('broker did not start');
    const { bootstrap, workDir } = broker;
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    const topic = await createTopic(bootstrap, { prefix: 'broker', partitions: 3 });
    const kafka = quietKafka(bootstrap);

    // produced in one total order: `n` is the global sequence number
    const producer = kafka.producer();
    await producer.connect();
    for (let start = 0; start < MESSAGES; start += 100) {
      const messages = Array.from({ length: 100 }, (_, i) => {
        const n = start + i;
        return { key: `key-${n % KEYS}`, value: JSON.stringify({ n }) };
      });
      await producer.send({ topic, messages });
    }
    await producer.disconnect();

    const received: Received[] = [];
    const consumer = kafka.consumer({ groupId: `broker-test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const { n } = JSON.parse(message.value?.toString() ?? 'null') as { n: number };
          received.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? '', n });
          if (received.length === MESSAGES) resolve();
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`received only ${received.length} of ${MESSAGES} messages`)), 45_000);
    });
    try {
      await Promise.race([all, stuck]);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }

    expect(received).toHaveLength(MESSAGES);
    expect(new Set(received.map((r) => r.n)).size).toBe(MESSAGES);
    const byPartition = new Map<number, Received[]>();
    for (const r of received) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
    expect([...byPartition.keys()].sort()).toEqual([0, 1, 2]);

    const partitionOfKey = new Map<string, number>();
    for (const [partition, records] of byPartition) {
      // a fresh topic without transactions: offsets are 0, 1, 2, … in the order consumed
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      for (const r of records) {
        expect(partitionOfKey.get(r.key) ?? partition, `key ${r.key} in one partition`).toBe(partition);
        partitionOfKey.set(r.key, partition);
      }
    }
    // per partition, records arrive exactly in production order of that partition's keys
    for (const [partition, records] of byPartition) {
      const produced = Array.from({ length: MESSAGES }, (_, n) => n).filter((n) => partitionOfKey.get(`key-${n % KEYS}`) === partition);
      expect(records.map((r) => r.n)).toEqual(produced);
    }

    // only the JVM broker has a work folder; a container leaves nothing on this file system
    if (workDir !== undefined) expect(existsSync(workDir)).toBe(true);
    await broker.stop();
    expect(await refusesConnections(bootstrap)).toBe(true);
    if (workDir !== undefined) expect(existsSync(workDir)).toBe(false);
  });
});

/** True when nothing accepts TCP connections at `HOST:PORT` any more. */
function refusesConnections(bootstrap: string): Promise<boolean> {
  const [host = '', port = ''] = bootstrap.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
