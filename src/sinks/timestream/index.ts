import { openOrRelease } from '../open.js';
import type { RetryPolicy } from 'cockatiel';
import { WriteChain } from '../write-chain.js';
import type { Sink, SinkRejection, WriteResult } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { timestreamSinkConfig, type TimestreamEndpoint, type TimestreamSinkConfig, type TimestreamSinkOptions } from './config.js';
import { isUnmappable, timestreamEncoder, type TimestreamPoint, type Unmappable } from './encoder.js';
import { buildWriteRequests, type IndexedPoint, type WriteRequest } from './request-builder.js';
import { sinkError, timestreamRetryPolicy } from './retry.js';
import { timestreamService, type TimestreamService } from './service.js';

export {
  AWS_ENDPOINT_ENV,
  DEFAULT_DIMENSIONS,
  DEFAULT_MEASURE_NAME,
  NOT_MEASURES,
  parseTimestreamUrl,
  resolveMapping,
  TIMESTREAM_MAX_BATCH_RECORDS,
  TIMESTREAM_MAX_DIMENSION_NAME_BYTES,
  TIMESTREAM_MAX_DIMENSIONS,
  TIMESTREAM_MAX_MEASURE_NAME_BYTES,
  TIMESTREAM_MAX_MEASURES,
  TIMESTREAM_MAX_RECORD_BYTES,
  timestreamSinkConfig,
  type AwsCredentials,
  type MeasureType,
  type ResolvedMapping,
  type TimestreamEndpoint,
  type TimestreamMapping,
  type TimestreamMeasure,
  type TimestreamRetryOptions,
  type TimestreamSinkConfig,
  type TimestreamSinkOptions,
} from './config.js';
export { isUnmappable, timestreamEncoder, type TimestreamPoint, type Unmappable } from './encoder.js';
export { buildWriteRequests, type IndexedPoint, type WriteRequest } from './request-builder.js';
export { classifyTimestreamError, describeTimestreamError } from './retry.js';
export type { RejectedPoint, TimestreamService } from './service.js';

/**
 * What a Timestream sink has done so far.
 *
 * @see TimestreamSink.metrics
 */
export interface TimestreamSinkMetrics {
  /** Results Timestream took. */
  readonly records: number;
  /** WriteRecords calls, retries included. */
  readonly writeCalls: number;
  /** Calls sent again after a failure worth retrying. */
  readonly retriedCalls: number;
  /** Results refused (unmappable, or in RejectedRecords) and returned for the dead-letter output. */
  readonly rejected: number;
}

type Counters = { -readonly [K in keyof TimestreamSinkMetrics]: number };

/**
 * Writes window results to an Amazon Timestream for LiveAnalytics table (`--sink
 * timestream://DATABASE/TABLE[?region=R]`), one multi-measure record per result (see
 * {@link timestreamEncoder} for the mapping), at most 100 per WriteRecords call with their
 * shared parts in CommonAttributes.
 *
 * `write` resolves once Timestream took or refused every record: that is the acknowledgement
 * checkpoints wait for. Each record's `Version` is the result's revision + 1, so a late
 * re-firing replaces the window's point (an upsert), and a result re-emitted after a restart is
 * the same record again, which Timestream takes without change. Results the mapping cannot turn
 * into a record, and records Timestream refuses (RejectedRecords: a time outside the memory
 * store's retention, a lower version with other values, a limit) are not retried: `write`
 * returns them as rejected, with Timestream's reason, for the dead-letter output. Calls that fail
 * for a passing reason (throttling, 5xx, timeouts) are sent again with backoff and jitter;
 * anything else (a missing table, refused access) fails the run with one line.
 *
 * Session windows: a result that `supersedes` earlier ones has other bounds, so the points of the
 * results it replaces stay in the table (Timestream cannot delete); filter on the latest revision
 * or use tumbling and sliding windows for Timestream.
 *
 * @example
 * const sink = new TimestreamSink(timestreamSinkConfig(endpoint), timestreamService(endpoint, config.client));
 * await sink.open(); await sink.write(results); await sink.close();
 * @see openTimestreamSink
 */
export class TimestreamSink implements Sink {
  readonly description: string;
  private readonly encode: (record: unknown) => TimestreamPoint | Unmappable;
  private readonly policy: RetryPolicy;
  private readonly counters: Counters = { records: 0, writeCalls: 0, retriedCalls: 0, rejected: 0 };
  private opening: Promise<void> | undefined;
  private readonly writes = new WriteChain();
  private failure: UserError | undefined;

  constructor(
    private readonly config: TimestreamSinkConfig,
    private readonly service: TimestreamService,
  ) {
    this.description = `timestream://${config.endpoint.database}/${config.endpoint.table}`;
    this.encode = timestreamEncoder(config.mapping);
    this.policy = timestreamRetryPolicy(config.retry);
  }

  /**
   * Checks the table (DescribeTable); safe to call more than once. Rejects with one line when the
   * database or table is missing or AWS refuses the credentials. A role allowed to write but not
   * to describe passes: its first write tells.
   */
  open(): Promise<void> {
    this.opening ??= this.check().catch((err: unknown) => {
      throw this.fail(err instanceof UserError ? err : sinkError(err, this.config.endpoint, 1));
    });
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void | WriteResult> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    return this.writes.run(this.description, () => this.send(records));
  }

  /** Counters since the sink was made. */
  metrics(): TimestreamSinkMetrics {
    return { ...this.counters };
  }

  /** Waits for the write in flight (nothing is buffered beyond it), then releases the client. */
  async close(): Promise<void> {
    if (await this.writes.close()) this.service.close();
  }

  private async check(): Promise<void> {
    let attempts = 0;
    try {
      await this.policy.execute(() => {
        attempts++;
        return this.service.describe();
      });
    } catch (err) {
      if ((err as { name?: unknown }).name === 'AccessDeniedException') return;
      throw sinkError(err, this.config.endpoint, attempts);
    }
  }

  private async send(records: readonly unknown[]): Promise<void | WriteResult> {
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    if (records.length === 0) return;
    const rejected: { readonly index: number; readonly rejection: SinkRejection }[] = [];
    const points: IndexedPoint[] = [];
    records.forEach((record, index) => {
      const mapped = this.encode(record);
      if (isUnmappable(mapped)) rejected.push({ index, rejection: { record, code: mapped.code, reason: `cannot map to a Timestream record: ${mapped.reason}` } });
      else points.push({ index, point: mapped });
    });
    const { maxBatchRecords, mapping } = this.config;
    for (const request of buildWriteRequests(points, { maxBatchRecords, measureName: mapping.measureName })) {
      const refused = await this.put(request);
      for (const r of refused) {
        const index = request.sources[r.index];
        if (index === undefined) {
          throw this.fail(new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${this.description} rejected record #${r.index} of a call of ${request.records.length}, which does not exist: ${r.reason}`));
        }
        const existing = r.existingVersion === undefined ? '' : ` (Timestream has version ${r.existingVersion}, this record ${request.records[r.index]?.Version ?? '?'})`;
        rejected.push({ index, rejection: { record: records[index], code: ErrorCode.VALIDATION_FAILED, reason: `Timestream rejected the record: ${r.reason}${existing}` } });
      }
      this.counters.records += request.records.length - refused.length;
    }
    this.counters.rejected += rejected.length;
    if (rejected.length === 0) return;
    return { rejected: rejected.sort((a, b) => a.index - b.index).map((r) => r.rejection) };
  }

  private async put(request: WriteRequest): Promise<readonly { index: number; reason: string; existingVersion: number | undefined }[]> {
    let attempts = 0;
    try {
      return await this.policy.execute(() => {
        if (attempts > 0) this.counters.retriedCalls++;
        attempts++;
        this.counters.writeCalls++;
        return this.service.writeRecords(request);
      });
    } catch (err) {
      throw this.fail(sinkError(err, this.config.endpoint, attempts));
    }
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * A Timestream sink that checks its table on the first write. Prefer {@link openTimestreamSink},
 * which fails at start-up instead.
 *
 * @example const sink = timestreamSink(parseTimestreamUrl('timestream://metrics/page_views', '--sink'))
 * @see openTimestreamSink
 */
export function timestreamSink(endpoint: TimestreamEndpoint, options: TimestreamSinkOptions = {}): TimestreamSink {
  const config = timestreamSinkConfig(endpoint, options);
  return new TimestreamSink(config, timestreamService(endpoint, config.client));
}

/**
 * Opens a Timestream sink eagerly: checks the mapping and the table, so a bad mapping, a missing
 * database or table, a wrong region or refused credentials fail the run before any input is
 * read, with one line such as `Timestream table 'metrics.views' in eu-west-1 does not exist (…)`.
 *
 * @example const sink = await openTimestreamSink(parseTimestreamUrl('timestream://metrics/views', '--sink'), { mapping: { measures: ['count'] } })
 * @see timestreamSink
 * @see openFirehoseSink
 */
export async function openTimestreamSink(endpoint: TimestreamEndpoint, options: TimestreamSinkOptions = {}): Promise<TimestreamSink> {
  return openOrRelease(timestreamSink(endpoint, options));
}
