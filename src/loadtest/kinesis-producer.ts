/**
 * The load driver's Kinesis producer: PutRecords calls of at most 500 records and 5 MiB through
 * the Kinesis sink's service (src/sinks/kinesis/service.ts), optionally KPL-aggregated with the
 * sink's aggregation, and a retry loop of its own so that everything a load test must count is
 * counted per send: calls, Kinesis records and the user records in them, entries refused for
 * their shard's write rate (ProvisionedThroughputExceededException: retried, never dropped),
 * PUT payload units, and the shard each record landed on (the ShardId of its put result).
 *
 * @module
 */
import { recordBytes, toKinesisRecords, type IndexedEntry, type KinesisRecord } from '../sinks/kinesis/aggregate.js';
import { KINESIS_MAX_BATCH_BYTES, KINESIS_MAX_BATCH_RECORDS, putUnits } from '../sinks/kinesis/config.js';
import { buildRequests } from '../sinks/kinesis/request-builder.js';
import { classifyKinesisError } from '../sinks/kinesis/retry.js';
import type { KinesisSinkService, ShardRange } from '../sinks/kinesis/service.js';
import { hashKey, shardOf } from '../sinks/kinesis/shards.js';
import type { LoadProducer, LoadRecord, PutCounts } from './service.js';

/**
 * The KPL's default largest aggregated record (`AggregationMaxSize`, 51,200 bytes): what a
 * producer aggregating with the KPL's defaults packs.
 * @see https://github.com/awslabs/amazon-kinesis-producer/blob/master/java/amazon-kinesis-producer-sample/default_config.properties
 */
export const KPL_AGGREGATION_MAX_BYTES = 51_200;
/** Attempts of one PutRecords request (first call and retries of what it did not take). */
export const MAX_PUT_ATTEMPTS = 30;
const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 1_000;
/** Suffixes tried to land a key on a shard (a shard with under 1/10⁶ of the key space gets `base`). */
const MAX_KEY_TRIES = 1_000_000;
const THROUGHPUT_EXCEEDED = 'ProvisionedThroughputExceededException';

/** Options of {@link KinesisLoadProducer}. */
export interface KinesisProducerOptions {
  /** Pack the user records of each shard into KPL aggregated records. */
  readonly aggregate: boolean;
  /** Largest aggregated record, data and partition key (default {@link KPL_AGGREGATION_MAX_BYTES}). */
  readonly maxAggregateBytes?: number;
  /** Waits between attempts (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter in [0, 1) (tests pass a constant). */
  readonly random?: () => number;
}

/**
 * A {@link LoadProducer} into a Kinesis stream whose open shards are `shards`.
 *
 * @example const producer = new KinesisLoadProducer(kinesisSinkService(stream, settings), await service.listShards(), { aggregate: true })
 */
export class KinesisLoadProducer implements LoadProducer {
  readonly partitions: number;
  private readonly shardOf: (key: string) => string;
  /** The open shards in hash-key order: partition i of a warm-up record is the i-th. */
  private readonly ordered: readonly ShardRange[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly service: KinesisSinkService,
    shards: readonly ShardRange[],
    private readonly options: KinesisProducerOptions,
  ) {
    this.ordered = [...shards].sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : a.startingHashKey > b.startingHashKey ? 1 : 0));
    this.partitions = this.ordered.length;
    this.shardOf = shardOf(this.ordered);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /**
   * Puts the records; resolves with what it took once Kinesis has every one, rejects when a
   * request fails for good (a fatal error, or {@link MAX_PUT_ATTEMPTS} attempts).
   */
  async send(records: readonly LoadRecord[]): Promise<PutCounts> {
    const counts: Mutable<PutCounts> = { putCalls: 0, kinesisRecords: 0, aggregatedRecords: 0, userRecords: 0, throttled: 0, retried: 0, putUnits: 0, kinesisBytes: 0, byShard: {} };
    const entries: IndexedEntry[] = records.map((r, index) => ({ partitionKey: r.partition === undefined ? r.key : this.keyForShard(r.partition, r.key), data: Buffer.from(r.value), index }));
    const maxRecordBytes = this.options.maxAggregateBytes ?? KPL_AGGREGATION_MAX_BYTES;
    const kinesisRecords = toKinesisRecords(entries, { aggregate: this.options.aggregate, maxRecordBytes, shardOf: this.shardOf });
    for (const request of buildRequests(kinesisRecords, { maxBatchRecords: KINESIS_MAX_BATCH_RECORDS, maxBatchBytes: KINESIS_MAX_BATCH_BYTES })) {
      await this.put(request, counts);
    }
    return counts;
  }

  async close(): Promise<void> {
    this.service.close();
  }

  /** One request: sent again, with backoff, for whatever Kinesis did not take. */
  private async put(request: readonly KinesisRecord[], counts: Mutable<PutCounts>): Promise<void> {
    let pending = request;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) counts.retried += pending.length;
      counts.putCalls++;
      let failed: KinesisRecord[];
      let reason: string;
      try {
        const outcomes = await this.service.putRecords(pending);
        failed = [];
        reason = '';
        pending.forEach((record, i) => {
          const outcome = outcomes[i] ?? { code: 'NoAnswer', message: 'no answer for this record' };
          if ('shardId' in outcome) {
            this.taken(record, outcome.shardId, counts);
            return;
          }
          if (outcome.code === THROUGHPUT_EXCEEDED) counts.throttled++;
          reason ||= `${outcome.code}: ${outcome.message}`;
          failed.push(record);
        });
      } catch (err) {
        if (classifyKinesisError(err) === 'fatal') throw err;
        const name = String((err as { name?: unknown }).name);
        // a whole call refused for throttling counts each of its records as throttled
        if (name === THROUGHPUT_EXCEEDED || name === 'ThrottlingException' || name === 'LimitExceededException') counts.throttled += pending.length;
        failed = [...pending];
        reason = `${name}: ${(err as { message?: unknown }).message ?? ''}`;
      }
      if (failed.length === 0) return;
      if (attempt >= MAX_PUT_ATTEMPTS) {
        throw new Error(`Kinesis did not take ${failed.length} of ${request.length} records after ${attempt} attempts (last: ${reason})`);
      }
      pending = failed;
      await this.sleep(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)) * (0.5 + this.random() / 2));
    }
  }

  private taken(record: KinesisRecord, shardId: string, counts: Mutable<PutCounts>): void {
    counts.kinesisRecords++;
    if (record.shard !== undefined) counts.aggregatedRecords++;
    counts.userRecords += record.entries.length;
    const bytes = recordBytes(record);
    counts.kinesisBytes += bytes;
    counts.putUnits += putUnits(bytes);
    counts.byShard[shardId] = (counts.byShard[shardId] ?? 0) + record.entries.length;
  }

  /**
   * A partition key that lands on the `partition`-th open shard (in hash-key order): `base`
   * with the first suffix whose MD5 falls in the shard's range. Warm-up records use it to reach
   * every shard, as the Kafka producer gives them a partition.
   */
  keyForShard(partition: number, base: string): string {
    const shard = this.ordered[partition];
    if (shard === undefined) return base;
    for (let n = 0; n < MAX_KEY_TRIES; n++) {
      const key = `${base}-${n}`;
      const hash = hashKey(key);
      if (hash >= shard.startingHashKey && hash <= shard.endingHashKey) return key;
    }
    return base;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends Readonly<Record<string, number>> ? Record<string, number> : T[K] };
