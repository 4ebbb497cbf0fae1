import {
  AWS_RETRY_DEFAULTS,
  awsClientSettings,
  awsEndpointUrl,
  regionOf,
  type AwsClientOptions,
  type AwsClientSettings,
  type AwsRetryOptions,
  type AwsRetrySettings,
} from '../../aws/config.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { limitOption, retrySettings } from '../options.js';

export { AWS_ENDPOINT_ENV, type AwsClientSettings, type AwsCredentials } from '../../aws/config.js';

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
const WHAT = 'Firehose sink';

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

/**
 * Retries of one PutRecordBatch: whole calls that failed for a passing reason (throttling, 5xx,
 * timeouts) and the failed records of a partly failed call. Defaults: 8 more attempts, waits
 * from 200 ms to 10 s with decorrelated jitter — about half a minute of throttling before the
 * run fails.
 */
export type FirehoseRetryOptions = AwsRetryOptions;

/**
 * Options of the Firehose sink beyond its URL.
 *
 * @example { endpointUrl: moto.endpoint, pack: true }
 * @see firehoseSinkConfig
 */
export interface FirehoseSinkOptions extends AwsClientOptions {
  /** Overrides the URL's `pack`. */
  readonly pack?: boolean | undefined;
  /** Records per call; clamped to {@link FIREHOSE_MAX_BATCH_RECORDS}. */
  readonly maxBatchRecords?: number | undefined;
  /** Bytes per call; clamped to {@link FIREHOSE_MAX_BATCH_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Bytes per Firehose record; clamped to {@link FIREHOSE_MAX_RECORD_BYTES} and to `maxBatchBytes`. */
  readonly maxRecordBytes?: number | undefined;
  readonly retry?: FirehoseRetryOptions | undefined;
}

/** {@link FirehoseRetryOptions} with defaults filled in. */
export type FirehoseRetrySettings = AwsRetrySettings;

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
  const maxBatchBytes = limitOption(WHAT, 'maxBatchBytes', options.maxBatchBytes, FIREHOSE_MAX_BATCH_BYTES);
  const endpointUrl = awsEndpointUrl(WHAT, options);
  return {
    endpoint,
    pack: options.pack ?? endpoint.pack,
    maxBatchRecords: limitOption(WHAT, 'maxBatchRecords', options.maxBatchRecords, FIREHOSE_MAX_BATCH_RECORDS),
    maxBatchBytes,
    // a record must also fit in a call on its own
    maxRecordBytes: Math.min(limitOption(WHAT, 'maxRecordBytes', options.maxRecordBytes, FIREHOSE_MAX_RECORD_BYTES), maxBatchBytes),
    client: awsClientSettings(WHAT, endpoint.region, endpointUrl, options),
    retry: retrySettings(WHAT, options.retry, AWS_RETRY_DEFAULTS),
  };
}
