/**
 * The consumer side of a load test: the pipeline under test, run by the library's `runPipeline`
 * over a Kafka consumer group or the shards of a Kinesis stream, with a tap in front of its first
 * operator that reads each record's stamp and counts it, by step and partition, and records its
 * latency.
 *
 * @module
 */
import type { AssignmentListener, PartitionReader, Sink, Source } from '../core/connectors.js';
import type { DeadLetter } from '../core/context.js';
import type { PipelineDefinition } from '../core/definition.js';
import { batchOperator, type Operator } from '../core/operator.js';
import { runPipeline, type RunSummary, type RunView } from '../runtime/run.js';
import { epochNow } from './driver.js';
import { LatencyRecorder } from './latency.js';
import { readStamp } from './stamp.js';

/** Sinks of a load test's pipeline: count what arrives, keep nothing. */
class CountingSink<T> implements Sink<T> {
  count = 0;
  constructor(readonly description: string) {}
  async write(records: readonly T[]): Promise<void> {
    this.count += records.length;
  }
  async close(): Promise<void> {}
}

/**
 * Runs a pipeline on a source (a Kafka consumer group, a Kinesis stream) and measures what reaches it.
 *
 * @example
 * const consumer = new ConsumerSide({ source: kafkaSource(endpoint), definition, steps: 2 });
 * await consumer.start(4); // all 4 partitions assigned
 * …
 * const summary = await consumer.stop();
 */
export class ConsumerSide {
  readonly latency: LatencyRecorder;
  /** Records read, by the step they were sent in. */
  readonly readByStep: number[];
  /** Records read per partition id, by step. */
  readonly readByPartition = new Map<string, number[]>();
  /** The next offset to read of each Kafka partition number. */
  readonly nextOffsets = new Map<number, bigint>();
  /** Records without a load-test stamp (someone else's), read but not measured. */
  foreign = 0;
  /** Partitions a warm-up record arrived from; warm-up records are not measured. */
  readonly warmedUp = new Set<string>();
  readonly results = new CountingSink<unknown>('null: (results counted)');
  readonly deadLetters = new CountingSink<DeadLetter>('null: (dead letters counted)');
  private readonly assigned = new Set<string>();
  /** The readers of the assigned partitions (Kinesis shard readers tell how far behind they are). */
  private readonly readers = new Map<string, PartitionReader>();
  private readonly stopper = new AbortController();
  private run: Promise<RunSummary> | undefined;
  private view: RunView | undefined;

  constructor(private readonly options: { readonly source: Source; readonly definition: PipelineDefinition; readonly steps: number }) {
    this.latency = new LatencyRecorder(options.steps);
    this.readByStep = new Array<number>(options.steps).fill(0);
  }

  /** Records read so far that this load test sent. */
  get read(): number {
    return this.readByStep.reduce((a, b) => a + b, 0);
  }

  /**
   * MillisBehindLatest of each assigned Kinesis shard (partition id → ms) as of its latest
   * GetRecords answer; empty for sources that do not report it.
   */
  millisBehindLatest(): Map<string, number> {
    const behind = new Map<string, number>();
    for (const [partition, reader] of this.readers) {
      const ms = (reader as { readonly millisBehindLatest?: unknown }).millisBehindLatest;
      if (typeof ms === 'number') behind.set(partition, ms);
    }
    return behind;
  }

  /** The run's counters (events in, results out, late, dead-lettered …). */
  counters(): Record<string, number> {
    return this.view?.counters() ?? {};
  }

  /**
   * Starts the pipeline; resolves once the group has assigned it `partitions` partitions, so
   * that the load does not start while the consumer is still joining. Rejects when the run fails
   * first or `timeoutMs` passes.
   */
  async start(partitions: number, timeoutMs = 60_000): Promise<void> {
    let ready!: () => void;
    const assigned = new Promise<void>((resolve) => (ready = resolve));
    const source = trackAssignments(this.options.source, (readers, revoked) => {
      for (const reader of readers) {
        this.assigned.add(reader.partition);
        this.readers.set(reader.partition, reader);
      }
      for (const id of revoked) {
        this.assigned.delete(id);
        this.readers.delete(id);
      }
      if (this.assigned.size >= partitions) ready();
    });
    const definition: PipelineDefinition = { ...this.options.definition, before: [this.tap(), ...this.options.definition.before] };
    this.run = runPipeline({
      definition,
      source,
      sinks: [this.results],
      deadLetter: this.deadLetters,
      signal: this.stopper.signal,
      view: (view) => (this.view = view),
    });
    const ended = this.run.then(() => {
      throw new Error('the pipeline ended before its partitions were assigned');
    });
    ended.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the consumer group did not assign all ${partitions} partitions within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([assigned, ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the pipeline (it finishes what it read) and returns its summary. */
  async stop(): Promise<RunSummary> {
    this.stopper.abort();
    if (this.run === undefined) throw new Error('the consumer was never started');
    return this.run;
  }

  /** The operator in front of the pipeline's own: stamps → latency and counts; events pass unchanged. */
  private tap(): Operator<unknown, unknown> {
    return batchOperator(() => (events) => {
      const now = epochNow();
      for (const env of events) {
        const stamp = env.raw === undefined ? null : readStamp(env.raw);
        if (stamp === null || stamp.step > this.readByStep.length) {
          this.foreign++;
          continue;
        }
        if (stamp.step === this.readByStep.length) {
          this.warmedUp.add(env.partition);
          continue;
        }
        this.latency.record(stamp.step, now - stamp.sentAt);
        this.readByStep[stamp.step] = (this.readByStep[stamp.step] as number) + 1;
        let counts = this.readByPartition.get(env.partition);
        if (counts === undefined) this.readByPartition.set(env.partition, (counts = new Array<number>(this.readByStep.length).fill(0)));
        counts[stamp.step] = (counts[stamp.step] as number) + 1;
      }
      const last = events[events.length - 1];
      const partition = last?.position['partition'];
      const offset = last?.position['offset'];
      if (typeof partition === 'number' && typeof offset === 'string') this.nextOffsets.set(partition, BigInt(offset) + 1n);
      return events;
    });
  }
}

/** The source, with `onChange` told of every assignment (its readers) and revocation (partition ids). */
function trackAssignments(source: Source, onChange: (assigned: readonly PartitionReader[], revoked: readonly string[]) => void): Source {
  const wrapped: Source = {
    description: source.description,
    open: (resume) => source.open(resume),
    close: () => source.close(),
    listen: (listener: AssignmentListener) =>
      source.listen?.({
        resume: (partitions) => listener.resume(partitions),
        assign: async (readers: readonly PartitionReader[]) => {
          await listener.assign(readers);
          onChange(readers, []);
        },
        revoke: async (partitions) => {
          onChange([], partitions);
          await listener.revoke(partitions);
        },
        checkpointNow: () => listener.checkpointNow(),
      }),
  };
  // whatever else the source offers the runtime (its group membership, …) stays reachable
  const extra = wrapped as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(source) as object)) {
    const member = (source as unknown as Record<string, unknown>)[name];
    if (name !== 'constructor' && !(name in wrapped) && typeof member === 'function') extra[name] = member.bind(source);
  }
  return wrapped;
}
