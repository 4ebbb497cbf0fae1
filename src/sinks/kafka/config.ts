import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { limitOption, retrySettings, wholeOption, type RetryOptions, type RetrySettings } from '../options.js';

const WHAT = 'Kafka sink';

/**
 * The broker's default `message.max.bytes`: the largest record batch (after compression, with
 * its 12 bytes of log overhead) a broker accepts, 1 MiB + 12. A request is one record batch per
 * partition, so keeping a whole request under it keeps every batch under it.
 * https://kafka.apache.org/documentation/#brokerconfigs_message.max.bytes
 */
export const KAFKA_MESSAGE_MAX_BYTES = 1_048_588;

/** Default request size: 1 MiB, just under {@link KAFKA_MESSAGE_MAX_BYTES}. */
export const DEFAULT_MAX_BATCH_BYTES = 1_048_576;

/**
 * Default records per request. Kafka sets no count limit; this bounds the memory one request
 * holds and keeps a retried request small.
 */
export const DEFAULT_MAX_BATCH_RECORDS = 10_000;

/**
 * The record key when the URL names none: the result's deterministic `id`. Every revision of a
 * window then lands in the same partition, in order, and a compacted topic keeps the newest.
 */
export const DEFAULT_KEY_FIELD = 'id';

/**
 * How often and how patiently a failed request is sent again after kafkajs's own retries gave
 * up (5 retries from 200 ms, about 6 s, see src/kafka/service.ts). Defaults: 3 more attempts,
 * waits from 1 s to 10 s with decorrelated jitter — with kafkajs's rounds, about half a minute
 * against a broker that refuses connections (longer against one that does not answer at all:
 * 5 s connection timeout per try) to ride out a restart or leader election before the run fails.
 */
export type KafkaRetryOptions = RetryOptions;

/**
 * Options of the Kafka sink beyond its URL.
 *
 * @example { maxBatchBytes: 256 * 1024, maxBatchRecords: 1000 }
 * @see kafkaSinkConfig
 */
export interface KafkaSinkOptions {
  /** Largest request in bytes (estimated as Kafka frames it); clamped to {@link KAFKA_MESSAGE_MAX_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Most records per request; default {@link DEFAULT_MAX_BATCH_RECORDS}. */
  readonly maxBatchRecords?: number | undefined;
  readonly retry?: KafkaRetryOptions | undefined;
}

/**
 * Validated Kafka sink settings with defaults filled in.
 *
 * @see kafkaSinkConfig
 */
export interface KafkaSinkConfig {
  readonly endpoint: KafkaEndpoint;
  /** Dotted path of the result field that becomes the record key. */
  readonly keyField: string;
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  readonly retry: KafkaRetrySettings;
}

/** {@link KafkaRetryOptions} with defaults filled in. */
export type KafkaRetrySettings = RetrySettings;

/**
 * Checks Kafka sink options once, at start-up, and fills in defaults; a batch size above what a
 * broker accepts by default is clamped to it. Throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example kafkaSinkConfig(parseKafkaUrl('kafka://127.0.0.1:9092/results', 'sink')).keyField // 'id'
 * @see KafkaSinkOptions
 */
export function kafkaSinkConfig(endpoint: KafkaEndpoint, options: KafkaSinkOptions = {}): KafkaSinkConfig {
  return {
    endpoint,
    keyField: endpoint.key ?? DEFAULT_KEY_FIELD,
    maxBatchBytes: limitOption(WHAT, 'maxBatchBytes', options.maxBatchBytes, KAFKA_MESSAGE_MAX_BYTES, DEFAULT_MAX_BATCH_BYTES),
    maxBatchRecords: wholeOption(WHAT, 'maxBatchRecords', options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS, 1),
    retry: retrySettings(WHAT, options.retry, { maxRetries: 3, initialDelayMs: 1_000, maxDelayMs: 10_000 }),
  };
}
