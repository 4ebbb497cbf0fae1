import type { PartitionReader } from '../../../core/connectors.js';
import { envelope, type Envelope, type Position, type Raw } from '../../../core/envelope.js';

/** One record as the MultiLangDaemon hands it over (JSON of KCL's `JsonFriendlyRecord`). */
export interface KclRecord {
  /** The record's bytes, base64. */
  readonly data: string;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  /** Set by KCL's KPL de-aggregation; 0 (or absent) for plain records. */
  readonly subSequenceNumber?: number | null;
  /** Epoch ms. */
  readonly approximateArrivalTimestamp?: number | null;
}

/** Where a Kinesis record stands in its shard, as Sluice's checkpoints keep it. */
export interface KclPosition {
  readonly sequence: bigint;
  readonly sub: number;
}

/** The `{ shard, sequence, sub }` position a checkpoint saved, or undefined when it is not one. */
export function kclPositionOf(position: Position | undefined): KclPosition | undefined {
  const sequence = position?.['sequence'];
  if (typeof sequence !== 'string' || !/^\d+$/.test(sequence)) return undefined;
  const sub = position?.['sub'];
  return { sequence: BigInt(sequence), sub: typeof sub === 'number' ? sub : 0 };
}

/** −1, 0 or 1 as `a` comes before, at or after `b`. */
export function comparePositions(a: KclPosition, b: KclPosition): number {
  if (a.sequence !== b.sequence) return a.sequence < b.sequence ? -1 : 1;
  return a.sub === b.sub ? 0 : a.sub < b.sub ? -1 : 1;
}

/**
 * The shard a record processor holds, as a {@link PartitionReader}. The processor offers each
 * `processRecords` batch and waits until `read` takes it, so the daemon gets its status — and
 * sends the next batch — only once the pipeline has room (backpressure through the protocol).
 * Records a resumed checkpoint already covers are dropped by position: KCL's own checkpoint
 * lags Sluice's (it is written after it), so a restarted shard is handed some of them again.
 */
export class KclShardReader implements PartitionReader {
  readonly partition: string;
  private queue: { readonly records: readonly KclRecord[]; readonly taken: () => void }[] = [];
  private waiting: { resolve: (value: Envelope<Raw>[] | null) => void } | undefined;
  private closed = false;
  private ending = false;
  private endedNow!: () => void;
  /** Resolves once `read` returned the end of the shard (after every record offered before). */
  readonly ended: Promise<void> = new Promise<void>((resolve) => (this.endedNow = resolve));

  constructor(
    readonly stream: string,
    readonly shardId: string,
    /** The last record a checkpoint covers: records at or before it are skipped. */
    private covered: KclPosition | undefined,
    /** Records that arrived before this time are skipped (AT_TIMESTAMP in the same second). */
    private readonly arrivedFrom: number | undefined,
    private readonly onCommit: (position: Position) => void,
  ) {
    this.partition = `${stream}/${shardId}`;
  }

  /** Hands a batch over; resolves once `read` took it (or the reader closed). */
  offer(records: readonly KclRecord[]): Promise<void> {
    if (this.closed || this.ending || records.length === 0) return Promise.resolve();
    return new Promise((taken) => {
      this.queue.push({ records, taken });
      this.deliver();
    });
  }

  /** The shard is closed (split or merged): `read` returns its end after what is queued. */
  end(): void {
    this.ending = true;
    this.deliver();
  }

  read(): Promise<Envelope<Raw>[] | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = { resolve };
      this.deliver();
    });
  }

  /** A checkpoint covering `position` is durable: KCL's checkpoint may follow it. */
  async commit(position: Position): Promise<void> {
    this.onCommit(position);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting?.resolve(null);
    this.waiting = undefined;
    for (const entry of this.queue.splice(0)) entry.taken();
  }

  private deliver(): void {
    while (this.waiting !== undefined) {
      const entry = this.queue.shift();
      if (entry === undefined) {
        if (!this.ending) return;
        const { resolve } = this.waiting;
        this.waiting = undefined;
        this.endedNow();
        resolve(null);
        return;
      }
      entry.taken();
      const events = this.envelopes(entry.records);
      if (events.length === 0) continue;
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(events);
    }
  }

  private envelopes(records: readonly KclRecord[]): Envelope<Raw>[] {
    const events: Envelope<Raw>[] = [];
    for (const record of records) {
      const sub = record.subSequenceNumber ?? 0;
      const at: KclPosition = { sequence: BigInt(record.sequenceNumber), sub };
      if (this.covered !== undefined && comparePositions(at, this.covered) <= 0) continue;
      const arrival = record.approximateArrivalTimestamp ?? undefined;
      if (this.covered === undefined && this.arrivedFrom !== undefined && arrival !== undefined && arrival < this.arrivedFrom) continue;
      this.covered = at;
      const raw = Buffer.from(record.data, 'base64');
      const position: Position = { shard: this.shardId, sequence: record.sequenceNumber, sub };
      events.push(envelope<Raw>(raw, this.partition, position, raw, { key: record.partitionKey, ...(arrival === undefined ? {} : { timestamp: arrival }) }));
    }
    return events;
  }
}
