import { describe, expect, it } from 'vitest';
import type { PartitionReader, Sink, Source } from '../../../src/core/connectors.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { CollectSink } from '../../support/run-memory.js';

/** A sink that holds every write until the test lets it go. */
class HeldSink implements Sink {
  readonly description = 'held:';
  readonly received: unknown[] = [];
  private waiting: (() => void)[] = [];
  async write(records: readonly unknown[]): Promise<void> {
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.received.push(...records);
  }
  release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }
  get blocked(): number {
    return this.waiting.length;
  }
  async close(): Promise<void> {}
}

/** Counts how many records the runtime has pulled from the source. */
function counting(source: Source): { source: Source; pulled: () => number } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    source: {
      description: source.description,
      close: () => source.close(),
      open: async () =>
        (await source.open()).map(
          (reader): PartitionReader => ({
            partition: reader.partition,
            close: () => reader.close(),
            read: async () => {
              const events = await reader.read();
              pulled += events?.length ?? 0;
              return events;
            },
          }),
        ),
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('backpressure', () => {
  it('stops reading while a slow sink holds more than the pending bound, and loses nothing', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i }));
    const { source, pulled } = counting(memorySource({ partitions: { p: lines }, batchSizes: () => [5] }));
    const sink = new HeldSink();
    const run = runPipeline({
      definition: definePipeline('bp', (s) => s.parseJson()),
      source,
      sinks: [sink],
      deadLetter: new CollectSink(),
      maxPendingRecords: 20,
    });
    for (let i = 0; i < 50; i++) await tick();
    // one write in flight plus what arrived before the gate closed: far from all 500
    expect(pulled()).toBeLessThanOrEqual(25);
    expect(sink.blocked).toBe(1);
    while (sink.received.length < 500) {
      sink.release();
      await tick();
    }
    const summary = await run;
    expect(summary.counters['events_in']).toBe(500);
    expect(sink.received).toEqual(lines.map((_, i) => ({ i })));
  });
});
