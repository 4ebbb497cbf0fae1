import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { batchesOf } from './file-helpers.js';

describe('memory source', () => {
  it('yields every partition whole in one batch by default, at 1-based { line }', async () => {
    const source = memorySource({ partitions: { p0: ['a', '', 'c'], p1: ['x'] } });
    const readers = await source.open();
    expect(readers.map((r) => r.partition)).toEqual(['p0', 'p1']);
    const [batch, ...rest] = await batchesOf(readers[0]!);
    expect(rest).toEqual([]);
    expect(batch!.map((e) => [e.value, e.raw, e.partition, e.position])).toEqual([
      ['a', 'a', 'p0', { line: 1 }],
      ['', '', 'p0', { line: 2 }],
      ['c', 'c', 'p0', { line: 3 }],
    ]);
    expect(source.description).toBe('memory: (2 partitions)');
  });

  it('follows the batch sizes cyclically, per partition', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => String(i));
    const source = memorySource({ partitions: { a: lines, b: lines }, batchSizes: (p) => (p === 'a' ? [1, 3] : [4]) });
    const [a, b] = await source.open();
    expect((await batchesOf(a!)).map((batch) => batch.map((e) => e.value))).toEqual([['0'], ['1', '2', '3'], ['4'], ['5', '6', '7'], ['8'], ['9']]);
    expect((await batchesOf(b!)).map((batch) => batch.length)).toEqual([4, 4, 2]);
  });

  it('returns null at once for an empty partition and after close', async () => {
    const [empty, full] = await memorySource({ partitions: { e: [], f: ['x'] } }).open();
    expect(await empty!.read()).toBeNull();
    await full!.close();
    expect(await full!.read()).toBeNull();
  });

  it('rejects batch sizes that are not positive integers', async () => {
    const source = memorySource({ partitions: { a: ['x'] }, batchSizes: () => [2, 0] });
    await expect(source.open()).rejects.toThrow(new UserError(ErrorCode.BAD_OPTION, "batch sizes of partition 'a' must be positive integers, got [2, 0]"));
  });
});
