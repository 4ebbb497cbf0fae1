/**
 * A bounded Kinesis source for backfills (`sluice backfill --from kinesis://STREAM --start --end`):
 * every shard, open or closed, that holds a record which arrived in `[start, end)` is read from
 * its first such record (found through an AT_TIMESTAMP iterator) until a record that arrived at or
 * after `end` (excluded), the end of a closed shard, or the tip of an open one (an empty page at
 * MillisBehindLatest 0). Its partition then ends, and the final watermark fires every window.
 *
 * Arrival time (ApproximateArrivalTimestamp) selects records, as AT_TIMESTAMP does; event time
 * does not. No leases, no checkpoints in a lease table: the backfill reads every shard itself by
 * polling, each partition one page at a time when the runtime asks, so memory is bounded by
 * `max-records` and the backfill's `--parallelism`.
 *
 * @module
 */
import type { Source } from '../../core/connectors.js';
import type { Position } from '../../core/envelope.js';
import { describeAwsError } from '../../aws/errors.js';
import { ErrorCode, UserError, isUserError } from '../../core/errors.js';
import type { KinesisEndpoint } from '../../kinesis/endpoint.js';
import { PollingShardStream, type PollingClock, type PollingStats } from './polling.js';
import { KinesisShardReader, kinesisPosition } from './reader.js';
import { kinesisService, type KinesisService, type ShardInfo } from './service.js';
import type { ShardFetch, ShardPosition, ShardRecord, ShardStream } from './shard-stream.js';

/** The time range of a backfill, epoch ms, `[start, end)`; null is open. */
export interface ArrivalRange {
  readonly start: number | null;
  readonly end: number | null;
}

/** One shard with records in the range: where its first one is. */
export interface ShardSpan {
  readonly shardId: string;
  /** The shard it was split or merged from, if it still exists. */
  readonly parentShardId: string | undefined;
  readonly adjacentParentShardId: string | undefined;
  /** True when the shard was split or merged away (it has an ending sequence number). */
  readonly closed: boolean;
  /** Sequence number of the shard's first record that arrived in the range. */
  readonly first: string;
}

export interface KinesisRangeOptions {
  /**
   * The Kinesis client (tests, or the one the spans were found with); by default one for the
   * endpoint. The source closes it with itself; {@link kinesisShardSpans} leaves a given one open.
   */
  readonly service?: KinesisService;
  /** Waits of the polling streams (tests). */
  readonly clock?: PollingClock;
  /** Most records per batch handed to the pipeline (default 1,000). */
  readonly batchSize?: number;
  /** Reads the wall clock: an AT_TIMESTAMP iterator may not point into the future (default `Date.now`). */
  readonly now?: () => number;
}

/** Records per GetRecords call while looking for a shard's first record in range. */
const PROBE_RECORDS = 100;
/** Shards probed at once. */
const PROBE_CONCURRENCY = 16;

/**
 * A bounded Kinesis source and the shards it reads. Build `spans` with {@link kinesisShardSpans}.
 * The source has no `listen`: its partitions are fixed, so the run combines window results across
 * them, and a key whose window spans a split (parent and child shard) gives one complete window,
 * with the same id the live source gives it.
 *
 * @example
 * const spans = await kinesisShardSpans(endpoint, range, { service })
 * const source = kinesisRangeSource(endpoint, spans, range, { service })
 * @see kinesisSource
 * @see kafkaRangeSource
 */
export function kinesisRangeSource(endpoint: KinesisEndpoint, spans: readonly ShardSpan[], range: ArrivalRange, options: KinesisRangeOptions = {}): Source {
  let service: KinesisService | undefined = options.service;
  const readers: KinesisShardReader[] = [];
  const stats: PollingStats = { calls: 0, throttled: 0, retried: 0, expiredIterators: 0 };
  return {
    description: endpoint.url,
    async open(resume?: ReadonlyMap<string, Position>) {
      const client = (service ??= kinesisService(endpoint));
      for (const span of spans) {
        const after = kinesisPosition(resume?.get(`${endpoint.stream}/${span.shardId}`));
        // a resumed shard starts AT its checkpointed record, and the reader skips what it covers
        const position: ShardPosition = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: after?.sequence ?? span.first };
        const polling = new PollingShardStream(client, span.shardId, position, { maxRecords: endpoint.maxRecords, idleMs: endpoint.idleMs, stream: endpoint.stream, stats, ...(options.clock === undefined ? {} : { clock: options.clock }) });
        // no onEnded: the reader ends with its bounded stream, and the final watermark fires its windows
        readers.push(new KinesisShardReader(endpoint.stream, new BoundedShardStream(polling, range), after, undefined, options.batchSize));
      }
      return readers;
    },
    async close() {
      await Promise.allSettled(readers.map((reader) => reader.close()));
      service?.close();
    },
  };
}

/**
 * Every shard of the stream with a record that arrived in `range`, in ListShards order (parents
 * before children), and where its first such record is. One AT_TIMESTAMP iterator and usually one
 * GetRecords call per shard; shards with nothing in range are left out.
 *
 * @example const spans = await kinesisShardSpans(endpoint, { start: Date.parse('2026-01-01T10:00Z'), end: null })
 */
export async function kinesisShardSpans(endpoint: KinesisEndpoint, range: ArrivalRange, options: KinesisRangeOptions = {}): Promise<ShardSpan[]> {
  const service = options.service ?? kinesisService(endpoint);
  try {
    let shards: ShardInfo[];
    let firsts: (string | undefined)[];
    try {
      shards = await service.listShards();
      firsts = await mapLimited(shards, PROBE_CONCURRENCY, (shard) => firstInRange(service, endpoint, shard.shardId, range, options));
    } catch (err) {
      throw describeError(endpoint, err);
    }
    const spans: ShardSpan[] = [];
    shards.forEach((shard, i) => {
      const first = firsts[i];
      if (first === undefined) return;
      spans.push({ shardId: shard.shardId, parentShardId: shard.parentShardId, adjacentParentShardId: shard.adjacentParentShardId, closed: shard.endingSequenceNumber !== undefined, first });
    });
    return spans;
  } finally {
    if (options.service === undefined) service.close();
  }
}

/** The sequence number of the shard's first record that arrived in `range`, if it has one. */
async function firstInRange(service: KinesisService, endpoint: KinesisEndpoint, shardId: string, range: ArrivalRange, options: KinesisRangeOptions): Promise<string | undefined> {
  const now = (options.now ?? Date.now)();
  if (range.start !== null && range.start > now) return undefined;
  // AT_TIMESTAMP finds the first record that arrived at or after the start
  const position: ShardPosition = range.start === null ? { type: 'TRIM_HORIZON' } : { type: 'AT_TIMESTAMP', timestamp: range.start };
  const stream = new BoundedShardStream(new PollingShardStream(service, shardId, position, { maxRecords: PROBE_RECORDS, idleMs: 0, stream: endpoint.stream, ...(options.clock === undefined ? {} : { clock: options.clock }) }), range);
  try {
    for (;;) {
      const fetch = await stream.next();
      const first = fetch.records[0];
      if (first !== undefined) return first.sequenceNumber;
      if (fetch.ended !== undefined) return undefined;
    }
  } finally {
    await stream.close();
  }
}

/**
 * A shard stream cut to an arrival-time range: records that arrived before `start` are dropped
 * (AT_TIMESTAMP is approximate), and the stream ends at the first record that arrived at or after
 * `end` (excluded), at the end of a closed shard, or at the tip of an open one — an empty page at
 * MillisBehindLatest 0 — since a record arriving later arrives after the backfill began. A record
 * without an arrival time is kept. Exported for tests.
 */
export class BoundedShardStream implements ShardStream {
  readonly shardId: string;
  private finished = false;

  constructor(
    private readonly inner: ShardStream,
    private readonly range: ArrivalRange,
  ) {
    this.shardId = inner.shardId;
  }

  async next(): Promise<ShardFetch> {
    if (this.finished) return { records: [], millisBehindLatest: 0, ended: { childShardIds: [] } };
    const fetch = await this.inner.next();
    const { start, end } = this.range;
    const kept: ShardRecord[] = [];
    let past = false;
    for (const record of fetch.records) {
      if (record.arrival !== undefined && end !== null && record.arrival >= end) {
        past = true;
        break;
      }
      if (record.arrival !== undefined && start !== null && record.arrival < start) continue;
      kept.push(record);
    }
    const tip = fetch.records.length === 0 && fetch.millisBehindLatest === 0;
    if (!past && !tip && fetch.ended === undefined) return { records: kept, millisBehindLatest: fetch.millisBehindLatest, ended: undefined };
    this.finished = true;
    // a shard cut short hands no children on: the backfill reads every shard in range anyway
    await this.inner.close();
    return { records: kept, millisBehindLatest: fetch.millisBehindLatest, ended: { childShardIds: fetch.ended?.childShardIds ?? [] } };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** `fn` over `items` with at most `limit` calls pending, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A failed ListShards or probe as one line for the operator. */
function describeError(endpoint: KinesisEndpoint, err: unknown): Error {
  if (isUserError(err)) return err;
  const subject = `kinesis stream '${endpoint.stream}'${endpoint.endpointUrl === undefined ? '' : ` at ${endpoint.endpointUrl}`}`;
  const line = describeAwsError(err, {
    subject,
    service: 'Kinesis',
    regionNote: 'region= in the URL, AWS_REGION, ',
    special: (name, message) => {
      if (name === 'ResourceNotFoundException') return `${subject} does not exist: check the name and region (${message})`;
      if (name === 'AccessDeniedException') return `reading ${subject} was refused (${name}): the backfill needs kinesis:ListShards, GetShardIterator and GetRecords`;
      return undefined;
    },
  });
  return new UserError(ErrorCode.UNREADABLE_INPUT, line, { cause: err });
}
