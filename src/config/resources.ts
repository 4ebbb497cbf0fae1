/**
 * What a source, sink or checkpoint URL names outside the process: a Kafka topic, a Firehose
 * delivery stream, a Timestream table, an OpenSearch domain… The container configuration checks
 * its URLs with the connectors' own parsers (so a URL that passes here is one the connector
 * takes), and deploy/ turns these descriptions into IAM statements, alarms and scaling.
 *
 * Only pure parsers are used here: nothing opens a client or a file.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { parseKafkaUrl, type KafkaSasl } from '../kafka/endpoint.js';
import { parseFirehoseUrl } from '../sinks/firehose/config.js';
import { parseTimestreamUrl } from '../sinks/timestream/config.js';
import { parseOpenSearchUrl } from '../sinks/opensearch/endpoint.js';
import { parseInfluxUrl } from '../sinks/influxdb/endpoint.js';
import { parseKinesisUrl, type KinesisCoordinator } from '../kinesis/endpoint.js';

type Env = Readonly<Record<string, string | undefined>>;

/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** DynamoDB table names: 3–255 letters, digits, '_', '.', '-'. */
const DYNAMODB_TABLE = /^[a-zA-Z0-9_.-]{3,255}$/;
/** S3 bucket names (the general-purpose rules, simplified: no dots next to each other or dashes). */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A Kafka topic, read through a consumer group or written. */
export interface KafkaResource {
  readonly kind: 'kafka';
  readonly brokers: readonly string[];
  readonly topic: string;
  /** The consumer group (sources only). */
  readonly group: string | undefined;
  /** `iam`: MSK IAM access control, which the task role must allow. */
  readonly auth: 'none' | 'iam' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly region: string | undefined;
}

/**
 * A Kinesis data stream read by the Kinesis source. With an application name (`app=`) a fleet of
 * tasks shares the shards through the DynamoDB lease table of that name and keeps its checkpoints
 * there; without, one task reads every shard and keeps leases and checkpoints beside
 * `file:` checkpoints.
 */
export interface KinesisResource {
  readonly kind: 'kinesis';
  readonly stream: string;
  readonly region: string | undefined;
  /** The URL's `app=`: the application name, which names the lease table (KCL's `applicationName`). */
  readonly application: string | undefined;
  /** `native` (Sluice's own lease coordination) or `kcl` (the KCL MultiLangDaemon: image target `kcl`). */
  readonly coordinator: KinesisCoordinator;
  /** An enhanced fan-out consumer name, when reading with SubscribeToShard. */
  readonly consumer: string | undefined;
}

/** Every outside thing a URL of the configuration can name. */
export type Resource =
  | KafkaResource
  | KinesisResource
  | { readonly kind: 'firehose'; readonly deliveryStream: string; readonly region: string | undefined }
  | { readonly kind: 'kinesis-sink'; readonly stream: string; readonly region: string | undefined }
  | { readonly kind: 'timestream'; readonly database: string; readonly table: string; readonly region: string | undefined }
  | { readonly kind: 'opensearch'; readonly host: string; readonly auth: 'none' | 'basic' | 'sigv4'; readonly service: 'es' | 'aoss'; readonly region: string | undefined }
  | { readonly kind: 'influxdb'; readonly address: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'generator'; readonly workload: string }
  | { readonly kind: 'console'; readonly stream: 'stdout' | 'stderr' };

/** Where checkpoints go. `dynamodb://` and `s3://` are the production stores still to come. */
export type CheckpointResource =
  | { readonly kind: 'file'; readonly dir: string }
  | { readonly kind: 'dynamodb'; readonly table: string; readonly region: string | undefined }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string; readonly region: string | undefined };

/**
 * Schemes the configuration recognises but this build of Sluice cannot run yet: the deployment
 * accepts them (so IAM and scaling are ready), `sluice start` refuses them.
 */
export const PLANNED_SCHEMES: Readonly<Record<string, string>> = {
  dynamodb: 'the DynamoDB checkpoint store',
  s3: 'the S3 checkpoint store',
};

/** `scheme:rest` of a URL, or a UserError naming `what`. */
function schemeOf(text: string, what: string): { scheme: string; rest: string } {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(text);
  if (m === null || (m[1] as string).length < 2) throw new UserError(ErrorCode.BAD_URL, `${what} '${text}' is not a URL; write it as scheme:address`);
  return { scheme: (m[1] as string).toLowerCase(), rest: m[2] as string };
}

function filePath(rest: string, text: string, what: string): string {
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw new UserError(ErrorCode.BAD_URL, `${what} '${text}' has no path; write file:PATH`);
  return path;
}

function regionParam(params: URLSearchParams, env: Env, bad: (why: string) => UserError): string | undefined {
  const region = params.get('region') ?? (env['AWS_REGION'] || undefined) ?? (env['AWS_DEFAULT_REGION'] || undefined);
  if (region !== undefined && !REGION.test(region)) throw bad(`'${region}' is not an AWS region name such as eu-west-1`);
  return region;
}

function onlyParams(params: URLSearchParams, allowed: readonly string[], bad: (why: string) => UserError): void {
  for (const name of params.keys()) if (!allowed.includes(name)) throw bad(`unknown parameter '${name}'; use ${allowed.join(', ')}`);
}

/**
 * `kinesis://STREAM?app=NAME&coordinator=native|kcl&consumer=NAME&region=…`: what the Kinesis
 * source reads, taken apart by the source's own parser so the two cannot disagree.
 */
function kinesisResource(text: string, env: Env, what: string): KinesisResource {
  const endpoint = parseKinesisUrl(text, 'source', env, what);
  return { kind: 'kinesis', stream: endpoint.stream, region: endpoint.region, application: endpoint.app, coordinator: endpoint.coordinator, consumer: endpoint.consumer };
}

/**
 * What a source URL names. Throws a UserError whose message starts with `what` and the URL
 * (passwords hidden) when the URL is malformed.
 *
 * @example sourceResource('kafka://b-1:9098/clicks?group=g&sasl=iam&region=eu-west-1', {}, 'SLUICE_SOURCE').kind // 'kafka'
 * @see sinkResource
 */
export function sourceResource(text: string, env: Env, what: string): Resource {
  const { scheme, rest } = schemeOf(text, what);
  switch (scheme) {
    case 'file':
      return { kind: 'file', path: filePath(rest, text, what) };
    case 'generator':
      return { kind: 'generator', workload: rest.split('?', 1)[0] as string };
    case 'kafka': {
      const endpoint = parseKafkaUrl(text, 'source', env, what);
      return kafkaResource(endpoint.brokers, endpoint.topic, endpoint.group, endpoint.sasl);
    }
    case 'kinesis':
      return kinesisResource(text, env, what);
    default:
      throw new UserError(ErrorCode.BAD_URL, `${what} '${text}': unsupported scheme '${scheme}:'; use file:, generator:, kafka:// or kinesis://`);
  }
}

/**
 * What a sink URL (results, dead letters, late events) names. `dlq:` is taken off first.
 *
 * @example sinkResource('firehose://page-views?region=eu-west-1', {}, 'SLUICE_SINKS') // { kind: 'firehose', deliveryStream: 'page-views', region: 'eu-west-1' }
 * @see sourceResource
 */
export function sinkResource(text: string, env: Env, what: string): Resource {
  const inner = text.startsWith('dlq:') ? text.slice('dlq:'.length) : text;
  const { scheme, rest } = schemeOf(inner, what);
  switch (scheme) {
    case 'file':
      return { kind: 'file', path: filePath(rest, inner, what) };
    case 'stdout':
    case 'stderr':
      if (rest !== '') throw new UserError(ErrorCode.BAD_URL, `${what} '${inner}': ${scheme}: takes no address; write ${scheme}:`);
      return { kind: 'console', stream: scheme };
    case 'kafka': {
      const endpoint = parseKafkaUrl(inner, 'sink', env, what);
      return kafkaResource(endpoint.brokers, endpoint.topic, undefined, endpoint.sasl);
    }
    case 'firehose': {
      const endpoint = parseFirehoseUrl(inner, what, env);
      return { kind: 'firehose', deliveryStream: endpoint.deliveryStream, region: endpoint.region };
    }
    case 'kinesis': {
      const endpoint = parseKinesisUrl(inner, 'sink', env, what);
      return { kind: 'kinesis-sink', stream: endpoint.stream, region: endpoint.region };
    }
    case 'timestream': {
      const endpoint = parseTimestreamUrl(inner, what, env);
      return { kind: 'timestream', database: endpoint.database, table: endpoint.table, region: endpoint.region };
    }
    case 'opensearch': {
      const endpoint = parseOpenSearchUrl(inner, what, env);
      const host = new URL(endpoint.node).hostname;
      const auth = endpoint.auth;
      return auth.kind === 'sigv4'
        ? { kind: 'opensearch', host, auth: 'sigv4', service: auth.service, region: auth.region }
        : { kind: 'opensearch', host, auth: auth.kind, service: 'es', region: undefined };
    }
    case 'influxdb':
      return { kind: 'influxdb', address: parseInfluxUrl(inner, what, env).address };
    default:
      throw new UserError(
        ErrorCode.BAD_URL,
        `${what} '${inner}': unsupported scheme '${scheme}:'; use file:, kafka://, firehose://, timestream://, opensearch://, influxdb://, stdout: or stderr:`,
      );
  }
}

/**
 * What a checkpoint URL names: `file:DIR`, or the stores still to come, `dynamodb://TABLE` and
 * `s3://BUCKET/PREFIX` (each with `?region=`).
 *
 * @example checkpointResource('file:/var/lib/sluice/checkpoints', {}, 'SLUICE_CHECKPOINT') // { kind: 'file', dir: '/var/lib/sluice/checkpoints' }
 */
export function checkpointResource(text: string, env: Env, what: string): CheckpointResource {
  const { scheme, rest } = schemeOf(text, what);
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${what} '${text}': ${why}`);
  switch (scheme) {
    case 'file':
      return { kind: 'file', dir: filePath(rest, text, what) };
    case 'dynamodb': {
      const m = /^\/\/([^/?#]*)\/?(?:\?([^#]*))?$/.exec(rest);
      if (m === null) throw bad('write dynamodb://TABLE[?region=REGION]');
      const table = decodeURIComponent(m[1] as string);
      if (!DYNAMODB_TABLE.test(table)) throw bad(`'${table}' is not a DynamoDB table name (3 to 255 letters, digits, '_', '.', '-')`);
      const params = new URLSearchParams(m[2] ?? '');
      onlyParams(params, ['region'], bad);
      return { kind: 'dynamodb', table, region: regionParam(params, env, bad) };
    }
    case 's3': {
      const m = /^\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(rest);
      if (m === null) throw bad('write s3://BUCKET/PREFIX[?region=REGION]');
      const bucket = m[1] as string;
      if (!S3_BUCKET.test(bucket) || bucket.includes('..')) throw bad(`'${bucket}' is not an S3 bucket name`);
      const prefix = decodeURIComponent(m[2] ?? '').replace(/\/+$/, '');
      if (/[*?]/.test(prefix)) throw bad(`the prefix '${prefix}' may not hold * or ?`);
      const params = new URLSearchParams(m[3] ?? '');
      onlyParams(params, ['region'], bad);
      return { kind: 's3', bucket, prefix, region: regionParam(params, env, bad) };
    }
    default:
      throw bad(`unsupported scheme '${scheme}:'; use file:DIR (dynamodb://TABLE and s3://BUCKET/PREFIX are planned)`);
  }
}

function kafkaResource(
  brokers: readonly string[],
  topic: string,
  group: string | undefined,
  sasl: KafkaSasl | undefined,
): KafkaResource {
  return {
    kind: 'kafka',
    brokers,
    topic,
    group,
    auth: sasl === undefined ? 'none' : sasl.mechanism,
    region: sasl?.mechanism === 'iam' ? sasl.region : undefined,
  };
}

/** True when the URL's scheme is one this build cannot run yet (see {@link PLANNED_SCHEMES}). */
export function plannedScheme(text: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  return scheme === undefined ? undefined : PLANNED_SCHEMES[scheme];
}
