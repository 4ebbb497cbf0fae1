/**
 * Reading one shard by polling GetRecords, within the shard's read limits: at most 5 calls a
 * second (one every 200 ms) and 2 MB/s (after a page of B bytes the next call waits B / 2 MB/s),
 * an idle wait when the reader is at the tip, backoff with jitter on ProvisionedThroughputExceeded
 * and passing errors, and a fresh iterator from the last delivered record when one expired (an
 * iterator lives 5 minutes; a paused pipeline outlives it).
 *
 * @module
 */
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import type { KinesisService, RecordsPage } from './service.js';
import type { ShardFetch, ShardPosition, ShardStream } from './shard-stream.js';

/** GetRecords calls per shard per second. See Kinesis Data Streams quotas. */
export const GET_RECORDS_CALLS_PER_SECOND = 5;
/** Read throughput per shard shared by polling consumers, bytes per second. Same source. */
export const SHARD_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;

/** Errors after which the same call may succeed later. */
const PASSING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'KMSThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** How a polling shard stream waits; injectable so unit tests run without a clock. */
export interface PollingClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** What a polling stream counts (GetRecords calls, throttles, renewed iterators). */
export interface PollingStats {
  calls: number;
  throttled: number;
  retried: number;
  expiredIterators: number;
}

export interface PollingOptions {
  readonly maxRecords: number;
  /** Wait after a call that found nothing new at the tip. */
  readonly idleMs: number;
  readonly clock?: PollingClock;
  readonly stats?: PollingStats;
  /** Names the stream in messages. */
  readonly stream: string;
}

export const realClock: PollingClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || ms <= 0) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A {@link ShardStream} over GetRecords.
 *
 * @example const stream = new PollingShardStream(service, 'shardId-000000000000', { type: 'TRIM_HORIZON' }, { maxRecords: 10_000, idleMs: 1_000, stream: 'clicks' })
 */
export class PollingShardStream implements ShardStream {
  private iterator: string | undefined;
  /** Last sequence number delivered: an expired iterator restarts after it. */
  private lastSequence: string | undefined;
  private notBefore = 0;
  private readonly stop = new AbortController();
  private readonly clock: PollingClock;
  private readonly backoff = new ExponentialBackoff({ initialDelay: 250, maxDelay: 10_000 });
  private failures: IBackoff<unknown> | undefined;
  readonly stats: PollingStats;

  constructor(
    private readonly service: KinesisService,
    readonly shardId: string,
    private readonly start: ShardPosition,
    private readonly options: PollingOptions,
  ) {
    this.clock = options.clock ?? realClock;
    this.stats = options.stats ?? { calls: 0, throttled: 0, retried: 0, expiredIterators: 0 };
  }

  async next(): Promise<ShardFetch> {
    for (;;) {
      if (this.stop.signal.aborted) return { records: [], millisBehindLatest: undefined, ended: undefined };
      const wait = this.notBefore - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, this.stop.signal);
      if (this.stop.signal.aborted) continue;
      let page: RecordsPage;
      try {
        this.iterator ??= await this.service.shardIterator(this.shardId, this.resumeFrom());
        this.stats.calls++;
        page = await this.service.getRecords(this.iterator, this.options.maxRecords);
      } catch (err) {
        await this.failed(err);
        continue;
      }
      this.failures = undefined;
      let bytes = 0;
      for (const record of page.records) bytes += record.data.byteLength + record.partitionKey.length;
      const last = page.records[page.records.length - 1];
      if (last !== undefined) this.lastSequence = last.sequenceNumber;
      const atTip = page.records.length === 0 && (page.millisBehindLatest ?? 0) === 0;
      const spacing = Math.max(1000 / GET_RECORDS_CALLS_PER_SECOND, (bytes / SHARD_READ_BYTES_PER_SECOND) * 1000, atTip ? this.options.idleMs : 0);
      this.notBefore = this.clock.now() + spacing;
      if (page.nextIterator === undefined) {
        return { records: page.records, millisBehindLatest: page.millisBehindLatest, ended: { childShardIds: page.childShardIds } };
      }
      this.iterator = page.nextIterator;
      if (page.records.length > 0 || page.millisBehindLatest !== undefined) {
        return { records: page.records, millisBehindLatest: page.millisBehindLatest, ended: undefined };
      }
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
  }

  private resumeFrom(): ShardPosition {
    return this.lastSequence === undefined ? this.start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequence };
  }

  private async failed(err: unknown): Promise<void> {
    const name = errorName(err);
    if (name === 'ExpiredIteratorException') {
      this.stats.expiredIterators++;
      this.iterator = undefined;
      return;
    }
    if (name === 'ResourceNotFoundException') {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `kinesis stream '${this.options.stream}' or its shard ${this.shardId} no longer exists: ${messageOf(err)}`);
    }
    if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException' || name === 'KMSAccessDeniedException') {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `reading kinesis stream '${this.options.stream}' was refused (${name}): give the task role kinesis:GetRecords and kinesis:GetShardIterator (and kms:Decrypt for an encrypted stream)`);
    }
    if (name === 'ProvisionedThroughputExceededException') this.stats.throttled++;
    else if (!PASSING.has(name) && !isNetworkError(err)) throw err;
    else this.stats.retried++;
    this.failures = this.failures === undefined ? this.backoff.next() : this.failures.next(undefined);
    await this.clock.sleep(this.failures.duration, this.stop.signal);
  }
}

function errorName(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown } | null;
  if (typeof e?.code === 'string' && e.code.startsWith('E')) return e.code;
  return typeof e?.name === 'string' ? e.name : '';
}

function isNetworkError(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
