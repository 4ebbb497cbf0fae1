import { describe, expect, it } from 'vitest';
import type { AssignmentListener, PartitionReader, Source } from '../../../src/core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../../src/core/envelope.js';
import { KafkaPartitionReader, type KafkaRecord } from '../../../src/ingest/kafka/reader.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline, type Backlog, type GroupMembership, type RunView } from '../../../src/runtime/run.js';
import { tumbling } from '../../../src/windows/assigners.js';
import { count } from '../../../src/windows/aggregates/index.js';
import { CollectSink } from '../../support/run-memory.js';

// The run's view grew what the operations endpoints need: partitions with their reads,
// watermark and backlog, and the consumer group's view of this worker.

const pipeline = definePipeline('v', (s) => s.parseJson().withWatermarks({ time: 't', maxOutOfOrderness: 1000 }).keyBy('k').window({ assign: tumbling('10s'), aggregate: { n: count() } }));

/** A partition the test feeds by hand, reporting a backlog the test sets. */
class FedReader implements PartitionReader {
  backlogNow: Backlog = { records: undefined, waitingSince: undefined };
  private queue: (string[] | null)[] = [];
  private waiting: ((lines: string[] | null) => void) | undefined;
  private line = 0;
  constructor(readonly partition: string) {}
  push(lines: string[] | null): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(lines);
    else this.queue.push(lines);
  }
  async read(): Promise<Envelope<Raw>[] | null> {
    const lines = this.queue.length > 0 ? (this.queue.shift() as string[] | null) : await new Promise<string[] | null>((resolve) => (this.waiting = resolve));
    return lines === null ? null : lines.map((text) => envelope<Raw>(text, this.partition, { line: ++this.line }, text));
  }
  backlog(): Backlog {
    return this.backlogNow;
  }
  async close(): Promise<void> {
    this.push(null);
  }
}

/** A consumer-group-like source: the test assigns and revokes through its listener. */
class GroupSource implements Source {
  readonly description = 'group:';
  listener: AssignmentListener | undefined;
  membershipNow: GroupMembership = { joined: false, assigned: 0, topicPartitions: 2 };
  async open(): Promise<PartitionReader[]> {
    return [];
  }
  listen(listener: AssignmentListener): void {
    this.listener = listener;
  }
  membership(): GroupMembership {
    return this.membershipNow;
  }
  async close(): Promise<void> {}
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

describe('RunView for operations', () => {
  it("shows each partition's reads, watermark and backlog, and the windows fired", async () => {
    let view: RunView | undefined;
    const lines = ['{"k":"a","t":1000}', '{"k":"a","t":4000}', '{"k":"b","t":15000}'];
    const summary = await runPipeline({
      definition: pipeline,
      source: memorySource({ partitions: { p0: lines, p1: ['{"k":"c","t":2000}'] }, batchSizes: () => [1] }),
      sinks: [new CollectSink()],
      deadLetter: new CollectSink(),
      view: (v) => (view = v),
    });
    const partitions = view?.partitions() ?? [];
    expect(partitions.map((p) => [p.partition, p.eventsIn, p.watermark, p.ended, p.backlog])).toEqual([
      ['p0', 3, 15000 - 1000 - 1, true, undefined],
      ['p1', 1, 2000 - 1000 - 1, true, undefined],
    ]);
    expect(partitions.every((p) => p.lastReadAt !== undefined && p.lastReadAt >= p.assignedAt)).toBe(true);
    expect(view?.windowsFired()).toBe(summary.counters['results_out']);
    expect(view?.windowsFired()).toBeGreaterThan(0);
    // a source without a consumer group has no membership
    expect(view?.membership()).toBeUndefined();
  });

  it('follows a consumer group: membership, assigned partitions with their backlog, revocations', async () => {
    const source = new GroupSource();
    const stop = new AbortController();
    let view: RunView | undefined;
    const run = runPipeline({ definition: pipeline, source, sinks: [new CollectSink()], deadLetter: new CollectSink(), signal: stop.signal, view: (v) => (view = v) });
    await until(() => view !== undefined && source.listener !== undefined, 'the run to start');
    const v = view as RunView;
    const listener = source.listener as AssignmentListener;
    expect(v.membership()).toEqual({ joined: false, assigned: 0, topicPartitions: 2 });
    expect(v.partitions()).toEqual([]);

    source.membershipNow = { joined: true, assigned: 2, topicPartitions: 2 };
    const [r0, r1] = [new FedReader('t/0'), new FedReader('t/1')];
    await listener.resume(['t/0', 't/1']);
    await listener.assign([r0, r1]);
    r0.backlogNow = { records: 40, waitingSince: 1234 };
    r0.push(['{"k":"a","t":5000}', '{"k":"a","t":6000}']);
    await until(() => v.partitions().find((p) => p.partition === 't/0')?.eventsIn === 2, 't/0 to read its batch');
    expect(v.membership()).toEqual({ joined: true, assigned: 2, topicPartitions: 2 });
    expect(v.partitions().map((p) => [p.partition, p.eventsIn, p.watermark, p.backlog])).toEqual([
      ['t/0', 2, 6000 - 1000 - 1, { records: 40, waitingSince: 1234 }],
      ['t/1', 0, Number.NEGATIVE_INFINITY, { records: undefined, waitingSince: undefined }],
    ]);

    await listener.revoke(['t/0']);
    expect(v.partitions().map((p) => p.partition)).toEqual(['t/1']);
    stop.abort();
    await run;
  });
});

describe("a Kafka partition's backlog", () => {
  const records = (from: number, to: number): KafkaRecord[] =>
    Array.from({ length: to - from }, (_, i) => ({ offset: String(from + i), value: Buffer.from('{}'), key: null, timestamp: '0' }));

  it("is the lag from the fetch's high watermark, and how long a fetched batch has waited", async () => {
    let clock = 1000;
    const reader = new KafkaPartitionReader('t', 0, undefined, async () => undefined, () => clock);
    expect(reader.backlog()).toEqual({ records: undefined, waitingSince: undefined });

    // a fetch of offsets 10–14 from a log that ends at 20, waiting for the pipeline
    const taken = reader.offer(records(10, 15), '20');
    expect(reader.backlog()).toEqual({ records: 10, waitingSince: 1000 });
    clock = 5000;
    expect((await reader.read())?.length).toBe(5);
    await taken;
    expect(reader.backlog()).toEqual({ records: 5, waitingSince: undefined });

    // the next fetch: the log grew to 30 meanwhile
    void reader.offer(records(15, 20), '30');
    expect(reader.backlog()).toEqual({ records: 15, waitingSince: 5000 });
    await reader.read();
    expect(reader.backlog()).toEqual({ records: 10, waitingSince: undefined });
  });

  it('starts from a resumed offset and never goes below zero', async () => {
    const reader = new KafkaPartitionReader('t', 3, 100n, async () => undefined, () => 0);
    void reader.offer(records(100, 102), '102');
    expect(reader.backlog().records).toBe(2);
    await reader.read();
    expect(reader.backlog()).toEqual({ records: 0, waitingSince: undefined });
    await reader.close();
  });
});
