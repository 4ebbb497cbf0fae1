import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKafka } from '../../support/kafka.js';
import { ensureBuilt, sluice } from '../cli/cli.js';
import { sleep, start } from '../recovery/recovery.js';

// Poison records of a keyed topic go to a dead-letter file; after the fix, `sluice dlq replay`
// puts them back into the topic with their keys, so they land in the partitions they came from.

const kafka = useKafka();
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-dlq-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Consumed {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string;
}

async function consumeAll(topic: string, count: number): Promise<Consumed[]> {
  const consumer = kafka.client().consumer({ groupId: `check-${Date.now()}` });
  const out: Consumed[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' }) });
  for (let i = 0; i < 300 && out.length < count; i++) await sleep(100);
  await consumer.disconnect();
  return out;
}

describe('sluice dlq replay into Kafka', () => {
  it('gives dead-lettered records back to their topic with their keys, in their partitions', async () => {
    const topic = await kafka.createTopic({ partitions: 3 });
    const producer = kafka.client().producer();
    await producer.connect();
    const big = (k: string): string => JSON.stringify({ k, t: 1_800_000_000_000, v: 1, pad: 'x'.repeat(300) });
    const messages = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((k, i) => [
      { key: k, value: JSON.stringify({ k, t: 1_800_000_000_000 + i, v: 1 }) },
      ...(i % 2 === 0 ? [{ key: k, value: big(k) }] : []),
    ]);
    await producer.send({ topic, messages });
    await producer.disconnect();

    const dead = join(dir, 'dead.jsonl');
    const run = start([
      'aggregate', '--source', `kafka://${kafka.bootstrap}/${topic}?group=dlq`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s',
      '--max-record-size', '200', '--dead-letter', `file:${dead}`, '--sink', `file:${join(dir, 'out.jsonl')}`,
    ]);
    for (let i = 0; i < 300 && !(existsSync(dead) && (await readFile(dead, 'utf8')).split('\n').filter(Boolean).length === 3); i++) await sleep(100);
    run.child.kill('SIGTERM');
    expect((await run.exited).code, run.stderr()).toBe(0);
    const entries = (await readFile(dead, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code: string; key: string; position: { partition: number } });
    expect(entries.map((e) => [e.code, e.key]).sort()).toEqual([['RECORD_TOO_LARGE', 'a'], ['RECORD_TOO_LARGE', 'c'], ['RECORD_TOO_LARGE', 'e']]);

    const replay = await sluice(['dlq', 'replay', '--from', dead, '--to', `kafka://${kafka.bootstrap}/${topic}`, '--code', 'RECORD_TOO_LARGE']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.errLines[0]).toMatch(/^sluice dlq replay: 3 of 3 records from /);

    const all = await consumeAll(topic, messages.length + 3);
    expect(all).toHaveLength(messages.length + 3);
    for (const k of ['a', 'c', 'e']) {
      const copies = all.filter((m) => m.value === big(k));
      // the original and its re-injected copy: same key, same partition
      expect(copies).toHaveLength(2);
      expect(copies[0]).toEqual(copies[1]);
      expect(copies[0]?.key).toBe(k);
    }
  });
});
