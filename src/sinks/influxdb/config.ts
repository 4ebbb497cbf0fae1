import { ErrorCode, UserError } from '../../core/errors.js';
import { limitOption, retrySettings, wholeOption, type RetryOptions, type RetrySettings } from '../options.js';
import { measurementProblem } from './encoder.js';

const WHAT = 'InfluxDB sink';
import type { InfluxEndpoint } from './endpoint.js';

/**
 * Lines per write request. InfluxData's advice for InfluxDB 1.x and 2.x (and so for Amazon
 * Timestream for InfluxDB): "The optimal batch size is 5000 lines of line protocol."
 * https://docs.influxdata.com/influxdb/v2/write-data/best-practices/optimize-writes/#batch-writes
 */
export const RECOMMENDED_BATCH_LINES = 5_000;

/**
 * The largest request body InfluxDB 1.x accepts by default (`[http] max-body-size`, 25,000,000
 * bytes; it answers 413 above it). Batches are clamped to it.
 * https://docs.influxdata.com/influxdb/v1/administration/config/#max-body-size
 */
export const INFLUXDB_MAX_BODY_BYTES = 25_000_000;

/**
 * Default request size: 10 MB, InfluxData's upper batch size for InfluxDB 3 ("10,000 lines of
 * line protocol or 10 MBs, whichever threshold is met first") and well inside
 * {@link INFLUXDB_MAX_BODY_BYTES}. With typical results the line limit is reached first.
 * https://docs.influxdata.com/influxdb3/clustered/write-data/best-practices/optimize-writes/
 */
export const DEFAULT_MAX_BATCH_BYTES = 10_000_000;

/** The measurement when neither the URL nor the options name one. */
export const DEFAULT_MEASUREMENT = 'sluice';

/** One request may take this long before it counts as a (retriable) timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often and how patiently a failed request is sent again: throttling (429), server errors
 * (5xx), timeouts and connection failures. Defaults: 5 more attempts, waits from 500 ms to 20 s
 * with decorrelated jitter — about a minute to ride out a restart or failover before the run
 * fails. A `Retry-After` the server sends is honoured (up to {@link MAX_RETRY_AFTER_MS}).
 */
export type InfluxRetryOptions = RetryOptions;

/** The longest `Retry-After` honoured: a server asking for more is asked again after this. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Options of the InfluxDB sink beyond its URL.
 *
 * @example { measurement: 'page-views', maxBatchLines: 1000 }
 * @see influxSinkConfig
 */
export interface InfluxSinkOptions {
  /**
   * The measurement when the URL has no `measurement=` (the CLI passes the pipeline's name);
   * default {@link DEFAULT_MEASUREMENT}.
   */
  readonly measurement?: string | undefined;
  /** Most lines per request; default {@link RECOMMENDED_BATCH_LINES}. */
  readonly maxBatchLines?: number | undefined;
  /** Largest request body in bytes; default {@link DEFAULT_MAX_BATCH_BYTES}, clamped to {@link INFLUXDB_MAX_BODY_BYTES}. */
  readonly maxBatchBytes?: number | undefined;
  /** Per request; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  readonly requestTimeoutMs?: number | undefined;
  readonly retry?: InfluxRetryOptions | undefined;
}

/** {@link InfluxRetryOptions} with defaults filled in. */
export type InfluxRetrySettings = RetrySettings;

/**
 * Validated InfluxDB sink settings with defaults filled in.
 *
 * @see influxSinkConfig
 */
export interface InfluxSinkConfig {
  readonly endpoint: InfluxEndpoint;
  readonly measurement: string;
  readonly maxBatchLines: number;
  readonly maxBatchBytes: number;
  readonly requestTimeoutMs: number;
  readonly retry: InfluxRetrySettings;
}

/**
 * Checks InfluxDB sink options once, at start-up, and fills in defaults; a batch byte size above
 * what InfluxDB accepts by default is clamped to it. Throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example influxSinkConfig(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink'), { measurement: 'clicks' }).measurement // 'clicks'
 * @see InfluxSinkOptions
 */
export function influxSinkConfig(endpoint: InfluxEndpoint, options: InfluxSinkOptions = {}): InfluxSinkConfig {
  const measurement = endpoint.measurement ?? options.measurement ?? DEFAULT_MEASUREMENT;
  const problem = measurementProblem(measurement);
  if (problem !== undefined) throw new UserError(ErrorCode.BAD_OPTION, `InfluxDB measurement ${problem}; name another with ?measurement=NAME`);
  return {
    endpoint,
    measurement,
    maxBatchLines: wholeOption(WHAT, 'maxBatchLines', options.maxBatchLines ?? RECOMMENDED_BATCH_LINES, 1),
    maxBatchBytes: limitOption(WHAT, 'maxBatchBytes', options.maxBatchBytes, INFLUXDB_MAX_BODY_BYTES, DEFAULT_MAX_BATCH_BYTES),
    requestTimeoutMs: wholeOption(WHAT, 'requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1),
    retry: retrySettings(WHAT, options.retry, { maxRetries: 5, initialDelayMs: 500, maxDelayMs: 20_000 }),
  };
}
