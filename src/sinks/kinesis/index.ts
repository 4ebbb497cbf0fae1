import type { RetryPolicy } from 'cockatiel';
import { openOrRelease } from '../open.js';
import { WriteChain } from '../write-chain.js';
import type { Sink, SinkRejection, WriteResult } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { recordBytes, toKinesisRecords, type IndexedEntry, type KinesisRecord, type ShardOf } from './aggregate.js';
import { kinesisSinkConfig, putUnits, type KinesisEndpoint, type KinesisSinkConfig, type KinesisSinkOptions } from './config.js';
import { kinesisEncoder, resultId, type KinesisEntry } from './encoder.js';
import { buildRequests } from './request-builder.js';
import { classifyKinesisError, kinesisRetryPolicy, PartialFailure, sinkError, type FailedPut } from './retry.js';
import { kinesisSinkService, type KinesisSinkService, type StreamSummary } from './service.js';
import { shardOf } from './shards.js';

export {
  KINESIS_ENDPOINT_ENV,
  KINESIS_MAX_BATCH_BYTES,
  KINESIS_MAX_BATCH_RECORDS,
  KINESIS_MAX_PARTITION_KEY_LENGTH,
  KINESIS_MAX_RECORD_BYTES,
  KINESIS_PUT_UNIT_BYTES,
  kinesisSinkConfig,
  parseKinesisUrl,
  putUnits,
  type AwsCredentials,
  type KinesisEndpoint,
  type KinesisRetryOptions,
  type KinesisSinkConfig,
  type KinesisSinkOptions,
} from './config.js';
export { KPL_MAGIC, aggregateEntries, aggregatedBytes, recordBytes, toKinesisRecords, type AggregationOptions, type IndexedEntry, type KinesisRecord, type ShardOf } from './aggregate.js';
export { encodeResultLine, fitPartitionKey, kinesisEncoder, partitionKeyOf, type KinesisEntry } from './encoder.js';
export { buildRequests, type RequestLimits } from './request-builder.js';
export { classifyKinesisError, describeKinesisError, type FailedPut } from './retry.js';
export type { KinesisSinkService, PutOutcome, ShardRange, StreamSummary } from './service.js';
export { hashKey, shardOf } from './shards.js';

/**
 * What a Kinesis sink has done so far. `putUnits` is what a provisioned stream bills for the
 * records Kinesis took (each rounded up to 25 KB); `putUnitsUnaggregated` what the same user
 * records would have cost as one record each — equal without aggregation, the saving with it.
 *
 * @see KinesisSink.metrics
 */
export interface KinesisSinkMetrics {
  /** User records (results) Kinesis took. */
  readonly userRecords: number;
  /** Kinesis records they travelled in (fewer than `userRecords` with aggregation). */
  readonly kinesisRecords: number;
  /** Of `kinesisRecords`, those in the KPL aggregated format. */
  readonly aggregatedRecords: number;
  /** PutRecords calls, retries included. */
  readonly putCalls: number;
  readonly putUnits: number;
  readonly putUnitsUnaggregated: number;
  /** Calls refused whole for throttling, and records refused for their shard's write rate. */
  readonly throttled: number;
  /** Kinesis records sent again after a failed or partly failed call. */
  readonly retriedRecords: number;
  /** Results refused before sending (too large) and returned for the dead-letter output. */
  readonly rejected: number;
  /** Times the shard map for aggregation was read (at open, and after resharding was noticed). */
  readonly shardMapLoads: number;
}

type Counters = { -readonly [K in keyof KinesisSinkMetrics]: number };

/** Stream states that take writes. */
const WRITABLE = new Set(['ACTIVE', 'UPDATING']);

/**
 * Writes results to a Kinesis data stream (`--sink kinesis://STREAM[?key=FIELD&aggregate=true]`):
 * each result is one user record of its JSON line, with the result's key (or `?key=` field) as
 * partition key, so each key's results go to one shard, in order.
 *
 * `write` sends PutRecords calls of at most 500 records and 5 MiB and resolves once Kinesis took
 * every record: that is the acknowledgement checkpoints wait for. Calls that fail for a passing
 * reason (throttling, 5xx, timeouts) are sent again, and of a partly failed call
 * (FailedRecordCount > 0: ProvisionedThroughputExceededException, InternalFailure) only the
 * records Kinesis did not take, with backoff and jitter. A retried record can land after a later
 * record of its shard that was taken at once, as with any PutRecords producer. A result over the
 * 1 MiB record limit is not sent: `write` returns it as rejected (RECORD_TOO_LARGE) for the
 * dead-letter output. Anything else (a missing stream, refused access) fails the run with one
 * line.
 *
 * With `aggregate=true`, user records headed for the same shard share KPL aggregated records up
 * to the record limit, cutting PUT units and records per second; see {@link KinesisSink.metrics}.
 *
 * @example
 * const sink = new KinesisSink(kinesisSinkConfig(endpoint), kinesisSinkService(endpoint.stream, config.client));
 * await sink.open(); await sink.write(results); await sink.close();
 * @see openKinesisSink
 */
export class KinesisSink implements Sink {
  readonly description: string;
  private readonly policy: RetryPolicy;
  private readonly encode: (record: unknown) => KinesisEntry;
  private readonly counters: Counters = {
    userRecords: 0,
    kinesisRecords: 0,
    aggregatedRecords: 0,
    putCalls: 0,
    putUnits: 0,
    putUnitsUnaggregated: 0,
    throttled: 0,
    retriedRecords: 0,
    rejected: 0,
    shardMapLoads: 0,
  };
  private opening: Promise<void> | undefined;
  private readonly writes = new WriteChain();
  private failure: UserError | undefined;
  private summary: StreamSummary | undefined;
  /** Where aggregation predicts each key's shard; undefined groups by key. */
  private shards: ShardOf | undefined;
  private shardsStale = false;

  constructor(
    private readonly config: KinesisSinkConfig,
    private readonly service: KinesisSinkService,
  ) {
    this.description = `kinesis://${config.endpoint.stream}`;
    this.policy = kinesisRetryPolicy(config.retry);
    this.encode = kinesisEncoder(config.keyField);
  }

  /**
   * Checks the stream (DescribeStreamSummary) and, with aggregation, reads its shards; safe to
   * call more than once. Rejects with one line when the stream is missing or not writable, or AWS
   * refuses the credentials. A role allowed to put but not to describe passes: its first write
   * tells.
   */
  open(): Promise<void> {
    this.opening ??= this.check().catch((err: unknown) => {
      throw this.fail(err instanceof UserError ? err : sinkError(err, this.config.endpoint, 1));
    });
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void | WriteResult> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    return this.writes.run(this.description, async () => {
      const entries = records.map(this.encode);
      const tooLarge = await this.send(entries);
      if (tooLarge.length === 0) return undefined;
      const rejected: SinkRejection[] = tooLarge.map((i) => {
        const record = records[i];
        const id = resultId(record);
        const what = id === undefined ? 'result' : `result '${id}'`;
        return { record, code: ErrorCode.RECORD_TOO_LARGE, reason: `${what} is ${recordBytes(entries[i] as KinesisEntry)} bytes as a Kinesis record (JSON line and partition key), over the limit of ${this.config.maxRecordBytes} bytes per record` };
      });
      return { rejected };
    });
  }

  /**
   * Puts user records whose partition keys and bytes the caller chose (`sluice replay`), in the
   * same calls, aggregation and retries as {@link write}. Resolves with the indices of the
   * entries over the record limit, which were not sent.
   *
   * @example const tooLarge = await sink.writeEntries([{ partitionKey: 'user-7', data: Buffer.from('{}') }])
   */
  writeEntries(entries: readonly KinesisEntry[]): Promise<readonly number[]> {
    return this.writes.run(this.description, () => this.send(entries));
  }

  /** The stream's open shard count when it was checked (undefined when describing it was denied). */
  get openShards(): number | undefined {
    return this.summary?.openShards;
  }

  /** Counters since the sink was made. */
  metrics(): KinesisSinkMetrics {
    return { ...this.counters };
  }

  /** Waits for the write in flight (nothing is buffered beyond it), then releases the client. */
  async close(): Promise<void> {
    if (await this.writes.close()) this.service.close();
  }

  private async check(): Promise<void> {
    const { endpoint } = this.config;
    let attempts = 0;
    try {
      this.summary = await this.policy.execute(() => {
        attempts++;
        return this.service.describe();
      });
    } catch (err) {
      if ((err as { name?: unknown }).name === 'AccessDeniedException') return;
      throw sinkError(err, endpoint, attempts);
    }
    if (!WRITABLE.has(this.summary.status)) {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `Kinesis stream '${endpoint.stream}' is ${this.summary.status}, not ACTIVE; start Sluice once it is ACTIVE`);
    }
    if (this.config.aggregate) await this.loadShards();
  }

  /** Reads the shard map for aggregation; without it (ListShards denied) records aggregate by key. */
  private async loadShards(): Promise<void> {
    this.shardsStale = false;
    this.counters.shardMapLoads++;
    let attempts = 0;
    try {
      const shards = await this.policy.execute(() => {
        attempts++;
        return this.service.listShards();
      });
      this.shards = shards.length === 0 ? undefined : shardOf(shards);
    } catch (err) {
      if ((err as { name?: unknown }).name === 'AccessDeniedException') this.shards = undefined;
      else throw sinkError(err, this.config.endpoint, attempts);
    }
  }

  /** Sends what fits; returns the indices of entries over the record limit. */
  private async send(entries: readonly KinesisEntry[]): Promise<number[]> {
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    const { aggregate, maxRecordBytes, maxBatchRecords, maxBatchBytes } = this.config;
    if (aggregate && this.shardsStale) {
      try {
        await this.loadShards();
      } catch (err) {
        throw this.fail(sinkError(err, this.config.endpoint, 1));
      }
    }
    const tooLarge: number[] = [];
    const fitting: IndexedEntry[] = [];
    entries.forEach((entry, index) => {
      if (recordBytes(entry) <= maxRecordBytes) fitting.push({ ...entry, index });
      else tooLarge.push(index);
    });
    const records = toKinesisRecords(fitting, { aggregate, maxRecordBytes, shardOf: this.shards });
    for (const request of buildRequests(records, { maxBatchRecords, maxBatchBytes })) await this.put(request);
    this.counters.rejected += tooLarge.length;
    return tooLarge;
  }

  /** One call, then again for whatever it did not take, until all is taken or the policy gives up. */
  private async put(request: readonly KinesisRecord[]): Promise<void> {
    let pending = request;
    let attempts = 0;
    try {
      await this.policy.execute(async () => {
        if (attempts > 0) this.counters.retriedRecords += pending.length;
        attempts++;
        this.counters.putCalls++;
        let outcomes;
        try {
          outcomes = await this.service.putRecords(pending);
        } catch (err) {
          if (classifyKinesisError(err) === 'retry' && isThrottling(err)) this.counters.throttled++;
          throw err;
        }
        const failed: FailedPut[] = [];
        pending.forEach((record, index) => {
          const outcome = outcomes[index] ?? { code: 'NoAnswer', message: 'no answer for this record' };
          if ('shardId' in outcome) this.taken(record, outcome.shardId);
          else failed.push({ index, ...outcome });
        });
        if (failed.length > 0) {
          this.counters.throttled += failed.filter((f) => f.code === 'ProvisionedThroughputExceededException').length;
          pending = failed.map((f) => pending[f.index]).filter((record): record is KinesisRecord => record !== undefined);
          throw new PartialFailure(failed);
        }
      });
    } catch (err) {
      throw this.fail(sinkError(err, this.config.endpoint, attempts));
    }
  }

  private taken(record: KinesisRecord, shardId: string): void {
    this.counters.userRecords += record.entries.length;
    this.counters.kinesisRecords++;
    if (record.shard !== undefined) {
      this.counters.aggregatedRecords++;
      // the stream was resharded: later aggregated records must follow the new shards
      if (this.shards !== undefined && record.shard !== shardId) this.shardsStale = true;
    }
    this.counters.putUnits += putUnits(recordBytes(record));
    this.counters.putUnitsUnaggregated += record.unaggregatedPutUnits;
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * A Kinesis sink that checks its stream on the first write. Prefer {@link openKinesisSink},
 * which fails at start-up instead.
 *
 * @example const sink = kinesisSink(parseKinesisUrl('kinesis://results?aggregate=true', 'sink'))
 * @see openKinesisSink
 */
export function kinesisSink(endpoint: KinesisEndpoint, options: KinesisSinkOptions = {}): KinesisSink {
  const config = kinesisSinkConfig(endpoint, options);
  return new KinesisSink(config, kinesisSinkService(endpoint.stream, config.client));
}

/**
 * Opens a Kinesis sink eagerly: checks the stream, so a missing stream, a wrong region or refused
 * credentials fail the run before any input is read, with one line such as
 * `Kinesis stream 'results' in eu-west-1 does not exist; create it first …`.
 *
 * @example const sink = await openKinesisSink(parseKinesisUrl('kinesis://results', 'sink'), { endpointUrl: kinesis.endpoint })
 * @see kinesisSink
 * @see openFirehoseSink
 */
export async function openKinesisSink(endpoint: KinesisEndpoint, options: KinesisSinkOptions = {}): Promise<KinesisSink> {
  return openOrRelease(kinesisSink(endpoint, options));
}

function isThrottling(err: unknown): boolean {
  const name = String((err as { name?: unknown }).name);
  return name === 'ProvisionedThroughputExceededException' || name === 'ThrottlingException' || name === 'LimitExceededException' || name === 'KMSThrottlingException';
}
