import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { AssignmentListener, PartitionReader, Source } from '../../../src/core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../../src/core/envelope.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { decodeCaptureLine, type CaptureRecord } from '../../../src/replay/capture-format.js';
import { recordSource, type RecordOptions, type RecordSummary } from '../../../src/replay/record.js';

const lines = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `{"${prefix}":${i}}`);

async function record(options: Omit<RecordOptions, 'write'>): Promise<{ summary: RecordSummary; records: CaptureRecord[]; writes: number }> {
  let text = '';
  let writes = 0;
  const summary = await recordSource({
    ...options,
    write: async (chunk) => {
      writes++;
      text += chunk;
    },
  });
  const records = text === '' ? [] : text.trimEnd().split('\n').map((line, i) => decodeCaptureLine(line, `line ${i + 1}`));
  return { summary, records, writes };
}

/** A partition that never ends: one batch per read until closed, each read waiting `gapMs`. */
class LiveReader implements PartitionReader {
  private n = 0;
  closed = false;
  private wake: (() => void) | undefined;
  constructor(
    readonly partition: string,
    private readonly kafkaPartition: number,
    private readonly wait: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  ) {}
  async read(): Promise<Envelope<Raw>[] | null> {
    await Promise.race([this.wait(), new Promise<void>((resolve) => (this.wake = resolve))]);
    if (this.closed) return null;
    const offset = String(this.n++);
    const meta = { key: `k${this.n % 3}`, headers: { h: 'v' }, timestamp: 1000 + this.n };
    return [envelope<Raw>(Buffer.from(`{"p":${this.kafkaPartition},"o":${offset}}`), this.partition, { partition: this.kafkaPartition, offset }, undefined, meta)];
  }
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }
}

describe('recordSource', () => {
  it('captures every record of bounded input, each partition in its own order', async () => {
    const source = memorySource({ partitions: { a: lines('a', 50), b: lines('b', 30) }, batchSizes: () => [7, 3] });
    const { summary, records } = await record({ source });
    expect(summary).toEqual({ records: 80, partitions: 2, end: 'end' });
    expect(records.filter((r) => r.partition === 'a').map((r) => r.value)).toEqual(lines('a', 50));
    expect(records.filter((r) => r.partition === 'b').map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(records.every((r) => r.key === null && r.timestamp === null)).toBe(true);
  });

  it('stops at exactly --limit records across concurrently read partitions', async () => {
    const source = memorySource({ partitions: { a: lines('a', 500), b: lines('b', 500), c: lines('c', 500) }, batchSizes: () => [64] });
    const { summary, records } = await record({ source, limit: 150 });
    expect(summary.records).toBe(150);
    expect(summary.end).toBe('limit');
    expect(records).toHaveLength(150);
  });

  it('records nothing once stopped, and reports it', async () => {
    const stop = new AbortController();
    stop.abort();
    const { summary, records } = await record({ source: memorySource({ partitions: { a: lines('a', 5) } }), signal: stop.signal });
    expect(summary).toEqual({ records: 0, partitions: 0, end: 'stopped' });
    expect(records).toEqual([]);
  });

  it('stops an endless source after --duration on the injected clock, abandoning the pending read', async () => {
    const scheduler = new VirtualTimeScheduler();
    const reader = new LiveReader('t-0', 0, () => new Promise(() => undefined));
    let closed = false;
    const source: Source = { description: 'live', open: async () => [reader], close: async () => void (closed = true) };
    const run = record({ source, durationMs: 30_000, scheduler });
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.flush();
    const { summary } = await run;
    expect(summary.end).toBe('duration');
    expect(scheduler.now()).toBe(30_000);
    expect(reader.closed && closed).toBe(true);
  });

  it('follows assignments of a source with changing partitions, and keeps Kafka meta', async () => {
    const readers = [new LiveReader('t-0', 0), new LiveReader('t-1', 1)];
    let listener: AssignmentListener | undefined;
    const source: Source = {
      description: 'kafka-like',
      open: async () => [],
      listen: (l) => {
        listener = l;
        void l.assign(readers);
      },
      close: async () => undefined,
    };
    const { summary, records } = await record({ source, limit: 40 });
    expect(await listener?.resume(['t-0'])).toEqual(new Map());
    expect(summary).toEqual({ records: 40, partitions: 2, end: 'limit' });
    for (const p of [0, 1]) {
      const mine = records.filter((r) => r.partition === p);
      expect(mine.map((r) => r.offset)).toEqual(mine.map((_, i) => String(i)));
      expect(mine[0]).toMatchObject({ key: 'k1', headers: { h: 'v' }, timestamp: 1001, value: `{"p":${p},"o":0}` });
    }
    expect(readers.every((r) => r.closed)).toBe(true);
  });

  it('lets revoked partitions go and never commits', async () => {
    const reader = new LiveReader('t-0', 0);
    const commits: unknown[] = [];
    Object.assign(reader, { commit: async (p: unknown) => void commits.push(p) });
    const stop = new AbortController();
    let written = 0;
    let afterRevoke = -1;
    const source: Source = {
      description: 'kafka-like',
      open: async () => [],
      listen: (l) => {
        void l.assign([reader]).then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          await l.revoke(['t-0']);
          afterRevoke = written;
          await new Promise((resolve) => setTimeout(resolve, 20));
          stop.abort();
        });
      },
      close: async () => undefined,
    };
    const summary = await recordSource({ source, signal: stop.signal, write: async (text) => void (written += text.split('\n').length - 1) });
    expect(summary.end).toBe('stopped');
    expect(afterRevoke).toBeGreaterThan(0);
    // nothing was written once the revocation resolved
    expect(written).toBe(afterRevoke);
    expect(summary.records).toBe(written);
    expect(commits).toEqual([]);
  });

  it('does not create the output when the source cannot be opened, and closes the source on read errors', async () => {
    let opened = false;
    const broken: Source = { description: 'x', open: () => Promise.reject(new Error('no such file')), close: async () => undefined };
    await expect(recordSource({ source: broken, opened: async () => void (opened = true), write: async () => undefined })).rejects.toThrow('no such file');
    expect(opened).toBe(false);

    let closed = false;
    const failing: PartitionReader = { partition: 'p', read: () => Promise.reject(new Error('disk on fire')), close: async () => undefined };
    const source: Source = { description: 'y', open: async () => [failing], close: async () => void (closed = true) };
    await expect(recordSource({ source, write: async () => undefined })).rejects.toThrow('disk on fire');
    expect(closed).toBe(true);
  });
});
