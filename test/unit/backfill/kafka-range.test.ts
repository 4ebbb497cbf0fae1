import { describe, expect, it } from 'vitest';
import { BoundedReader } from '../../../src/ingest/kafka/range.js';
import { KafkaPartitionReader, type KafkaRecord } from '../../../src/ingest/kafka/reader.js';

const records = (...offsets: number[]): KafkaRecord[] => offsets.map((o) => ({ offset: String(o), value: Buffer.from(`{"o":${o}}`), key: null, timestamp: '0' }));
const bounded = (from: number, to: number): BoundedReader =>
  new BoundedReader(new KafkaPartitionReader('t', 0, BigInt(from), async () => undefined), BigInt(from), BigInt(to));
const offsets = (batch: { position: Record<string, unknown> }[] | null): unknown[] | null => batch?.map((e) => e.position['offset']) ?? null;

describe('BoundedReader', () => {
  it('hands over records before the end offset, then ends', async () => {
    const reader = bounded(0, 3);
    void reader.offer(records(0, 1, 2, 3, 4));
    expect(offsets(await reader.read())).toEqual(['0', '1', '2']);
    expect(await reader.read()).toBeNull();
  });

  it('ends when a fetch passes the end though the last offsets held no record', async () => {
    const reader = bounded(0, 4);
    void reader.offer(records(0, 1));
    expect(offsets(await reader.read())).toEqual(['0', '1']);
    const pending = reader.read();
    await reader.offer(records(6, 7));
    expect(await pending).toBeNull();
  });

  it('an empty range ends at once', async () => {
    expect(bounded(5, 5).ended).toBe(true);
    expect(await bounded(5, 5).read()).toBeNull();
  });
});
