import {
  AWS_RETRY_DEFAULTS,
  awsClientSettings,
  awsEndpointUrl,
  type AwsClientOptions,
  type AwsClientSettings,
  type AwsRetryOptions,
  type AwsRetrySettings,
} from '../../aws/config.js';
import type { KinesisEndpoint } from '../../kinesis/endpoint.js';
import { limitOption, retrySettings } from '../options.js';

export { KINESIS_ENDPOINT_ENV, parseKinesisUrl, type KinesisEndpoint } from '../../kinesis/endpoint.js';
export type { AwsClientSettings, AwsCredentials } from '../../aws/config.js';

/**
 * Most records in one PutRecords call; a fixed limit.
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
 */
export const KINESIS_MAX_BATCH_RECORDS = 500;

/**
 * Most bytes in one PutRecords call, 5 MiB, counting each record's data (before base64) and its
 * partition key.
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
 */
export const KINESIS_MAX_BATCH_BYTES = 5 * 1024 * 1024;

/**
 * Largest Kinesis record, 1 MiB: data blob (before base64) plus partition key. A stream can be
 * raised to 10 MiB (UpdateMaxRecordSize), but 1 MiB is the default and what KCL and the KPL
 * aggregation format assume, so the sink keeps to it.
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
 * https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Partition keys are Unicode strings of 1 to 256 characters (counted here as UTF-16 code units,
 * which is never fewer than the characters).
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html
 */
export const KINESIS_MAX_PARTITION_KEY_LENGTH = 256;

/**
 * Provisioned streams bill writes in PUT payload units: each record rounded up to the next 25 KB,
 * so a 300-byte record costs as much as a 25 KB one — which is why KPL aggregation pays.
 * https://aws.amazon.com/kinesis/data-streams/pricing/
 */
export const KINESIS_PUT_UNIT_BYTES = 25 * 1024;

const WHAT = 'Kinesis sink';

/** Retries of one PutRecords call; defaults {@link AWS_RETRY_DEFAULTS} (8 more attempts, 200 ms to 10 s). */
export type KinesisRetryOptions = AwsRetryOptions;
/** {@link KinesisRetryOptions} with defaults filled in. */
export type KinesisRetrySettings = AwsRetrySettings;

/**
 * Options of the Kinesis sink beyond its URL.
 *
 * @example { endpointUrl: kinesis.endpoint, aggregate: true }
 * @see kinesisSinkConfig
 */
export interface KinesisSinkOptions extends AwsClientOptions {
  /** Overrides the URL's `aggregate`. */
  readonly aggregate?: boolean | undefined;
  /** Records per call; clamped to {@link KINESIS_MAX_BATCH_RECORDS}. */
  readonly maxBatchRecords?: number | undefined;
  /** Bytes per call (data and partition keys); clamped to {@link KINESIS_MAX_BATCH_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Bytes per Kinesis record (data and partition key); clamped to {@link KINESIS_MAX_RECORD_BYTES} and `maxBatchBytes`. */
  readonly maxRecordBytes?: number | undefined;
  readonly retry?: KinesisRetryOptions | undefined;
}

/**
 * Validated Kinesis sink settings with defaults filled in.
 *
 * @see kinesisSinkConfig
 */
export interface KinesisSinkConfig {
  readonly endpoint: KinesisEndpoint;
  readonly aggregate: boolean;
  /** Dotted path of the result field whose value is the partition key (`?key=`); the result's `key` without. */
  readonly keyField: string | undefined;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly client: AwsClientSettings;
  readonly retry: KinesisRetrySettings;
}

/**
 * Checks Kinesis sink options once, at start-up, and fills in defaults; batch and record sizes
 * above the service's limits are clamped to them. The endpoint override is the `endpointUrl`
 * option, else the URL's (`?endpoint=`, `SLUICE_KINESIS_ENDPOINT`, `SLUICE_AWS_ENDPOINT`). Throws
 * `UserError(BAD_OPTION)` on bad values.
 *
 * @example kinesisSinkConfig(parseKinesisUrl('kinesis://results', 'sink')).maxBatchRecords // 500
 * @see KinesisSinkOptions
 */
export function kinesisSinkConfig(endpoint: KinesisEndpoint, options: KinesisSinkOptions = {}): KinesisSinkConfig {
  const maxBatchBytes = limitOption(WHAT, 'maxBatchBytes', options.maxBatchBytes, KINESIS_MAX_BATCH_BYTES);
  // the URL's endpoint already went through SLUICE_KINESIS_ENDPOINT and SLUICE_AWS_ENDPOINT
  const endpointUrl = options.endpointUrl === undefined ? endpoint.endpointUrl : awsEndpointUrl(WHAT, { endpointUrl: options.endpointUrl, env: {} });
  return {
    endpoint,
    aggregate: options.aggregate ?? endpoint.aggregate,
    keyField: endpoint.key,
    maxBatchRecords: limitOption(WHAT, 'maxBatchRecords', options.maxBatchRecords, KINESIS_MAX_BATCH_RECORDS),
    maxBatchBytes,
    // a record must also fit in a call on its own
    maxRecordBytes: Math.min(limitOption(WHAT, 'maxRecordBytes', options.maxRecordBytes, KINESIS_MAX_RECORD_BYTES), maxBatchBytes),
    client: awsClientSettings(WHAT, endpoint.region, endpointUrl, options),
    retry: retrySettings(WHAT, options.retry, AWS_RETRY_DEFAULTS),
  };
}

/**
 * PUT payload units a record of `bytes` (data and partition key) is billed: rounded up to the next
 * {@link KINESIS_PUT_UNIT_BYTES}.
 *
 * @example putUnits(300) // 1
 */
export function putUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KINESIS_PUT_UNIT_BYTES));
}
