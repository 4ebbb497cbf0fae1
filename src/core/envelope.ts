/**
 * Where a record came from: a file and line, a Kafka offset, a Kinesis sequence number and
 * sub-sequence. Enough to find the record again and to resume after it.
 */
export type Position = Readonly<Record<string, string | number>>;

/** Original bytes as read, kept for dead-letter entries. */
export type Raw = string | Uint8Array;

/**
 * One event as it flows through a partition's operators.
 *
 * Operators own the envelopes they receive and may update `value`, `key` and `time` in place;
 * an envelope taken out of the stream (dead-lettered, late, duplicate) is never touched again.
 */
export interface Envelope<T = unknown> {
  /** The event itself: raw bytes from a source until an operator parses them. */
  value: T;
  /** Event time in epoch milliseconds; `NaN` until a timestamp is assigned. */
  time: number;
  /**
   * The partition's watermark in effect just before this event: stamped by the watermark
   * operator, so that downstream windows see exactly the per-event watermark sequence whatever
   * the batch boundaries and whatever operators in between drop.
   */
  wm: number;
  /** Canonical key string (see `canonicalKey`); `undefined` until keyed. */
  key: string | undefined;
  /** The key as users see it in results: `{ field: value }` for field keys. */
  keyValue: unknown;
  readonly partition: string;
  readonly position: Position;
  readonly raw: Raw | undefined;
  /**
   * What the source knows about the record besides its bytes: a Kafka record's key, headers and
   * timestamp, a Kinesis record's partition key and arrival time. `sluice record` keeps it.
   */
  readonly meta?: RecordMeta | undefined;
}

/** Source metadata of a record (see {@link Envelope.meta}). */
export interface RecordMeta {
  /** The record's key as text (UTF-8), or `base64:…` when it is not text; null when absent. */
  readonly key?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, epoch ms. */
  readonly timestamp?: number;
  /**
   * What places the record in its partition when partitions can split and merge (a Kinesis
   * partition key): windows remember it, so their state follows the key to its new shard.
   */
  readonly route?: string;
}

/** Makes a fresh envelope for a record read from a source. */
export function envelope<T>(value: T, partition: string, position: Position, raw?: Raw, meta?: RecordMeta): Envelope<T> {
  return { value, time: Number.NaN, wm: Number.NEGATIVE_INFINITY, key: undefined, keyValue: undefined, partition, position, raw, meta };
}

/** A copy of `env` carrying another value; used by flatMap, which turns one event into many. */
export function withValue<T, U>(env: Envelope<T>, value: U): Envelope<U> {
  return {
    value,
    time: env.time,
    wm: env.wm,
    key: env.key,
    keyValue: env.keyValue,
    partition: env.partition,
    position: env.position,
    raw: env.raw,
    meta: env.meta,
  };
}
