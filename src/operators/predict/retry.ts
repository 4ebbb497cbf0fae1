/**
 * Which failed InvokeEndpoint calls are worth another attempt, and the cockatiel policies that
 * act on it: a per-attempt timeout, a circuit breaker fed by server-side failures, and retries
 * with exponential backoff and jitter.
 *
 * @module
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  type CircuitBreakerPolicy,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import type { PredictConfig } from './config.js';
import { ResponseError } from './encoder.js';

/**
 * What kind of failure a call had:
 * - `throttled`: the endpoint is saturated (ThrottlingException, ModelNotReadyException, 429):
 *   retry after a backoff, and lower the concurrency;
 * - `timeout`: no answer within the timeout: retry, lower the concurrency, count toward the breaker;
 * - `retriable`: server-side or network trouble (5xx, a model container's 5xx, resets): retry,
 *   count toward the breaker;
 * - `fatal`: the request itself is wrong (ValidationError, a model's 4xx, an unreadable answer);
 * - `breaker-open`: not sent, because the circuit breaker is open.
 */
export type FailureKind = 'throttled' | 'timeout' | 'retriable' | 'fatal' | 'breaker-open';

const THROTTLING: ReadonlySet<string> = new Set(['ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'ModelNotReadyException', 'RequestThrottled', 'SlowDown']);
const SERVER: ReadonlySet<string> = new Set(['ServiceUnavailable', 'InternalFailure', 'InternalDependencyException', 'InternalServerError', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);
const NETWORK: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

interface ErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly OriginalStatusCode?: unknown;
}

/**
 * Classifies a failed call.
 *
 * @example classifyFailure(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) // 'throttled'
 * @see FailureKind
 */
export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) return 'breaker-open';
  if (err instanceof TaskCancelledError) return 'timeout';
  if (err instanceof ResponseError) return 'fatal';
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const name = String(e.name);
  const status = Number(e.$metadata?.httpStatusCode);
  if (THROTTLING.has(name) || status === 429) return 'throttled';
  if (name === 'ModelError') return Number(e.OriginalStatusCode) >= 500 ? 'retriable' : 'fatal';
  if (SERVER.has(name) || NETWORK.has(String(e.code)) || e.$fault === 'server' || status >= 500) return 'retriable';
  return 'fatal';
}

/** The policies one predict operator shares across its partitions. */
export interface PredictPolicies {
  readonly retry: RetryPolicy;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly timeout: TimeoutPolicy;
}

/**
 * Builds the operator's policies from its settings. The breaker counts only failures that say
 * something about the endpoint's health (timeouts, server and network errors), not throttling
 * (the concurrency limit handles that) nor requests the endpoint rightly refused.
 *
 * @example const { retry, breaker, timeout } = predictPolicies(config)
 */
export function predictPolicies(config: PredictConfig): PredictPolicies {
  const retriable = new Set<FailureKind>(['throttled', 'timeout', 'retriable']);
  const unhealthy = new Set<FailureKind>(['timeout', 'retriable']);
  return {
    retry: retry(
      handleWhen((err) => retriable.has(classifyFailure(err))),
      { maxAttempts: config.retry.attempts, backoff: new ExponentialBackoff({ initialDelay: config.retry.initialDelayMs, maxDelay: config.retry.maxDelayMs }) },
    ),
    breaker:
      config.breaker === undefined
        ? undefined
        : circuitBreaker(
            handleWhen((err) => unhealthy.has(classifyFailure(err))),
            { halfOpenAfter: config.breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(config.breaker.consecutiveFailures) },
          ),
    timeout: timeout(config.timeoutMs, TimeoutStrategy.Aggressive),
  };
}

/** A breaker state as metrics and messages name it. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated' | 'none';

/** The state of an optional breaker. */
export function breakerState(breaker: CircuitBreakerPolicy | undefined): BreakerState {
  if (breaker === undefined) return 'none';
  switch (breaker.state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'isolated';
  }
}

/**
 * The reason an event carries (or its dead-letter entry) when its call failed: names the
 * endpoint, what went wrong, and how many attempts were made.
 *
 * @example failureReason(err, config, 4) // "SageMaker endpoint 'telemetry-anomaly' failed: ServiceUnavailable: … (gave up after 4 attempts)"
 */
export function failureReason(err: unknown, config: PredictConfig, attempts: number): string {
  const endpoint = `SageMaker endpoint '${config.endpoint.name}'`;
  const kind = classifyFailure(err);
  const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  if (kind === 'breaker-open') {
    const threshold = config.breaker?.consecutiveFailures ?? 0;
    return `${endpoint} not called: circuit breaker open after ${threshold} consecutive failures; it lets a trial call through ${config.breaker?.halfOpenAfterMs ?? 0} ms after opening`;
  }
  if (kind === 'timeout') return `${endpoint} did not answer within ${config.timeoutMs} ms${tries}`;
  const e = err as ErrorLike & { message?: unknown };
  const name = typeof e?.name === 'string' && e.name !== 'Error' ? `${e.name}: ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return `${endpoint} failed: ${name}${message}${tries}`;
}
