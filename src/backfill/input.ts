/**
 * What a backfill reads (`--from`): files and globs, S3 hours in the Firehose layout, Kafka and
 * Kinesis time ranges. Each input is resolved to a bounded source and a plan (what would be read,
 * and its size) before anything is read.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Source } from '../core/connectors.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { fileSource } from '../ingest/file/index.js';
import { resolveFiles } from '../ingest/file/files.js';
import { kafkaOffsetRanges, kafkaRangeSource } from '../ingest/kafka/range.js';
import { parseKafkaUrl } from '../kafka/endpoint.js';
import { kinesisRangeSource, kinesisShardSpans } from '../ingest/kinesis/range.js';
import { kinesisService } from '../ingest/kinesis/service.js';
import { parseKinesisUrl } from '../kinesis/endpoint.js';
import { listHours, parseS3Url, s3Source, type S3Service } from '../ingest/s3/index.js';
import { awsClientSettings, awsEndpointUrl, regionOf } from '../aws/config.js';
import type { BackfillRange } from './diff.js';
import { describeRange } from './range.js';

/** One thing a backfill will read: a file, an object. */
export interface PlanItem {
  readonly name: string;
  /** Size in bytes (files, objects); 0 when unknown (Kafka, Kinesis). */
  readonly bytes: number;
  /** What the plan line says after the name: the size, a Kafka offset range, a Kinesis shard. */
  readonly detail: string;
}

/** A resolved `--from`: the bounded source and what it will read. */
export interface BackfillInput {
  readonly source: Source;
  readonly items: readonly PlanItem[];
  /** Records in range, when the input knows (Kafka offsets) rather than bytes. */
  readonly records?: number;
  /** Said up front: how the range applies to this input. */
  readonly note: string | undefined;
}

/** Makes the S3 service; injectable so the network stays in `src/ingest/s3/service.ts`. */
export type S3ServiceFactory = (settings: ReturnType<typeof awsClientSettings>) => S3Service;

/** Resolves `--from` for `range`. A selection with nothing in it fails with one line (exit 1). */
export async function resolveInput(from: string, range: BackfillRange, options: { readonly batchSize: number; readonly s3: S3ServiceFactory }): Promise<BackfillInput> {
  if (from.startsWith('kinesis:')) return kinesisInput(from, range, options.batchSize);
  if (from.startsWith('kafka:')) return kafkaInput(from, range);
  if (from.startsWith('s3:')) return s3Input(from, range, options);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(from) || (/^[a-z][a-z0-9+.-]+:/i.test(from) && !from.startsWith('file:'))) {
    throw new UserError(ErrorCode.BAD_URL, `--from '${from}': unsupported input; use file:PATH_OR_GLOB, s3://BUCKET/PREFIX, kafka://BROKERS/TOPIC or kinesis://STREAM`);
  }
  const path = from.startsWith('file://') ? from.slice(7) : from.startsWith('file:') ? from.slice(5) : from;
  const files = await resolveFiles(path);
  const items: PlanItem[] = [];
  for (const file of files) {
    try {
      const bytes = (await stat(file)).size;
      items.push({ name: file, bytes, detail: String(bytes) });
    } catch {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${file}': no such file`);
    }
  }
  const note =
    range.start === null && range.end === null
      ? undefined
      : `files are read whole: --start/--end do not filter events; windows outside ${describeRange(range)} are reported as range edges by sluice diff`;
  return { source: fileSource({ path, batchSize: options.batchSize }), items, note };
}

async function s3Input(from: string, range: BackfillRange, options: { readonly batchSize: number; readonly s3: S3ServiceFactory }): Promise<BackfillInput> {
  const location = parseS3Url(from);
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_OPTION, `--from '${from}': ${why}`);
  const settings = awsClientSettings('S3 source', regionOf(null, process.env, bad), awsEndpointUrl('S3 source', {}), {});
  const service = options.s3(settings);
  const base = { ...location, start: range.start, end: range.end, service };
  let objects;
  try {
    objects = await listHours(base);
  } catch (err) {
    service.close();
    throw err;
  }
  if (objects.length === 0) {
    service.close();
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `no objects under 's3://${location.bucket}/${location.prefix}' for the hours in ${describeRange(range)} (layout PREFIX/YYYY/MM/DD/HH/)`);
  }
  return {
    source: s3Source({ ...base, batchSize: options.batchSize }, objects),
    items: objects.map((o) => ({ name: `s3://${location.bucket}/${o.key}`, bytes: o.size, detail: String(o.size) })),
    note: `objects are selected by their hour prefix in ${describeRange(range)}; events are not filtered by event time`,
  };
}

async function kafkaInput(from: string, range: BackfillRange): Promise<BackfillInput> {
  // a group of its own: kafkajs cannot read without one, and a backfill must not move a live group
  const url = /[?&]group=/.test(from) ? from : `${from}${from.includes('?') ? '&' : '?'}group=sluice-backfill-${randomUUID().slice(0, 8)}`;
  const endpoint = parseKafkaUrl(url, 'source', process.env, '--from');
  const ranges = await kafkaOffsetRanges(endpoint, range.start, range.end);
  const records = ranges.reduce((sum, r) => sum + Math.max(0, Number(BigInt(r.to) - BigInt(r.from))), 0);
  if (records === 0) {
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `no records in topic '${endpoint.topic}' for ${describeRange(range)}`);
  }
  return {
    source: kafkaRangeSource(endpoint, ranges),
    records,
    items: ranges.map((r) => ({ name: `${endpoint.topic}/${r.partition}`, bytes: 0, detail: `offsets ${r.from}..${r.to} (${Math.max(0, Number(BigInt(r.to) - BigInt(r.from)))} records)` })),
    note: `each partition is read from the offset of its first record at or after the start to the offset of its first record at or after the end (record timestamps, not event times)`,
  };
}

/** URL parameters that make no sense for a backfill, which polls every shard itself and keeps no leases. */
const KINESIS_LIVE_ONLY = ['start', 'app', 'coordinator', 'consumer', 'failover'];

async function kinesisInput(from: string, range: BackfillRange, batchSize: number): Promise<BackfillInput> {
  const endpoint = parseKinesisUrl(from, 'source', process.env, '--from');
  const query = from.includes('?') ? new URLSearchParams(from.slice(from.indexOf('?') + 1)) : new URLSearchParams();
  const live = KINESIS_LIVE_ONLY.filter((name) => query.has(name));
  if (live.length > 0) {
    throw new UserError(ErrorCode.BAD_URL, `--from '${from}': drop ${live.join(', ')}: a backfill reads every shard itself from --start to --end and keeps no leases`);
  }
  const service = kinesisService(endpoint);
  let spans;
  try {
    spans = await kinesisShardSpans(endpoint, range, { service });
  } catch (err) {
    service.close();
    throw err;
  }
  if (spans.length === 0) {
    service.close();
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `no records in kinesis stream '${endpoint.stream}' arrived in ${describeRange(range)}`);
  }
  return {
    source: kinesisRangeSource(endpoint, spans, range, { service, batchSize }),
    items: spans.map((s) => ({
      name: `${endpoint.stream}/${s.shardId}`,
      bytes: 0,
      detail: `${s.shardId} ${s.closed ? 'closed' : 'open'}${s.parentShardId === undefined ? '' : `, child of ${[s.parentShardId, s.adjacentParentShardId].filter((p) => p !== undefined).join(' and ')}`}`,
    })),
    note:
      `each shard is read from its first record that arrived at or after the start to its first that arrived at or after the end (ApproximateArrivalTimestamp, not event time); ` +
      `results are combined across shards, so a key whose window spans a split or merge (parent and child shard) gives one complete window, as the live source does; ` +
      `windows straddling the range edges are reported apart by sluice diff`,
  };
}
