/**
 * The Kinesis side of `sluice replay`: captured records put into a stream through the Kinesis
 * sink's calls, aggregation and retries (src/sinks/kinesis), with the partition keys of the
 * capture.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import type { KinesisEndpoint } from '../kinesis/endpoint.js';
import { fitPartitionKey, openKinesisSink, type KinesisEntry, type KinesisSinkOptions } from '../sinks/kinesis/index.js';
import { valueBytes, type CaptureRecord } from './capture-format.js';
import type { ReplayTarget } from './replay.js';

/** An open replay target: a Kinesis stream. */
export interface KinesisReplayTarget extends ReplayTarget {
  /** The stream's open shard count when the target opened (undefined when describing it was denied). */
  readonly shards: number | undefined;
  /** Releases the client; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * The user record a captured record replays as. The captured key becomes the partition key — a
 * capture of a Kinesis stream holds each record's partition key there, so records go back to
 * the shard of their key, in order. A record without a key (files, the generator, keyless Kafka
 * records) takes its captured partition's id as key, so one captured partition goes to one shard
 * and keeps its order. Keys over 256 characters become their MD5 (Kinesis's limit). Kinesis
 * records have no headers: captured headers are not replayed. A tombstone (`null`) is an empty
 * record.
 *
 * @example kinesisEntryOf({ partition: 'shardId-000000000001', offset: null, timestamp: 1, key: 'user-7', headers: {}, value: '{}' }) // { partitionKey: 'user-7', data: <Buffer 7b 7d> }
 */
export function kinesisEntryOf(record: CaptureRecord): KinesisEntry {
  const key = record.key === null || record.key === '' ? String(record.partition) : record.key;
  return { partitionKey: fitPartitionKey(key === '' ? '-' : key), data: valueBytes(record.value) ?? Buffer.alloc(0) };
}

/**
 * Checks that the endpoint's stream exists and is writable, then returns a target that puts
 * records into it (`?aggregate=true` packs them into KPL aggregated records). Sluice never creates
 * streams: shard count and retention are the operator's decisions.
 *
 * @example
 * const target = await openKinesisTarget(parseKinesisUrl('kinesis://clicks', 'sink', process.env, '--to'));
 * try { await target.send(records); } finally { await target.close(); }
 * @throws UserError naming the stream: missing, not ACTIVE, credentials refused.
 * @see kinesisEntryOf
 */
export async function openKinesisTarget(endpoint: KinesisEndpoint, options: KinesisSinkOptions = {}): Promise<KinesisReplayTarget> {
  const sink = await openKinesisSink(endpoint, options);
  return {
    shards: sink.openShards,
    async send(records: readonly CaptureRecord[]) {
      const tooLarge = await sink.writeEntries(records.map(kinesisEntryOf));
      const first = tooLarge[0];
      if (first !== undefined) {
        const record = records[first] as CaptureRecord;
        throw new UserError(
          ErrorCode.RECORD_TOO_LARGE,
          `capture record of partition ${record.partition} at offset ${String(record.offset)} is over Kinesis's limit of 1 MiB per record (data and partition key); ${tooLarge.length} such records in this batch`,
        );
      }
    },
    close: () => sink.close(),
  };
}
