import type { AssignmentListener, PartitionReader, Source } from '../../core/connectors.js';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { KafkaPartitionReader, type KafkaRecord } from './reader.js';
import { KafkaConsumerService } from './service.js';

/**
 * A Kafka topic read by a consumer group (`kafka://BROKERS/TOPIC?group=G`): every partition the
 * group assigns to this member is a partition pipeline. A checkpoint's offset is authoritative:
 * an assigned partition with a checkpoint resumes right after it (whatever the group committed);
 * the group's committed offset only ever moves to checkpointed offsets. New groups start at
 * `start` (earliest, latest, or the first record at a time).
 *
 * @example kafkaSource(parseKafkaUrl('kafka://127.0.0.1:9092/clicks?group=page-views', 'source'))
 * @see KafkaPartitionReader
 */
export function kafkaSource(endpoint: KafkaEndpoint): Source {
  return new KafkaSource(endpoint);
}

class KafkaSource implements Source {
  readonly description: string;
  private readonly service: KafkaConsumerService;
  private readonly readers = new Map<number, KafkaPartitionReader>();
  private listener: AssignmentListener | undefined;
  /** Assignment changes run one after another; batches wait for the change in progress. */
  private changes: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** The checkpoint taken for a rebalance in progress. */
  private drain: Promise<void> | undefined;
  /** The group's latest assignment to this member (undefined: none yet), and the topic's size. */
  private assignment: readonly number[] | undefined;
  private topicPartitions = 0;

  constructor(private readonly endpoint: KafkaEndpoint) {
    this.description = endpoint.url;
    this.service = new KafkaConsumerService(endpoint);
  }

  /** Connects and checks the topic; partitions arrive later, from the group, through `listen`. */
  async open(): Promise<PartitionReader[]> {
    this.topicPartitions = await this.service.connect();
    return [];
  }

  /**
   * Where this member stands in the group, for readiness: whether the group has given it an
   * assignment yet (an empty one, too: more members than partitions), and of how many partitions.
   */
  membership(): { readonly joined: boolean; readonly assigned: number; readonly topicPartitions: number } {
    return { joined: this.assignment !== undefined, assigned: this.assignment?.length ?? 0, topicPartitions: this.topicPartitions };
  }

  listen(listener: AssignmentListener): void {
    this.listener = listener;
    this.service
      .run({
        assigned: (partitions) => this.assigned(partitions),
        rebalancing: () => this.rebalancing(),
        batch: (partition, records, highWatermark) => this.batch(partition, records, highWatermark),
        crashed: (err) => this.crash(err),
      })
      .catch((err: unknown) => this.crash(err));
  }

  async close(): Promise<void> {
    await this.changes.catch(() => undefined);
    await this.service.disconnect();
  }

  /**
   * The group's new assignment for this member. New partitions are paused right away (still
   * inside the join event, before any fetch), so none is read before its checkpoint is loaded
   * and the consumer sought to it.
   */
  private assigned(partitions: readonly number[]): void {
    const listener = this.listener;
    if (listener === undefined) return;
    this.assignment = [...partitions];
    this.service.pause(partitions.filter((p) => !this.readers.has(p)));
    this.changes = this.changes.then(() => this.reassign(partitions, listener)).catch((err: unknown) => this.crash(err));
  }

  /** Checkpoints the current partitions before the member rejoins; one drain at a time. */
  private rebalancing(): Promise<void> {
    const listener = this.listener;
    if (listener === undefined || this.readers.size === 0) return Promise.resolve();
    this.drain ??= listener.checkpointNow().finally(() => (this.drain = undefined));
    return this.drain;
  }

  private async reassign(partitions: readonly number[], listener: AssignmentListener): Promise<void> {
    const keep = new Set(partitions);
    const revoked = [...this.readers.keys()].filter((p) => !keep.has(p));
    if (revoked.length > 0) {
      // the runtime checkpoints them (and we commit) before their state is released
      await listener.revoke(revoked.map((p) => this.idOf(p)));
      for (const partition of revoked) this.readers.delete(partition);
    }
    const added = partitions.filter((p) => !this.readers.has(p));
    if (added.length === 0) return;
    const positions = await listener.resume(added.map((p) => this.idOf(p)));
    const resume = new Map<number, bigint>();
    for (const partition of added) {
      const offset = positions.get(this.idOf(partition))?.['offset'];
      if (typeof offset !== 'string') continue;
      const next = BigInt(offset) + 1n;
      resume.set(partition, next);
      this.service.seek(partition, next.toString());
    }
    if (this.endpoint.start.kind === 'timestamp') {
      const starts = await this.service.startOffsetsAt(this.endpoint.start.time);
      for (const partition of added) {
        const offset = starts.get(partition);
        if (resume.has(partition) || offset === undefined) continue;
        resume.set(partition, BigInt(offset));
        this.service.seek(partition, offset);
      }
    }
    const readers = added.map((partition) => {
      const reader = new KafkaPartitionReader(this.endpoint.topic, partition, resume.get(partition), (offset) =>
        this.service.commit(partition, offset),
      );
      this.readers.set(partition, reader);
      return reader;
    });
    await listener.assign(readers);
    this.service.resume(added);
  }

  private async batch(partition: number, records: readonly KafkaRecord[], highWatermark: string): Promise<void> {
    let reader = this.readers.get(partition);
    if (reader === undefined) {
      await this.changes;
      reader = this.readers.get(partition);
    }
    // a batch for a partition this member no longer reads is dropped: its new owner reads it
    if (reader !== undefined) await reader.offer(records, highWatermark);
  }

  private crash(err: unknown): void {
    this.failure ??= err;
    for (const reader of this.readers.values()) reader.fail(this.failure);
  }

  private idOf(partition: number): string {
    return `${this.endpoint.topic}/${partition}`;
  }
}
