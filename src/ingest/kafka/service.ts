/**
 * The Kafka source's only contact with kafkajs: a consumer-group member that hands fetched
 * batches to partition readers, reports assignments, seeks, and commits checkpointed offsets.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { kafkaClient, describeKafkaError } from '../../kafka/service.js';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import type { KafkaRecord } from './reader.js';

/** What the consumer reports to the source. */
export interface ConsumerEvents {
  /** The group gave this member these partitions (all of them, after every rebalance). */
  assigned(partitions: readonly number[]): void;
  /**
   * A rebalance started: the member is about to give its partitions back. Resolves once they
   * are checkpointed; when it is reported from inside a held batch, the member rejoins only then.
   */
  rebalancing(): Promise<void>;
  /**
   * A fetched batch of one partition; resolves when the pipeline has taken it. `highWatermark` is
   * the partition's (the offset its next record will get), which gives the lag for free.
   */
  batch(partition: number, records: readonly KafkaRecord[], highWatermark: string): Promise<void>;
  /** The consumer failed for good. */
  crashed(err: unknown): void;
}

const HEARTBEAT_MS = 3_000;

/** What kafkajs throws when the group started rebalancing (its own `isRebalancing` test). */
function isRebalancing(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/** A consumer-group member for one topic, driven through {@link ConsumerEvents}. */
export class KafkaConsumerService {
  private readonly consumer: Consumer;

  /** How long a member may checkpoint before rejoining a rebalance: half the rebalance timeout. */
  private readonly drainDeadlineMs: number;

  constructor(private readonly endpoint: KafkaEndpoint) {
    const rebalanceTimeout = Math.max(60_000, endpoint.sessionTimeoutMs);
    this.drainDeadlineMs = rebalanceTimeout / 2;
    this.consumer = kafkaClient(endpoint).consumer({
      groupId: endpoint.group ?? 'sluice',
      sessionTimeout: endpoint.sessionTimeoutMs,
      rebalanceTimeout,
      heartbeatInterval: HEARTBEAT_MS,
      allowAutoTopicCreation: false,
    });
  }

  /** Connects and checks that the topic exists; a missing topic or broker is a one-line error. */
  async connect(): Promise<number> {
    const admin = kafkaClient(this.endpoint).admin();
    try {
      await admin.connect();
      const metadata = await admin.fetchTopicMetadata({ topics: [this.endpoint.topic] });
      const partitions = metadata.topics[0]?.partitions.length ?? 0;
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.endpoint.topic], fromBeginning: this.endpoint.start.kind !== 'latest' });
      return partitions;
    } catch (err) {
      throw describeKafkaError(err, this.endpoint);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Starts consuming; events arrive from now on. */
  async run(events: ConsumerEvents): Promise<void> {
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, ({ payload }) => events.assigned(payload.memberAssignment[this.endpoint.topic] ?? []));
    this.consumer.on(REBALANCING, () => void events.rebalancing());
    this.consumer.on(CRASH, ({ payload }) => {
      if (!payload.restart) events.crashed(describeKafkaError(payload.error, this.endpoint));
    });
    await this.consumer.run({
      autoCommit: false,
      // every assigned partition is its own pipeline: let them all be in flight at once
      partitionsConsumedConcurrently: 1_000,
      eachBatch: (payload) => this.handle(payload, events),
    });
  }

  /** Stops fetching partitions (until `resume`): new ones wait while their checkpoints load. */
  pause(partitions: readonly number[]): void {
    if (partitions.length > 0) this.consumer.pause([{ topic: this.endpoint.topic, partitions: [...partitions] }]);
  }

  resume(partitions: readonly number[]): void {
    if (partitions.length > 0) this.consumer.resume([{ topic: this.endpoint.topic, partitions: [...partitions] }]);
  }

  /** Starts a partition at `offset` (the record after a checkpoint's position). */
  seek(partition: number, offset: string): void {
    this.consumer.seek({ topic: this.endpoint.topic, partition, offset });
  }

  /**
   * For `start=TIME`: the offset of the first record at or after `time` of each partition the
   * group has no committed offset for (a group that committed resumes where it was).
   */
  async startOffsetsAt(time: number): Promise<Map<number, string>> {
    const admin = kafkaClient(this.endpoint).admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: this.endpoint.group ?? 'sluice', topics: [this.endpoint.topic] });
      const fresh = new Set((committed?.partitions ?? []).filter((p) => p.offset === '-1').map((p) => p.partition));
      const found = await admin.fetchTopicOffsetsByTimestamp(this.endpoint.topic, time);
      return new Map(found.filter((p) => fresh.has(p.partition) || committed === undefined).map((p) => [p.partition, p.offset]));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Records a checkpointed position as the group's committed offset (the next record to read). */
  async commit(partition: number, offset: string): Promise<void> {
    await this.consumer.commitOffsets([{ topic: this.endpoint.topic, partition, offset: (BigInt(offset) + 1n).toString() }]);
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }

  private async handle(payload: EachBatchPayload, events: ConsumerEvents): Promise<void> {
    const { batch, heartbeat, isStale } = payload;
    if (isStale() || batch.messages.length === 0) return;
    const taken = events.batch(batch.partition, batch.messages, batch.highWatermark);
    // Waiting for a busy pipeline must not look like a dead member: heartbeat meanwhile.
    let done = false;
    void taken.then(() => (done = true));
    while (!done) {
      await Promise.race([taken, new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS))]);
      if (!done) await this.heartbeatOrDrain(heartbeat, events);
    }
  }

  /**
   * Heartbeats; when the group is rebalancing, checkpoints the partitions before kafkajs rejoins
   * (it rejoins once this batch handler fails), within the rebalance timeout the broker grants.
   */
  private async heartbeatOrDrain(heartbeat: () => Promise<void>, events: ConsumerEvents): Promise<void> {
    try {
      await heartbeat();
    } catch (err) {
      if (isRebalancing(err)) {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise((resolve) => (timer = setTimeout(resolve, this.drainDeadlineMs)));
        await Promise.race([events.rebalancing().catch(() => undefined), deadline]);
        clearTimeout(timer);
      }
      throw err;
    }
  }
}

/** A partition's bounded range for a backfill: offsets `[from, to)`. */
export interface OffsetRange {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/**
 * A time-range reader of one topic for backfills: offsets for times through the admin API, then a
 * consumer of a group of its own (kafkajs has no manual assignment) that seeks every partition to
 * its start and hands batches over like {@link KafkaConsumerService}. Commits nothing.
 */
export class KafkaRangeService {
  private readonly consumer: Consumer;

  constructor(private readonly endpoint: KafkaEndpoint) {
    this.consumer = kafkaClient(endpoint).consumer({ groupId: endpoint.group ?? 'sluice-backfill', sessionTimeout: endpoint.sessionTimeoutMs, heartbeatInterval: HEARTBEAT_MS, allowAutoTopicCreation: false });
  }

  /** Each partition's offsets for `[start, end)`: null ends are the log's start and end. */
  async ranges(start: number | null, end: number | null): Promise<OffsetRange[]> {
    const admin = kafkaClient(this.endpoint).admin();
    try {
      await admin.connect();
      const bounds = await admin.fetchTopicOffsets(this.endpoint.topic);
      // a time past the last record gives -1: the log end
      const at = async (time: number | null, fallback: 'low' | 'high'): Promise<Map<number, string>> => {
        const found = time === null ? [] : await admin.fetchTopicOffsetsByTimestamp(this.endpoint.topic, time);
        const byPartition = new Map(found.map((p) => [p.partition, p.offset]));
        return new Map(bounds.map((b) => {
          const offset = byPartition.get(b.partition);
          return [b.partition, offset === undefined || offset === '-1' ? (time === null && fallback === 'low' ? b.low : b.high) : offset];
        }));
      };
      const from = await at(start, 'low');
      const to = await at(end, 'high');
      return bounds.map((b) => ({ partition: b.partition, from: from.get(b.partition) ?? b.low, to: to.get(b.partition) ?? b.high })).sort((x, y) => x.partition - y.partition);
    } catch (err) {
      throw describeKafkaError(err, this.endpoint);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Reads every partition from `starts`; `batch` resolves when the pipeline took the batch. */
  async run(starts: ReadonlyMap<number, string>, batch: (partition: number, records: readonly KafkaRecord[]) => Promise<void>, crashed: (err: unknown) => void): Promise<void> {
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.endpoint.topic], fromBeginning: true });
    } catch (err) {
      throw describeKafkaError(err, this.endpoint);
    }
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) crashed(describeKafkaError(payload.error, this.endpoint));
    });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1_000,
      eachBatch: async ({ batch: fetched, heartbeat, isStale }) => {
        if (isStale() || fetched.messages.length === 0) return;
        const taken = batch(fetched.partition, fetched.messages);
        let done = false;
        void taken.then(() => (done = true));
        while (!done) {
          await Promise.race([taken, new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS))]);
          if (!done) await heartbeat();
        }
      },
    });
    // seeks after run(): kafkajs applies them once the group assigns the partitions
    for (const [partition, offset] of starts) this.consumer.seek({ topic: this.endpoint.topic, partition, offset });
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}
