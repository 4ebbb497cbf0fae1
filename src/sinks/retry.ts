/**
 * The retry policy around a sink's requests, the same for every sink but for what counts as
 * worth another try.
 *
 * @module
 */
import { ExponentialBackoff, handleWhen, retry, type IBackoffFactory, type IRetryBackoffContext, type RetryPolicy } from 'cockatiel';
import type { RetrySettings } from './options.js';

/** What a sink may change about {@link backoffRetryPolicy}. */
export interface BackoffOptions {
  /** Wraps the exponential backoff, e.g. to wait at least what a `Retry-After` answer asked for. */
  readonly adjust?: (exponential: IBackoffFactory<unknown>) => IBackoffFactory<IRetryBackoffContext<unknown>>;
}

/**
 * Up to `maxRetries` more attempts of a call that failed in a way `retriable` accepts, with
 * exponential backoff and decorrelated jitter (cockatiel's default) so many tasks throttled
 * together do not come back in lockstep.
 *
 * @example await backoffRetryPolicy(config.retry, (err) => classifyKafkaError(err) === 'retry').execute(() => service.send(request))
 */
export function backoffRetryPolicy(settings: RetrySettings, retriable: (err: unknown) => boolean, options: BackoffOptions = {}): RetryPolicy {
  const exponential = new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs });
  return retry(handleWhen(retriable), {
    maxAttempts: settings.maxRetries,
    backoff: options.adjust === undefined ? exponential : options.adjust(exponential),
  });
}
