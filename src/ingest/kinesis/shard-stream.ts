/**
 * The contract between the two ways of reading one Kinesis shard — polling GetRecords
 * (`polling.ts`) and enhanced fan-out SubscribeToShard (`fanout.ts`) — and the shard reader that
 * turns what they fetch into envelopes (de-aggregating KPL records, skipping what a checkpoint
 * already covers).
 *
 * @module
 */

/** One Kinesis record as fetched, before KPL de-aggregation. */
export interface ShardRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** ApproximateArrivalTimestamp, epoch ms (undefined when the service left it out). */
  readonly arrival: number | undefined;
}

/** Where reading a shard starts. */
export type ShardPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

/** What one GetRecords call or one SubscribeToShard event brought. */
export interface ShardFetch {
  /** In sequence-number order; may be empty. */
  readonly records: readonly ShardRecord[];
  /** How far behind the tip of the shard the reader is after this fetch (MillisBehindLatest). */
  readonly millisBehindLatest: number | undefined;
  /**
   * Set when the shard is closed (split or merged) and every record of it was delivered, this
   * fetch's included: its children, which may start once every parent is done.
   */
  readonly ended: { readonly childShardIds: readonly string[] } | undefined;
}

/**
 * Reads one shard from a position, in order, one fetch at a time. `next` is never called again
 * while a call is pending or after a fetch with `ended`. Implementations respect the shard's read
 * limits (5 GetRecords calls/s and 2 MB/s shared by polling consumers; 2 MB/s per fan-out
 * consumer), back off on ProvisionedThroughputExceeded, renew expired iterators and
 * subscriptions from the last sequence number they delivered, and retry passing errors; they
 * reject only for errors that will not pass (the stream was deleted, access denied).
 */
export interface ShardStream {
  readonly shardId: string;
  next(): Promise<ShardFetch>;
  /** Stops reading; a pending `next` resolves with an empty fetch or rejects. */
  close(): Promise<void>;
}
