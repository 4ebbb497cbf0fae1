import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Position, type Raw, type RecordMeta } from '../../core/envelope.js';

const EMPTY = new Uint8Array(0);

/** One Kafka record as the consumer hands it over, already decoded from kafkajs's shape. */
export interface KafkaRecord {
  readonly offset: string;
  readonly value: Buffer | null;
  readonly meta: RecordMeta;
}

/**
 * One assigned Kafka partition as a {@link PartitionReader}. The consumer offers each fetched
 * batch and waits until `read` takes it — so a partition whose pipeline is busy is not fetched
 * again (backpressure without pausing), and a batch fetched twice after a rebalance is dropped
 * by offset instead of being read twice.
 */
export class KafkaPartitionReader implements PartitionReader {
  readonly partition: string;
  /** Offset of the next record the pipeline has not seen. */
  private next: bigint;
  private queue: { readonly records: readonly KafkaRecord[]; readonly taken: () => void; readonly at: number }[] = [];
  /** The partition's high watermark in the latest fetch: the offset its next record will get. */
  private logEnd: bigint | undefined;
  private waiting: { resolve: (value: Envelope<Raw>[] | null) => void; reject: (err: unknown) => void } | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(
    readonly topic: string,
    readonly kafkaPartition: number,
    /** Offset to start from (after a checkpoint's position), or undefined: whatever comes first. */
    startOffset: bigint | undefined,
    private readonly commitOffset: (offset: string) => Promise<void>,
    /** Wall clock for {@link backlog}'s `waitingSince`. */
    private readonly now: () => number = Date.now,
  ) {
    this.partition = `${topic}/${kafkaPartition}`;
    this.next = startOffset ?? -1n;
  }

  /**
   * Hands a fetched batch over; resolves once `read` has taken it (or the reader closed).
   * `highWatermark` is the fetch's (the offset of the partition's next record), for {@link backlog}.
   */
  offer(records: readonly KafkaRecord[], highWatermark?: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (highWatermark !== undefined && /^\d+$/.test(highWatermark)) {
      const end = BigInt(highWatermark);
      if (this.logEnd === undefined || end > this.logEnd) this.logEnd = end;
    }
    return new Promise((taken) => {
      this.queue.push({ records, taken, at: this.now() });
      this.deliver();
    });
  }

  /**
   * The consumer lag of this partition as of its latest fetch — records between the last one
   * read and the high watermark, fetched or not (undefined before the first fetch) — and since
   * when a fetched batch has been waiting for the pipeline to take it. Costs no request: the high
   * watermark comes with every fetch. It is only as fresh as the latest non-empty fetch, and a
   * transaction marker at the end of the log counts as one record.
   */
  backlog(): { readonly records: number | undefined; readonly waitingSince: number | undefined } {
    const first = this.queue[0];
    const from = this.next >= 0n ? this.next : first?.records[0] === undefined ? undefined : BigInt(first.records[0].offset);
    const records = this.logEnd === undefined || from === undefined ? undefined : this.logEnd > from ? Number(this.logEnd - from) : 0;
    return { records, waitingSince: first?.at };
  }

  read(): Promise<Envelope<Raw>[] | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** A checkpoint covering `position` is durable: the group's committed offset may follow it. */
  async commit(position: Position): Promise<void> {
    const offset = position['offset'];
    if (typeof offset === 'string') await this.commitOffset(offset);
  }

  /** The consumer died: the pending and every later read fail with `error`, ending the run. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting?.resolve(null);
    this.waiting = undefined;
    for (const entry of this.queue.splice(0)) entry.taken();
  }

  private deliver(): void {
    while (this.waiting !== undefined && this.queue.length > 0) {
      const entry = this.queue.shift() as (typeof this.queue)[number];
      entry.taken();
      const records = entry.records;
      const last = records[records.length - 1];
      // offsets only grow within a fetch: per-record checks only when it starts before `next`
      // (fetched again after a rebalance)
      let from = 0;
      if (this.next >= 0n && last !== undefined && BigInt((records[0] as KafkaRecord).offset) < this.next) {
        while (from < records.length && BigInt((records[from] as KafkaRecord).offset) < this.next) from++;
      }
      const events: Envelope<Raw>[] = new Array(records.length - from);
      for (let i = from; i < records.length; i++) {
        const record = records[i] as KafkaRecord;
        const position: Position = { partition: this.kafkaPartition, offset: record.offset };
        const raw = record.value ?? EMPTY;
        events[i - from] = envelope<Raw>(raw, this.partition, position, raw, record.meta);
      }
      if (events.length > 0) this.next = BigInt((last as KafkaRecord).offset) + 1n;
      if (events.length === 0) continue;
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(events);
    }
  }
}
