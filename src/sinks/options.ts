/**
 * Checks every sink's numeric options the same way, once, at start-up: whole numbers with a
 * floor, sizes clamped to the service's limit, and the retry policy's numbers with the sink's
 * defaults. A bad value throws `UserError(BAD_OPTION)` naming the sink and the option.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';

/**
 * How often and how patiently a sink sends a failed request again; every field has a default
 * (the sink's {@link RetrySettings}).
 */
export interface RetryOptions {
  /** Attempts after the first. */
  readonly maxRetries?: number | undefined;
  /** The first wait; later ones grow exponentially with decorrelated jitter. */
  readonly initialDelayMs?: number | undefined;
  /** The longest wait. */
  readonly maxDelayMs?: number | undefined;
}

/** {@link RetryOptions} with defaults filled in. */
export interface RetrySettings {
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * `retry` checked, with the sink's `defaults` for what it leaves out.
 *
 * @example retrySettings('Kafka sink', { maxRetries: 1 }, { maxRetries: 3, initialDelayMs: 1_000, maxDelayMs: 10_000 }) // { maxRetries: 1, initialDelayMs: 1000, maxDelayMs: 10000 }
 */
export function retrySettings(what: string, retry: RetryOptions | undefined, defaults: RetrySettings): RetrySettings {
  return {
    maxRetries: wholeOption(what, 'retry.maxRetries', retry?.maxRetries ?? defaults.maxRetries, 0),
    initialDelayMs: wholeOption(what, 'retry.initialDelayMs', retry?.initialDelayMs ?? defaults.initialDelayMs, 0),
    maxDelayMs: wholeOption(what, 'retry.maxDelayMs', retry?.maxDelayMs ?? defaults.maxDelayMs, 0),
  };
}

/**
 * `value` when it is a whole number ≥ `min`; else a `UserError` naming the sink and the option.
 *
 * @example wholeOption('OpenSearch sink', 'requestTimeoutMs', 0, 1) // UserError: OpenSearch sink option requestTimeoutMs must be a whole number ≥ 1, got 0
 */
export function wholeOption(what: string, name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UserError(ErrorCode.BAD_OPTION, `${what} option ${name} must be a whole number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * A size option: `value` (default `fallback`) checked as a whole number ≥ 1, then clamped to the
 * service's `limit`.
 *
 * @example limitOption('Timestream sink', 'maxBatchRecords', 250, 100) // 100
 */
export function limitOption(what: string, name: string, value: number | undefined, limit: number, fallback = limit): number {
  return Math.min(wholeOption(what, name, value ?? fallback, 1), limit);
}
