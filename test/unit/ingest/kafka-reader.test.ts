import { describe, expect, it } from 'vitest';
import { KafkaPartitionReader, type KafkaRecord } from '../../../src/ingest/kafka/reader.js';

const records = (from: number, to: number): KafkaRecord[] =>
  Array.from({ length: to - from }, (_, i) => ({ offset: String(from + i), value: Buffer.from(`{"o":${from + i}}`), key: null, timestamp: String(1_000 + from + i) }));

const offsets = (batch: readonly { position: Record<string, unknown> }[] | null): unknown[] => (batch ?? []).map((e) => e.position['offset']);

describe('KafkaPartitionReader', () => {
  it('hands a fetch over in slices of at most maxBatch records, and lets the consumer fetch again once the first is taken', async () => {
    const reader = new KafkaPartitionReader('t', 0, undefined, async () => undefined, Date.now, 4);
    let taken = false;
    void reader.offer(records(0, 10)).then(() => (taken = true));
    expect(offsets(await reader.read())).toEqual(['0', '1', '2', '3']);
    await Promise.resolve();
    expect(taken).toBe(true);
    expect(offsets(await reader.read())).toEqual(['4', '5', '6', '7']);
    expect(offsets(await reader.read())).toEqual(['8', '9']);
    // the next fetch starts a new slice
    void reader.offer(records(10, 12));
    expect(offsets(await reader.read())).toEqual(['10', '11']);
    await reader.close();
  });

  it('drops records it already handed over when a fetch repeats them (after a rebalance), across slices', async () => {
    const reader = new KafkaPartitionReader('t', 0, 5n, async () => undefined, Date.now, 3);
    void reader.offer(records(3, 9));
    expect(offsets(await reader.read())).toEqual(['5', '6', '7']);
    expect(offsets(await reader.read())).toEqual(['8']);
    // fetched again from 6: only 9 and on are new
    void reader.offer(records(6, 11));
    expect(offsets(await reader.read())).toEqual(['9', '10']);
    await reader.close();
  });

  it('counts the wait of the records left of a fetch from the last slice read', async () => {
    let clock = 1_000;
    const reader = new KafkaPartitionReader('t', 0, undefined, async () => undefined, () => clock, 2);
    void reader.offer(records(0, 5), '5');
    expect(reader.backlog()).toEqual({ records: 5, waitingSince: 1_000 });
    clock = 2_000;
    await reader.read();
    expect(reader.backlog()).toEqual({ records: 3, waitingSince: 2_000 });
    clock = 3_000;
    await reader.read();
    await reader.read();
    expect(reader.backlog()).toEqual({ records: 0, waitingSince: undefined });
    await reader.close();
  });

  it("gives each record the Kafka key as text (base64 when not UTF-8), its headers and timestamp, and the value's bytes", async () => {
    const reader = new KafkaPartitionReader('t', 2, undefined, async () => undefined);
    void reader.offer([
      { offset: '7', value: Buffer.from('{"a":1}'), key: Buffer.from('device-1'), timestamp: '1761955200000', headers: { trace: Buffer.from('abc'), multi: [Buffer.from('x'), Buffer.from('y')] } },
      { offset: '8', value: null, key: Buffer.from([0xff, 0xfe]), timestamp: '1761955200001' },
    ]);
    const [first, second] = (await reader.read()) ?? [];
    expect(first?.position).toEqual({ partition: 2, offset: '7' });
    expect(first?.partition).toBe('t/2');
    expect(Buffer.from(first?.value as Uint8Array).toString()).toBe('{"a":1}');
    expect(first?.meta?.key).toBe('device-1');
    expect(first?.meta?.headers).toEqual({ trace: 'abc', multi: 'x' });
    expect(first?.meta?.timestamp).toBe(1761955200000);
    expect(first?.meta?.route).toBeUndefined();
    expect(second?.meta?.key).toBe('base64://4=');
    expect(second?.meta?.headers).toEqual({});
    expect((second?.value as Uint8Array).length).toBe(0);
    await reader.close();
  });
});
