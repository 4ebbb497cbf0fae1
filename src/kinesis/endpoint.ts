/**
 * `kinesis://STREAM?…` URLs taken apart, for the Kinesis source (native or KCL mode) and the
 * Kinesis sink. Endpoint overrides come from the URL or the environment: `SLUICE_KINESIS_ENDPOINT`
 * and `SLUICE_DYNAMODB_ENDPOINT` (kinesis-local and dynalite listen on different ports), else
 * `SLUICE_AWS_ENDPOINT`. Checked once at start-up; a bad value throws a `UserError` naming the URL
 * and the parameter.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { isValidPath } from '../core/paths.js';
import { parseDuration } from '../core/duration.js';
import { AWS_ENDPOINT_ENV, regionOf } from '../aws/config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variable with the Kinesis endpoint override (kinesis-local in tests). */
export const KINESIS_ENDPOINT_ENV = 'SLUICE_KINESIS_ENDPOINT';
/** Environment variable with the DynamoDB endpoint override for lease tables (dynalite in tests). */
export const DYNAMODB_ENDPOINT_ENV = 'SLUICE_DYNAMODB_ENDPOINT';

/**
 * Where a shard without a checkpoint starts: its oldest record, new records only, or the first
 * record that arrived at or after a time (AT_TIMESTAMP).
 */
export type KinesisStart = { readonly kind: 'trim_horizon' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly time: number };

/** How shards are shared out among workers. */
export type KinesisCoordinator = 'native' | 'kcl';

/** A `kinesis://` URL taken apart. */
export interface KinesisEndpoint {
  /** The URL as given (it holds no secrets). */
  readonly url: string;
  readonly stream: string;
  readonly region: string | undefined;
  /** Kinesis endpoint override (kinesis-local). */
  readonly endpointUrl: string | undefined;
  /** DynamoDB endpoint override for the lease table (dynalite). */
  readonly dynamodbEndpointUrl: string | undefined;
  /** Source: where shards without a checkpoint start (default trim_horizon). */
  readonly start: KinesisStart;
  /**
   * Source: the application name — KCL's `applicationName`, which names the DynamoDB lease table.
   * Without it one worker reads every shard and checkpoints go to `--checkpoint`.
   */
  readonly app: string | undefined;
  /** Source: `native` (Sluice's own lease coordination, default) or `kcl` (the MultiLangDaemon). */
  readonly coordinator: KinesisCoordinator;
  /** Source: enhanced fan-out consumer name (SubscribeToShard); polling GetRecords without. */
  readonly consumer: string | undefined;
  /** Source: how long a lease may go without renewal before other workers take it (KCL's failoverTimeMillis). */
  readonly failoverMs: number;
  /** Source: records per GetRecords call (1–10,000). */
  readonly maxRecords: number;
  /** Source: wait between GetRecords calls that returned nothing new (KCL's idleTimeBetweenReadsInMillis). */
  readonly idleMs: number;
  /** Sink: the result field (dotted path) whose value is the partition key; default the result's key. */
  readonly key: string | undefined;
  /** Sink: pack results into KPL aggregated records. */
  readonly aggregate: boolean;
}

const PARAMS = [
  'region',
  'endpoint',
  'dynamodb-endpoint',
  'start',
  'app',
  'coordinator',
  'consumer',
  'failover',
  'max-records',
  'idle',
  'key',
  'aggregate',
] as const;
const SOURCE_ONLY = ['dynamodb-endpoint', 'start', 'app', 'coordinator', 'consumer', 'failover', 'max-records', 'idle'];
const SINK_ONLY = ['key', 'aggregate'];

/** GetRecords returns at most this many records per call. See Kinesis API reference, GetRecords. */
export const GET_RECORDS_MAX_RECORDS = 10_000;

/**
 * Parses `kinesis://STREAM[?param=value…]`.
 *
 * @example parseKinesisUrl('kinesis://clicks?app=page-views&start=latest', 'source')
 */
export function parseKinesisUrl(text: string, role: 'source' | 'sink', env: Env = process.env, flag: string = role === 'source' ? '--source' : '--sink'): KinesisEndpoint {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${text}': ${why}`);
  const m = /^kinesis:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/.exec(text);
  if (!m) throw bad('write kinesis://STREAM[?param=value…]');
  const stream = decodeURIComponent(m[1] as string);
  // Kinesis API reference, CreateStream: StreamName 1–128 of [a-zA-Z0-9_.-]
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(stream)) throw bad(`'${stream}' is not a Kinesis stream name (1–128 letters, digits, '_', '.', '-')`);
  const params = new URLSearchParams(m[2] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) throw bad(`unknown parameter '${name}'; use ${PARAMS.filter((p) => !(role === 'sink' ? SOURCE_ONLY : SINK_ONLY).includes(p)).join(', ')}`);
    if (role === 'sink' && SOURCE_ONLY.includes(name)) throw bad(`'${name}' is for reading from Kinesis; a Kinesis output takes ${PARAMS.filter((p) => !SOURCE_ONLY.includes(p)).join(', ')}`);
    if (role === 'source' && SINK_ONLY.includes(name)) throw bad(`'${name}' is for writing to Kinesis; a Kinesis source takes ${PARAMS.filter((p) => !SINK_ONLY.includes(p)).join(', ')}`);
  }
  const coordinator = params.get('coordinator') ?? 'native';
  if (coordinator !== 'native' && coordinator !== 'kcl') throw bad(`coordinator must be native or kcl, got '${coordinator}'`);
  const app = params.get('app') ?? undefined;
  // DynamoDB table names: 3–255 of [a-zA-Z0-9_.-]
  if (app !== undefined && !/^[a-zA-Z0-9_.-]{3,255}$/.test(app)) throw bad(`app '${app}' names the DynamoDB lease table: 3–255 letters, digits, '_', '.', '-'`);
  if (coordinator === 'kcl' && app === undefined) throw bad('coordinator=kcl needs the application name that names its lease table: add &app=NAME');
  const consumer = params.get('consumer') ?? undefined;
  // RegisterStreamConsumer: ConsumerName 1–128 of [a-zA-Z0-9_.-]
  if (consumer !== undefined && !/^[a-zA-Z0-9_.-]{1,128}$/.test(consumer)) throw bad(`consumer '${consumer}' is not a consumer name (1–128 letters, digits, '_', '.', '-')`);
  const key = params.get('key') ?? undefined;
  if (key !== undefined && !isValidPath(key)) throw bad(`key '${key}' is not a field name or dotted path`);
  const aggregate = booleanOf(params.get('aggregate'), 'aggregate', bad);
  const maxRecords = integerOf(params.get('max-records'), 'max-records', 10_000, 1, GET_RECORDS_MAX_RECORDS, bad);
  return {
    url: text,
    stream,
    region: regionOf(params.get('region'), env, bad),
    endpointUrl: urlOf(params.get('endpoint') ?? nonEmpty(env[KINESIS_ENDPOINT_ENV]) ?? nonEmpty(env[AWS_ENDPOINT_ENV]), 'endpoint', bad),
    dynamodbEndpointUrl: urlOf(params.get('dynamodb-endpoint') ?? nonEmpty(env[DYNAMODB_ENDPOINT_ENV]) ?? nonEmpty(env[AWS_ENDPOINT_ENV]), 'dynamodb-endpoint', bad),
    start: startOf(params.get('start') ?? 'trim_horizon', bad),
    app,
    coordinator,
    consumer,
    failoverMs: durationOf(params.get('failover'), 'failover', 10_000, 1_000, bad),
    maxRecords,
    idleMs: durationOf(params.get('idle'), 'idle', 1_000, 200, bad),
    key,
    aggregate,
  };
}

function startOf(value: string, bad: (why: string) => UserError): KinesisStart {
  const lower = value.toLowerCase();
  if (lower === 'trim_horizon' || lower === 'earliest') return { kind: 'trim_horizon' };
  if (lower === 'latest') return { kind: 'latest' };
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) throw bad(`start must be trim_horizon, latest, epoch milliseconds or an ISO-8601 time (AT_TIMESTAMP), got '${value}'`);
  return { kind: 'timestamp', time };
}

function urlOf(value: string | undefined, name: string, bad: (why: string) => UserError): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw bad(`${name} '${value}' is not an http:// or https:// URL`);
  return value.replace(/\/+$/, '');
}

function booleanOf(value: string | null, name: string, bad: (why: string) => UserError): boolean {
  if (value === null || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  throw bad(`${name} must be true or false, got '${value}'`);
}

function integerOf(value: string | null, name: string, fallback: number, min: number, max: number, bad: (why: string) => UserError): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw bad(`${name} must be a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

function durationOf(value: string | null, name: string, fallback: number, min: number, bad: (why: string) => UserError): number {
  if (value === null) return fallback;
  let ms: number;
  try {
    ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value, name);
  } catch {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms) || ms < min) throw bad(`${name} must be a duration of at least ${min} ms (e.g. 10s), got '${value}'`);
  return ms;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
