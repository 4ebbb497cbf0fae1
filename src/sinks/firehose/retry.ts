import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { ErrorCode, UserError } from '../../core/errors.js';
import { AWS_ENDPOINT_ENV, type FirehoseEndpoint, type FirehoseRetrySettings } from './config.js';
import type { FailedPut } from './service.js';

/**
 * Error names that mean "not now": throttling (Firehose answers a call over its rate with
 * ServiceUnavailableException, DescribeDeliveryStream with LimitExceededException), the
 * service's own failures, and timeouts.
 */
const RETRY_NAMES: ReadonlySet<string> = new Set([
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
/** Socket errors worth another try; ENOTFOUND is not one (a wrong region or endpoint). */
const RETRY_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** AWS did not accept who we are. */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'IncompleteSignature', 'MissingAuthenticationToken']);

interface AwsErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly hostname?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/**
 * Some records of a PutRecordBatch call were not taken (FailedPutCount > 0). Thrown inside the
 * retry policy so that only those records are sent again, after a backoff.
 */
export class PartialFailure extends Error {
  override readonly name = 'PartialFailure';
  constructor(readonly failed: readonly FailedPut[]) {
    const first = failed[0];
    super(`${failed.length} records failed${first === undefined ? '' : ` (${first.code}: ${first.message})`}`);
  }
}

/**
 * Whether a failed call is worth sending again: `retry` for throttling, 5xx, timeouts and
 * dropped connections; `fatal` for anything a resend cannot fix (a missing stream, refused
 * access, bad credentials or arguments).
 *
 * @example classifyAwsError(Object.assign(new Error('Slow down.'), { name: 'ServiceUnavailableException' })) // 'retry'
 * @see firehoseRetryPolicy
 */
export function classifyAwsError(err: unknown): 'retry' | 'fatal' {
  if (err === null || typeof err !== 'object') return 'fatal';
  const e = err as AwsErrorLike;
  if (RETRY_NAMES.has(String(e.name)) || RETRY_CODES.has(String(e.code))) return 'retry';
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return 'retry';
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return 'retry';
  return 'fatal';
}

/**
 * The retry around one PutRecordBatch call: up to `maxRetries` more attempts of calls that failed
 * for a passing reason, and of the records a partly failed call did not take
 * ({@link PartialFailure}), with exponential backoff and decorrelated jitter (cockatiel's
 * default) so many tasks throttled together do not come back in lockstep.
 *
 * @example await firehoseRetryPolicy(config.retry).execute(() => putPending())
 * @see classifyAwsError
 */
export function firehoseRetryPolicy(settings: FirehoseRetrySettings): RetryPolicy {
  return retry(
    handleWhen((err) => err instanceof PartialFailure || classifyAwsError(err) === 'retry'),
    {
      maxAttempts: settings.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs }),
    },
  );
}

/**
 * One line for the operator about a failed Firehose call: what is wrong and what to do.
 *
 * @example describeFirehoseError(notFound, endpoint) // "Firehose delivery stream 'results' does not exist in eu-west-1; create it first …"
 */
export function describeFirehoseError(err: unknown, endpoint: FirehoseEndpoint): string {
  const e = (err !== null && typeof err === 'object' ? err : {}) as AwsErrorLike;
  const name = String(e.name ?? 'Error');
  const message = oneLine(typeof e.message === 'string' ? e.message : String(err));
  const stream = `Firehose delivery stream '${endpoint.deliveryStream}'${endpoint.region === undefined ? '' : ` in ${endpoint.region}`}`;
  if (name === 'ResourceNotFoundException') return `${stream} does not exist; create it first (Sluice does not create delivery streams)`;
  if (name === 'AccessDeniedException') return `AWS denied access to ${stream}: ${message}; grant firehose:PutRecordBatch and firehose:DescribeDeliveryStream on it`;
  if (CREDENTIAL_NAMES.has(name)) return `AWS did not accept the credentials used for ${stream} (${name}: ${message}); check AWS_PROFILE, AWS_ACCESS_KEY_ID or the task role`;
  if (name === 'CredentialsProviderError') return `no AWS credentials found for ${stream}: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a task role`;
  if (/region is missing|region not accepted/i.test(message)) return `no AWS region for ${stream}: add ?region=REGION to the URL or set AWS_REGION`;
  if (RETRY_CODES.has(String(e.code))) return `cannot reach ${stream}: ${message}`;
  if (e.code === 'ENOTFOUND') return `cannot resolve the Firehose endpoint${typeof e.hostname === 'string' ? ` ${e.hostname}` : ''} for ${stream}; check the region (and ${AWS_ENDPOINT_ENV} if set)`;
  return `${stream}: ${name}: ${message}`;
}

/**
 * The one-line `UserError` a failed write ends the run with; says how many attempts were made
 * when the failure was worth retrying.
 *
 * @example throw sinkError(err, endpoint, attempts)
 */
export function sinkError(err: unknown, endpoint: FirehoseEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  if (err instanceof PartialFailure) {
    const first = err.failed[0];
    const last = first === undefined ? '' : `; last error ${first.code}: ${oneLine(first.message)}`;
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `Firehose delivery stream '${endpoint.deliveryStream}' still refused ${err.failed.length} records after ${attempts} attempts${last}`, { cause: err });
  }
  const gaveUp = classifyAwsError(err) === 'retry' ? ` (gave up after ${attempts} attempts)` : '';
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${describeFirehoseError(err, endpoint)}${gaveUp}`, { cause: err });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
