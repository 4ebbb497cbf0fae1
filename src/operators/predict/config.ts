/**
 * The predict operator's settings, validated once when the pipeline is defined: a mistake throws
 * `UserError(BAD_DEFINITION)` naming the option, and sizes are clamped to InvokeEndpoint's limits.
 *
 * @module
 */
import { toMillis } from '../../core/duration.js';
import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * InvokeEndpoint's largest request body, 6 MB (the API's `Body` constraint: 6291456 bytes).
 *
 * @see https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
 */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** SageMaker endpoint names: letters, digits and inner hyphens, up to 63 characters. */
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Where and as whom to call the SageMaker Runtime API. */
export interface EndpointOptions {
  /** The SageMaker endpoint name. */
  readonly name: string;
  /**
   * The runtime API's address: by default AWS's regional endpoint; `http://127.0.0.1:PORT` for
   * Sluice's local model server (`sluice dev model-server`).
   */
  readonly url?: string;
  /** AWS region; by default the SDK's own resolution (AWS_REGION, the profile…), or us-east-1 for a loopback `url`. */
  readonly region?: string;
  /** Static credentials; by default the SDK's provider chain, or dummy ones for a loopback `url`. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** Retries of a call that failed in a way worth retrying (throttling, 5xx, timeouts, resets). */
export interface RetryOptions {
  /** Further attempts after the first (default 3). */
  readonly attempts?: number;
  /** First backoff; later ones grow exponentially with jitter (default 100ms). */
  readonly initialDelay?: string | number;
  /** Longest backoff (default 5s). */
  readonly maxDelay?: string | number;
}

/** The circuit breaker around the endpoint. */
export interface BreakerOptions {
  /** Consecutive failed attempts (server errors, timeouts) that open it (default 5). */
  readonly consecutiveFailures?: number;
  /** How long it stays open before one trial call may close it (default 30s). */
  readonly halfOpenAfter?: string | number;
}

/** The request body format: JSON Lines (one `{"features": […]}` or feature object per line) or CSV rows. */
export type WireFormat = 'jsonlines' | 'csv';

/** The settings as the operator uses them. */
export interface PredictConfig {
  /** Counter prefix and dead-letter stage (default `predict`). */
  readonly name: string;
  readonly endpoint: EndpointOptions;
  readonly format: WireFormat;
  readonly contentType: string;
  readonly accept: string;
  readonly batchSize: number;
  readonly maxPayloadBytes: number;
  readonly maxConcurrency: number;
  readonly minConcurrency: number;
  readonly timeoutMs: number;
  readonly slowCallMs: number | undefined;
  readonly retry: { readonly attempts: number; readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly breaker: { readonly consecutiveFailures: number; readonly halfOpenAfterMs: number } | undefined;
  readonly onFailure: 'pass' | 'dead-letter';
}

/** The options {@link predictConfig} reads: the predict operator's options minus its functions. */
export interface PredictSettings {
  /** Prefix of the operator's counters and its dead-letter stage (default `predict`). */
  readonly name?: string;
  /** The endpoint name, or where and as whom to call it. */
  readonly endpoint: string | EndpointOptions;
  /** Request body format (default `jsonlines`). */
  readonly format?: WireFormat;
  /** The answer's MIME type to ask for (default: the request's). */
  readonly accept?: string;
  /** Events per InvokeEndpoint call, at most (default 64). */
  readonly batchSize?: number;
  /** Body bytes per call, at most (default and ceiling: 6 MB, InvokeEndpoint's limit). */
  readonly maxPayloadBytes?: number;
  /** Calls in flight at once, at most, across partitions (default 8); adapts down when the endpoint throttles or slows. */
  readonly maxConcurrency?: number;
  /** The adaptive concurrency never goes below this (default 1). */
  readonly minConcurrency?: number;
  /** How long one attempt may take before it is abandoned (default 5s). */
  readonly timeout?: string | number;
  /** A successful call slower than this lowers the concurrency like a throttle does (default: only timeouts do). */
  readonly slowCall?: string | number;
  /** Further attempts after a retriable failure (a number), or the full retry settings (default 3). */
  readonly retries?: number | RetryOptions;
  /** The circuit breaker's settings, or false for none. */
  readonly breaker?: BreakerOptions | false;
  /** What happens to an event whose call failed (default `pass`: on, with `prediction: null`). */
  readonly onFailure?: 'pass' | 'dead-letter';
}

const CONTENT_TYPES: Readonly<Record<WireFormat, string>> = { jsonlines: 'application/jsonlines', csv: 'text/csv' };

/**
 * Validates the operator's options and fills in defaults.
 *
 * @example predictConfig({ endpoint: 'telemetry-anomaly', batchSize: 0 }) // UserError: predict batchSize must be a whole number from 1 to 10000, got 0
 * @see PredictConfig
 */
export function predictConfig(options: PredictSettings): PredictConfig {
  const name = options.name ?? 'predict';
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) fail(`predict name '${name}' must be lower-case letters, digits, '_' or '-', starting with a letter`);
  const endpoint = typeof options.endpoint === 'string' ? { name: options.endpoint } : options.endpoint;
  if (typeof endpoint?.name !== 'string' || !ENDPOINT_NAME.test(endpoint.name)) {
    fail(`${name} endpoint name '${String(endpoint?.name)}' is not a SageMaker endpoint name (letters, digits and hyphens, up to 63)`);
  }
  if (endpoint.url !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint.url)) fail(`${name} endpoint url '${endpoint.url}' must be http(s)://HOST[:PORT]`);
  const format = options.format ?? 'jsonlines';
  if (format !== 'jsonlines' && format !== 'csv') fail(`${name} format must be 'jsonlines' or 'csv', got '${String(format)}'`);
  const maxConcurrency = whole(`${name} maxConcurrency`, options.maxConcurrency, 8, 1, 1000);
  const minConcurrency = whole(`${name} minConcurrency`, options.minConcurrency, 1, 1, maxConcurrency);
  const retries = typeof options.retries === 'number' ? { attempts: options.retries } : (options.retries ?? {});
  const initialDelayMs = millis(`${name} retries.initialDelay`, retries.initialDelay ?? 100);
  const onFailure = options.onFailure ?? 'pass';
  if (onFailure !== 'pass' && onFailure !== 'dead-letter') fail(`${name} onFailure must be 'pass' or 'dead-letter', got '${String(onFailure)}'`);
  return {
    name,
    endpoint,
    format,
    contentType: CONTENT_TYPES[format],
    accept: options.accept ?? CONTENT_TYPES[format],
    batchSize: whole(`${name} batchSize`, options.batchSize, 64, 1, 10_000),
    maxPayloadBytes: whole(`${name} maxPayloadBytes`, options.maxPayloadBytes, MAX_PAYLOAD_BYTES, 1, MAX_PAYLOAD_BYTES),
    maxConcurrency,
    minConcurrency,
    timeoutMs: positive(`${name} timeout`, options.timeout ?? '5s'),
    slowCallMs: options.slowCall === undefined ? undefined : positive(`${name} slowCall`, options.slowCall),
    retry: {
      attempts: whole(`${name} retries`, retries.attempts, 3, 0, 100),
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, millis(`${name} retries.maxDelay`, retries.maxDelay ?? '5s')),
    },
    breaker:
      options.breaker === false
        ? undefined
        : {
            consecutiveFailures: whole(`${name} breaker.consecutiveFailures`, options.breaker?.consecutiveFailures, 5, 1, 1_000_000),
            halfOpenAfterMs: positive(`${name} breaker.halfOpenAfter`, options.breaker?.halfOpenAfter ?? '30s'),
          },
    onFailure,
  };
}

function whole(what: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) fail(`${what} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function millis(what: string, value: string | number): number {
  try {
    return toMillis(value, what);
  } catch (err) {
    if (err instanceof UserError) fail(err.message);
    throw err;
  }
}

function positive(what: string, value: string | number): number {
  const ms = millis(what, value);
  if (ms <= 0) fail(`${what} must be longer than 0`);
  return ms;
}

function fail(message: string): never {
  throw new UserError(ErrorCode.BAD_DEFINITION, message);
}
