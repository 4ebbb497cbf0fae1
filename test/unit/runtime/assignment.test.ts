import { describe, expect, it } from 'vitest';
import type { AssignmentListener, PartitionReader, Source } from '../../../src/core/connectors.js';
import { envelope, type Envelope, type Position, type Raw } from '../../../src/core/envelope.js';
import { definePipeline } from '../../../src/pipeline.js';
import { tumbling } from '../../../src/windows/assigners.js';
import { count, sum } from '../../../src/windows/aggregates/index.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { CollectSink, runMemory } from '../../support/run-memory.js';
import { MemoryCheckpoints } from '../../support/memory-checkpoints.js';

/** A partition the test feeds by hand: it pushes lines, the reader hands them over in order. */
class ManualReader implements PartitionReader {
  private queue: (string[] | null)[] = [];
  private waiting: ((lines: string[] | null) => void) | undefined;
  private line: number;

  constructor(
    readonly partition: string,
    after: Position | undefined,
  ) {
    this.line = typeof after?.['line'] === 'number' ? after['line'] : 0;
  }

  push(lines: string[]): void {
    this.deliver(lines);
  }

  end(): void {
    this.deliver(null);
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    const lines = this.queue.length > 0 ? (this.queue.shift() as string[] | null) : await new Promise<string[] | null>((resolve) => (this.waiting = resolve));
    if (lines === null) return null;
    return lines.map((text) => envelope<Raw>(text, this.partition, { line: ++this.line }, text));
  }

  async close(): Promise<void> {
    this.deliver(null);
  }

  private deliver(lines: string[] | null): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(lines);
    else this.queue.push(lines);
  }
}

/** A source whose partitions the test assigns and revokes, as a Kafka consumer group would. */
class ManualSource implements Source {
  readonly description = 'manual:';
  listener: AssignmentListener | undefined;
  constructor(private readonly initial: ManualReader[]) {}
  async open(): Promise<PartitionReader[]> {
    return this.initial;
  }
  listen(listener: AssignmentListener): void {
    this.listener = listener;
  }
  async close(): Promise<void> {}
}

const ev = (k: string, t: number, v: number): string => JSON.stringify({ k, t, v });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

const definition = definePipeline('assign', (s) =>
  s.parseJson().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling(10), aggregate: { n: count(), s: sum('v') } }),
);

describe('partition assignment while running', () => {
  // Per-partition results: a partition that moves takes its windows with it. (Combining across
  // partitions assumes one process owns them all; see the README.)
  it('revokes a partition mid-window, checkpoints its state, and picks it up again where it was', async () => {
    const p0 = [ev('a', 1, 1), ev('a', 3, 2), ev('b', 4, 3), ev('a', 12, 4), ev('a', 25, 5)];
    const p1 = [ev('a', 2, 10), ev('b', 5, 20), ev('a', 7, 30), ev('b', 14, 40), ev('a', 27, 50)];
    const expected = await runMemory(definition, { p0, p1 }, { perPartition: true });

    const r0 = new ManualReader('p0', undefined);
    const r1 = new ManualReader('p1', undefined);
    const source = new ManualSource([r0, r1]);
    const results = new CollectSink();
    const store = new MemoryCheckpoints();
    const stop = new AbortController();
    const run = runPipeline({
      definition,
      source,
      sinks: [results],
      deadLetter: new CollectSink(),
      checkpoint: { store },
      signal: stop.signal,
      results: 'per-partition',
    });

    await until(() => source.listener !== undefined);
    r0.push(p0.slice(0, 2));
    r1.push(p1.slice(0, 3)); // p1 holds open window [0,10) state for a and b
    await tick();
    await source.listener?.revoke(['p1']);
    const revoked = store.last;
    expect(revoked?.partitions['p1']?.position).toEqual({ line: 3 });
    expect(revoked?.partitions['p1']?.operators['window']).toBeDefined();

    r0.push(p0.slice(2));
    const again = new ManualReader('p1', (await source.listener?.resume(['p1']))?.get('p1'));
    await source.listener?.assign([again]);
    again.push(p1.slice(3));
    r0.end();
    again.end();
    await until(() => results.records.length >= expected.results.length);
    stop.abort();
    const summary = await run;

    expect(results.lines().sort()).toEqual([...expected.results].sort());
    expect(summary.lastCheckpoint).toBeGreaterThanOrEqual(2);
  });
});
