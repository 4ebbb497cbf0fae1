import { limitOption, retrySettings, wholeOption, type RetryOptions, type RetrySettings } from '../options.js';
import type { OpenSearchEndpoint } from './endpoint.js';

const WHAT = 'OpenSearch sink';

/**
 * Default bytes per `_bulk` request: 5 MiB, the low end of the 5–15 MiB Amazon OpenSearch Service
 * recommends starting from, and half the 10 MiB request payload its smallest instance types
 * accept. A 413 halves it for the rest of the run (see {@link MIN_BULK_BYTES}).
 * https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp.html#bp-perf (bulk request size)
 */
export const DEFAULT_MAX_BULK_BYTES = 5 * 1024 * 1024;

/**
 * Largest `_bulk` request the sink will build: OpenSearch's default `http.max_content_length`
 * (100 MB), also the payload limit of the largest Amazon OpenSearch Service instance types.
 * https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/network-settings/
 * https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html#network-limits
 */
export const MAX_BULK_BYTES = 100 * 1024 * 1024;

/** A 413 never halves the request size below this; smaller documents go one per request anyway. */
export const MIN_BULK_BYTES = 16 * 1024;

/**
 * Default documents per `_bulk` request. OpenSearch sets no count limit; this bounds the response
 * (one item per document) and how much a retried request resends.
 */
export const DEFAULT_MAX_BULK_DOCUMENTS = 10_000;

/**
 * The longest `_id`, in UTF-8 bytes (enforced by `_bulk` since OpenSearch 2.9). Result ids are 32
 * hex digits, so only records of other shapes can exceed it.
 * https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
 */
export const MAX_ID_BYTES = 512;

/**
 * How long one `_bulk` request may take before it counts as failed (and is retried): the client's
 * 30 s default is short for a 5 MiB request to a busy cluster.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/**
 * How often and how patiently a failed request, or the documents a response reported as throttled
 * (429) or failed on the server (5xx), are sent again. Defaults: 5 more attempts, waits from 1 s
 * growing to at most 20 s with decorrelated jitter (about 30 s in all), enough to ride out a
 * node restart or a burst of write-queue rejections before the run fails.
 */
export type OpenSearchRetryOptions = RetryOptions;

/**
 * Options of the OpenSearch sink beyond its URL.
 *
 * @example { maxBatchBytes: 1024 * 1024, retry: { maxRetries: 2 } }
 * @see openSearchSinkConfig
 */
export interface OpenSearchSinkOptions {
  /** Bytes per `_bulk` request (action and document lines); clamped to {@link MAX_BULK_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Documents per `_bulk` request; default {@link DEFAULT_MAX_BULK_DOCUMENTS}. */
  readonly maxBatchRecords?: number | undefined;
  /** Per request; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  readonly requestTimeoutMs?: number | undefined;
  readonly retry?: OpenSearchRetryOptions | undefined;
}

/** {@link OpenSearchRetryOptions} with defaults filled in. */
export type OpenSearchRetrySettings = RetrySettings;

/**
 * Validated OpenSearch sink settings with defaults filled in.
 *
 * @see openSearchSinkConfig
 */
export interface OpenSearchSinkConfig {
  readonly endpoint: OpenSearchEndpoint;
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  readonly requestTimeoutMs: number;
  readonly retry: OpenSearchRetrySettings;
}

/**
 * Checks OpenSearch sink options once, at start-up, and fills in defaults; a request size above
 * what OpenSearch accepts by default is clamped to it. Throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example openSearchSinkConfig(parseOpenSearchUrl('opensearch://127.0.0.1:9200/results', '--sink')).maxBatchBytes // 5242880
 * @see OpenSearchSinkOptions
 */
export function openSearchSinkConfig(endpoint: OpenSearchEndpoint, options: OpenSearchSinkOptions = {}): OpenSearchSinkConfig {
  return {
    endpoint,
    maxBatchBytes: limitOption(WHAT, 'maxBatchBytes', options.maxBatchBytes, MAX_BULK_BYTES, DEFAULT_MAX_BULK_BYTES),
    maxBatchRecords: wholeOption(WHAT, 'maxBatchRecords', options.maxBatchRecords ?? DEFAULT_MAX_BULK_DOCUMENTS, 1),
    requestTimeoutMs: wholeOption(WHAT, 'requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1),
    retry: retrySettings(WHAT, options.retry, { maxRetries: 5, initialDelayMs: 1_000, maxDelayMs: 20_000 }),
  };
}
