import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * Most records in one PutRecordBatch call; a fixed limit.
 * https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
 */
export const FIREHOSE_MAX_BATCH_RECORDS = 500;

/**
 * Most data in one PutRecordBatch call, 4 MiB, counted as the records' bytes before base64 (as
 * Vector's Firehose sink counts it).
 * https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
 */
export const FIREHOSE_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Largest Firehose record, 1,000 KiB before base64. A result longer than this (with its newline)
 * cannot be sent and is rejected; with packing it is also the most a packed record holds.
 * https://docs.aws.amazon.com/firehose/latest/dev/limits.html
 */
export const FIREHOSE_MAX_RECORD_BYTES = 1_000 * 1024;

/**
 * Firehose bills Direct PUT ingestion per record, each rounded up to the next 5 KB (a 1 KB record
 * costs as much as a 5 KB one), which is why packing small results pays.
 * https://aws.amazon.com/firehose/pricing/
 */
export const FIREHOSE_BILLING_INCREMENT_BYTES = 5 * 1024;

/** Firehose delivery stream names: 1 to 64 letters, digits, '_', '.', '-'. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** Environment variable that points every AWS sink at another endpoint (moto in tests). */
export const AWS_ENDPOINT_ENV = 'SLUICE_AWS_ENDPOINT';

/** A `firehose://` URL taken apart. */
export interface FirehoseEndpoint {
  readonly url: string;
  readonly deliveryStream: string;
  /** From `?region=`, else AWS_REGION / AWS_DEFAULT_REGION; else the SDK's own lookup (profile). */
  readonly region: string | undefined;
  /** `?pack=true`: many results per Firehose record. */
  readonly pack: boolean;
}

const PARAMS = ['region', 'pack'] as const;

/**
 * Parses `firehose://DELIVERY_STREAM[?region=R&pack=true]`. Throws `UserError(BAD_URL)` naming
 * the flag the URL came from.
 *
 * @example parseFirehoseUrl('firehose://page-views?region=eu-west-1&pack=true', '--sink').pack // true
 * @see openFirehoseSink
 */
export function parseFirehoseUrl(text: string, flag: string, env: Readonly<Record<string, string | undefined>> = process.env): FirehoseEndpoint {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${text}': ${why}`);
  const m = /^firehose:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/.exec(text);
  if (!m) throw bad('write firehose://DELIVERY_STREAM[?region=REGION&pack=true]');
  const deliveryStream = decodeURIComponent(m[1] as string);
  if (!STREAM_NAME.test(deliveryStream)) throw bad(`'${deliveryStream}' is not a Firehose delivery stream name (1 to 64 letters, digits, '_', '.', '-')`);
  const params = new URLSearchParams(m[2] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) throw bad(`unknown parameter '${name}'; use ${PARAMS.join(', ')}`);
  }
  const pack = params.get('pack');
  if (pack !== null && pack !== 'true' && pack !== 'false') throw bad(`pack must be true or false, got '${pack}'`);
  return { url: text, deliveryStream, region: regionOf(params.get('region'), env, bad), pack: pack === 'true' };
}

/** The region from the URL, else the environment; checked for shape so a typo fails at start-up. */
export function regionOf(param: string | null, env: Readonly<Record<string, string | undefined>>, bad: (why: string) => UserError): string | undefined {
  const region = param ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']);
  if (region !== undefined && !REGION_PATTERN.test(region)) {
    throw bad(`'${region}'${param === null ? ' (from AWS_REGION)' : ''} is not an AWS region name such as eu-west-1`);
  }
  return region;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Static credentials, for tests and local peers; elsewhere the SDK's chain finds them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * Retries of one PutRecordBatch: whole calls that failed for a passing reason (throttling, 5xx,
 * timeouts) and the failed records of a partly failed call. Defaults: 8 more attempts, waits
 * from 200 ms to 10 s with decorrelated jitter — about half a minute of throttling before the
 * run fails.
 */
export interface FirehoseRetryOptions {
  readonly maxRetries?: number | undefined;
  readonly initialDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
}

/**
 * Options of the Firehose sink beyond its URL.
 *
 * @example { endpointUrl: moto.endpoint, pack: true }
 * @see firehoseSinkConfig
 */
export interface FirehoseSinkOptions {
  /** Another endpoint (moto); default `SLUICE_AWS_ENDPOINT`, else AWS's. */
  readonly endpointUrl?: string | undefined;
  /** Static credentials; default the SDK's chain (a loopback endpoint gets dummy ones). */
  readonly credentials?: AwsCredentials | undefined;
  /** Overrides the URL's `pack`. */
  readonly pack?: boolean | undefined;
  /** Records per call; clamped to {@link FIREHOSE_MAX_BATCH_RECORDS}. */
  readonly maxBatchRecords?: number | undefined;
  /** Bytes per call; clamped to {@link FIREHOSE_MAX_BATCH_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Bytes per Firehose record; clamped to {@link FIREHOSE_MAX_RECORD_BYTES} and to `maxBatchBytes`. */
  readonly maxRecordBytes?: number | undefined;
  /** Time one call may take before it is abandoned and retried (default 30 s). */
  readonly requestTimeoutMs?: number | undefined;
  readonly retry?: FirehoseRetryOptions | undefined;
  /** Where `SLUICE_AWS_ENDPOINT` is read from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** How the SDK client is made: everything but the delivery stream. */
export interface AwsClientSettings {
  readonly region: string | undefined;
  readonly endpointUrl: string | undefined;
  readonly credentials: AwsCredentials | undefined;
  readonly requestTimeoutMs: number;
}

/** {@link FirehoseRetryOptions} with defaults filled in. */
export interface FirehoseRetrySettings {
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Validated Firehose sink settings with defaults filled in.
 *
 * @see firehoseSinkConfig
 */
export interface FirehoseSinkConfig {
  readonly endpoint: FirehoseEndpoint;
  readonly pack: boolean;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly client: AwsClientSettings;
  readonly retry: FirehoseRetrySettings;
}

/**
 * Checks Firehose sink options once, at start-up, and fills in defaults; batch and record sizes
 * above the service's limits are clamped to them. Throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example firehoseSinkConfig(parseFirehoseUrl('firehose://results', '--sink')).maxBatchRecords // 500
 * @see FirehoseSinkOptions
 */
export function firehoseSinkConfig(endpoint: FirehoseEndpoint, options: FirehoseSinkOptions = {}): FirehoseSinkConfig {
  const retry = options.retry ?? {};
  const maxBatchBytes = Math.min(whole('maxBatchBytes', options.maxBatchBytes ?? FIREHOSE_MAX_BATCH_BYTES, 1), FIREHOSE_MAX_BATCH_BYTES);
  const endpointUrl = endpointUrlOf(options.endpointUrl ?? nonEmpty((options.env ?? process.env)[AWS_ENDPOINT_ENV]), 'Firehose sink');
  return {
    endpoint,
    pack: options.pack ?? endpoint.pack,
    maxBatchRecords: Math.min(whole('maxBatchRecords', options.maxBatchRecords ?? FIREHOSE_MAX_BATCH_RECORDS, 1), FIREHOSE_MAX_BATCH_RECORDS),
    maxBatchBytes,
    // a record must also fit in a call on its own
    maxRecordBytes: Math.min(whole('maxRecordBytes', options.maxRecordBytes ?? FIREHOSE_MAX_RECORD_BYTES, 1), FIREHOSE_MAX_RECORD_BYTES, maxBatchBytes),
    client: {
      region: endpoint.region,
      endpointUrl,
      credentials: options.credentials,
      requestTimeoutMs: whole('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, 1),
    },
    retry: {
      maxRetries: whole('retry.maxRetries', retry.maxRetries ?? 8, 0),
      initialDelayMs: whole('retry.initialDelayMs', retry.initialDelayMs ?? 200, 0),
      maxDelayMs: whole('retry.maxDelayMs', retry.maxDelayMs ?? 10_000, 0),
    },
  };
}

/** An endpoint override must be an http(s) URL; `what` names the sink in the message. */
export function endpointUrlOf(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(ErrorCode.BAD_OPTION, `${what} endpoint '${value}' (option endpointUrl or ${AWS_ENDPOINT_ENV}) is not an http:// or https:// URL`);
  }
  return value.replace(/\/+$/, '');
}

function whole(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UserError(ErrorCode.BAD_OPTION, `Firehose sink option ${name} must be a whole number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}
