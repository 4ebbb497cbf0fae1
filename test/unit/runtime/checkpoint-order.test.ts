import { describe, expect, it } from 'vitest';
import type { Sink } from '../../../src/core/connectors.js';
import type { DeadLetter } from '../../../src/core/context.js';
import { ErrorCode } from '../../../src/core/errors.js';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { CollectSink } from '../../support/run-memory.js';
import { MemoryCheckpoints } from '../../support/memory-checkpoints.js';

/** A sink whose writes wait until the test lets them through; counts what it acknowledged. */
class HeldSink implements Sink {
  readonly description = 'held:';
  acknowledged = 0;
  private waiting: (() => void)[] = [];
  async write(records: readonly unknown[]): Promise<void> {
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.acknowledged += records.length;
  }
  releaseAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }
  async close(): Promise<void> {}
}

/** Records, at each save, how much output the sink had acknowledged. */
class WatchedCheckpoints extends MemoryCheckpoints {
  readonly acknowledgedAtSave: number[] = [];
  constructor(private readonly sink: HeldSink) {
    super();
  }
  override async save(checkpoint: Checkpoint): Promise<void> {
    this.acknowledgedAtSave.push(this.sink.acknowledged);
    await super.save(checkpoint);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('checkpoint order', () => {
  it('persists a checkpoint only after the sinks acknowledged every record before its barrier', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ i }));
    const sink = new HeldSink();
    const store = new WatchedCheckpoints(sink);
    const run = runPipeline({
      definition: definePipeline('order', (s) => s.parseJson()),
      source: memorySource({ partitions: { p: lines }, batchSizes: () => [5] }),
      sinks: [sink],
      deadLetter: new CollectSink(),
      checkpoint: { store, everyRecords: 10 },
    });
    for (let i = 0; i < 50; i++) await tick();
    // output before the first barrier is held by the sink: nothing may be persisted yet
    expect(store.saved).toHaveLength(0);
    while (store.acknowledgedAtSave.length === 0 || sink.acknowledged < lines.length) {
      sink.releaseAll();
      await tick();
    }
    await run;
    expect(store.saved.length).toBeGreaterThan(1);
    for (const [i, encoded] of store.saved.entries()) {
      const line = Number((JSON.parse(encoded) as { data: Checkpoint }).data.partitions['p']?.position?.['line'] ?? 0);
      // every record up to the checkpoint's position went through a parse into the sink
      expect(store.acknowledgedAtSave[i]).toBeGreaterThanOrEqual(line);
    }
  });
});

/** A sink that refuses every record whose `i` is a multiple of 7, as a service refuses bad records. */
class PickySink implements Sink {
  readonly description = 'picky:';
  readonly delivered: unknown[] = [];
  async write(records: readonly unknown[]) {
    await tick();
    const rejected = records
      .filter((r) => (r as { i: number }).i % 7 === 0)
      .map((record) => ({ record, code: ErrorCode.BAD_FIELD, reason: `field i=${(record as { i: number }).i} does not fit the mapping` }));
    this.delivered.push(...records.filter((r) => (r as { i: number }).i % 7 !== 0));
    return { rejected };
  }
  async close(): Promise<void> {}
}

describe('records a sink refuses', () => {
  it('go to the dead-letter output with the reason, before the checkpoint that covers them', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i }));
    const dead = new CollectSink<DeadLetter>();
    const sink = new PickySink();
    const deadAtSave: number[] = [];
    const store = new (class extends MemoryCheckpoints {
      override async save(checkpoint: Checkpoint): Promise<void> {
        deadAtSave.push(dead.records.length);
        await super.save(checkpoint);
      }
    })();
    await runPipeline({
      definition: definePipeline('picky', (s) => s.parseJson()),
      source: memorySource({ partitions: { p: lines }, batchSizes: () => [5] }),
      sinks: [sink],
      deadLetter: dead,
      checkpoint: { store, everyRecords: 10 },
    });
    expect(sink.delivered).toHaveLength(50 - 8);
    expect(dead.records.map((d) => d.reason)).toEqual([0, 7, 14, 21, 28, 35, 42, 49].map((i) => `field i=${i} does not fit the mapping`));
    expect(dead.records[1]).toMatchObject({ pipeline: 'picky', stage: 'sink picky:', code: ErrorCode.BAD_FIELD, raw: '{"i":7}' });
    for (const [i, encoded] of store.saved.entries()) {
      const line = Number((JSON.parse(encoded) as { data: Checkpoint }).data.partitions['p']?.position?.['line'] ?? 0);
      // every refused record up to the checkpoint's position is already dead-lettered
      expect(deadAtSave[i]).toBeGreaterThanOrEqual(Math.ceil(line / 7));
    }
  });
});
