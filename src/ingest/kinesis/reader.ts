/**
 * One Kinesis shard as a {@link PartitionReader}: what its {@link ShardStream} fetches, KPL
 * aggregated records de-aggregated into their user records, as envelopes whose position is the
 * record's sequence number and sub-sequence number. A resumed reader starts AT the checkpointed
 * sequence number and skips every user record at or before (sequence, sub-sequence), so a restart
 * inside an aggregated record neither loses nor repeats user records.
 *
 * @module
 */
import aggregation from 'aws-kinesis-agg';
import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Position, type Raw } from '../../core/envelope.js';
import type { ShardRecord, ShardStream } from './shard-stream.js';

/** The first four bytes of a KPL aggregated record (amazon-kinesis-producer, aggregation-format.md). */
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2];

/** A Kinesis position: the record's sequence number and its user record's index inside it. */
export interface KinesisPosition {
  readonly shard: string;
  readonly sequence: string;
  readonly sub: number;
}

/** Reads a Kinesis position back from a checkpoint; undefined when it is not one. */
export function kinesisPosition(position: Position | null | undefined): KinesisPosition | undefined {
  const shard = position?.['shard'];
  const sequence = position?.['sequence'];
  const sub = position?.['sub'];
  if (typeof shard !== 'string' || typeof sequence !== 'string' || typeof sub !== 'number') return undefined;
  return { shard, sequence, sub };
}

/** Orders Kinesis sequence numbers (decimal strings of up to 128 bits). */
export function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when the record's bytes are a KPL aggregated record. */
export function isAggregated(data: Uint8Array): boolean {
  return data.length > 20 && data[0] === KPL_MAGIC[0] && data[1] === KPL_MAGIC[1] && data[2] === KPL_MAGIC[2] && data[3] === KPL_MAGIC[3];
}

/** One user record: a plain record, or one of an aggregated record's. */
export interface UserRecord {
  readonly sequenceNumber: string;
  readonly sub: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly arrival: number | undefined;
}

/**
 * The user records of a fetched record: itself (sub-sequence 0), or an aggregated record's,
 * numbered 0…n−1 as KCL numbers them. An aggregated record whose checksum or encoding is broken
 * is handed on whole, as one record: parsing then dead-letters it with its original bytes.
 */
export function userRecords(record: ShardRecord): UserRecord[] {
  const plain = [{ sequenceNumber: record.sequenceNumber, sub: 0, partitionKey: record.partitionKey, data: record.data, arrival: record.arrival }];
  if (!isAggregated(record.data)) return plain;
  let out: UserRecord[] | undefined;
  let failed = false;
  aggregation.deaggregateSync(
    { data: Buffer.from(record.data).toString('base64'), partitionKey: record.partitionKey, sequenceNumber: record.sequenceNumber, approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' },
    true,
    (err, records) => {
      if (err) failed = true;
      else
        out = (records ?? []).map((r, i) => ({
          sequenceNumber: record.sequenceNumber,
          sub: r.subSequenceNumber ?? i,
          partitionKey: r.partitionKey,
          data: Buffer.from(r.data, 'base64'),
          arrival: record.arrival,
        }));
    },
  );
  return failed || out === undefined ? plain : out;
}

/**
 * Reads one shard for the runtime. `read` resolves with the next non-empty batch of envelopes.
 * A live source's closed shard, read to its end, is reported through `onEnded` and then waits,
 * reading nothing, until the source revokes it: its windows are not fired as a bounded input's
 * would be but checkpointed with the shard, for its children to carry on. A backfill's reader
 * (no `onEnded`) simply ends.
 */
export class KinesisShardReader implements PartitionReader {
  readonly partition: string;
  private done = false;
  private closed = false;
  private millisBehind: number | undefined;
  /** Set once the shard ended: its children. */
  children: readonly string[] | undefined;
  private lastDelivered: KinesisPosition | undefined;

  constructor(
    stream: string,
    private readonly shards: ShardStream,
    /** Skip user records at or before this position (the checkpoint's). */
    private readonly after: KinesisPosition | undefined,
    /**
     * Called once a closed shard was read to its end; the reader then waits, reading nothing,
     * until closed (a live shard's windows go to its children). Without it the reader ends there,
     * as a bounded input does (backfills).
     */
    private readonly onEnded?: (reader: KinesisShardReader) => void,
    /** Most envelopes per batch: a fetch of up to 10,000 records (more, de-aggregated) is handed over in parts. */
    private readonly maxBatch = 1_000,
  ) {
    this.partition = `${stream}/${shards.shardId}`;
    this.lastDelivered = after;
  }

  get shardId(): string {
    return this.shards.shardId;
  }

  /** Where this reader stands: the last user record it handed over (or its resume position). */
  get position(): KinesisPosition | undefined {
    return this.lastDelivered;
  }

  /** How far behind the tip of the shard the latest fetch was (MillisBehindLatest). */
  get millisBehindLatest(): number | undefined {
    return this.millisBehind;
  }

  /**
   * For the operations endpoints: the shard's MillisBehindLatest as of the latest fetch. Kinesis
   * tells time behind, not records behind, so `records` is unknown.
   */
  backlog(): { readonly records: undefined; readonly waitingSince: undefined; readonly millisBehind: number | undefined } {
    return { records: undefined, waitingSince: undefined, millisBehind: this.millisBehind };
  }

  private parked: { promise: Promise<null>; resolve: (value: null) => void } | undefined;
  private failure: { error: unknown } | undefined;
  private rejectPending: ((err: unknown) => void) | undefined;

  /** The source failed: the pending and every later read reject with `error`, ending the run. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.rejectPending?.(error);
  }

  read(): Promise<Envelope<Raw>[] | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    return new Promise((resolve, reject) => {
      this.rejectPending = reject;
      this.readNext().then(resolve, reject).finally(() => (this.rejectPending = undefined));
    });
  }

  private async readNext(): Promise<Envelope<Raw>[] | null> {
    for (;;) {
      if (this.closed) return null;
      if (this.pending.length > 0) return this.take();
      if (this.done) {
        if (this.onEnded === undefined) return null;
        if (this.parked === undefined) {
          let resolve!: (value: null) => void;
          const promise = new Promise<null>((r) => (resolve = r));
          this.parked = { promise, resolve };
          this.onEnded(this);
        }
        return this.parked.promise;
      }
      const fetch = await this.shards.next();
      if (this.closed) return null;
      this.millisBehind = fetch.millisBehindLatest;
      const events: Envelope<Raw>[] = [];
      for (const record of fetch.records) {
        for (const user of userRecords(record)) {
          if (this.after !== undefined && before(user, this.after)) continue;
          const position: Position = { shard: this.shards.shardId, sequence: user.sequenceNumber, sub: user.sub };
          const meta = user.arrival === undefined ? { key: user.partitionKey, route: user.partitionKey } : { key: user.partitionKey, timestamp: user.arrival, route: user.partitionKey };
          events.push(envelope<Raw>(user.data, this.partition, position, user.data, meta));
        }
      }
      if (fetch.ended !== undefined) {
        this.done = true;
        this.children = fetch.ended.childShardIds;
      }
      if (events.length > 0) {
        this.pending = events;
        return this.take();
      }
    }
  }

  /** Fetched envelopes not handed over yet. */
  private pending: Envelope<Raw>[] = [];

  private take(): Envelope<Raw>[] {
    const batch = this.pending.length <= this.maxBatch ? this.pending : this.pending.slice(0, this.maxBatch);
    this.pending = this.pending.length <= this.maxBatch ? [] : this.pending.slice(this.maxBatch);
    const last = batch[batch.length - 1];
    if (last !== undefined) this.lastDelivered = kinesisPosition(last.position);
    return batch;
  }

  /** True once the shard was read to its end. */
  get ended(): boolean {
    return this.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.parked?.resolve(null);
    await this.shards.close();
  }
}

/** True when the user record is at or before `position`. */
function before(record: UserRecord, position: KinesisPosition): boolean {
  const order = compareSequence(record.sequenceNumber, position.sequence);
  return order < 0 || (order === 0 && record.sub <= position.sub);
}
