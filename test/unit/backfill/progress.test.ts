import { describe, expect, it } from 'vitest';
import type { PartitionReader, Source } from '../../../src/core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../../src/core/envelope.js';
import { withProgress } from '../../../src/backfill/progress.js';

/** Partitions of two one-record batches each; records which partitions are between first read and end. */
function source(partitions: number, active: Set<string>, peak: { value: number }): Source {
  const readers = Array.from({ length: partitions }, (_, i): PartitionReader => {
    let left = 2;
    const partition = `p${i}`;
    return {
      partition,
      async read(): Promise<Envelope<Raw>[] | null> {
        active.add(partition);
        peak.value = Math.max(peak.value, active.size);
        await new Promise((resolve) => setImmediate(resolve));
        if (left-- === 0) {
          active.delete(partition);
          return null;
        }
        return [envelope<Raw>('{}', partition, { line: 2 - left }, '{}')];
      },
      async close() {},
    };
  });
  return { description: 'test', open: async () => readers, close: async () => undefined };
}

describe('withProgress', () => {
  it('reads at most `parallelism` partitions at once and every partition to its end', async () => {
    const active = new Set<string>();
    const peak = { value: 0 };
    const progress = withProgress(source(5, active, peak), { totalBytes: undefined, mode: 'off', parallelism: 2, report: () => undefined });
    const readers = await progress.source.open();
    const counts = await Promise.all(
      readers.map(async (reader) => {
        let n = 0;
        while ((await reader.read()) !== null) n++;
        return n;
      }),
    );
    progress.stop();
    expect(counts).toEqual([2, 2, 2, 2, 2]);
    expect(peak.value).toBe(2);
  });
});
