import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { ErrorCode, UserError } from '../../core/errors.js';
import { AWS_ENDPOINT_ENV, type TimestreamEndpoint, type TimestreamRetrySettings } from './config.js';

/** Error names that mean "not now": throttling, the service's own failures, timeouts. */
const RETRY_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'InternalServerException',
  'InternalServerError',
  'InternalFailure',
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
 * Whether a failed WriteRecords or DescribeTable call is worth sending again: `retry` for
 * throttling, 5xx, timeouts and dropped connections; `fatal` for anything a resend cannot fix (a
 * missing database or table, refused access, a ValidationException).
 *
 * @example classifyTimestreamError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) // 'retry'
 * @see timestreamRetryPolicy
 */
export function classifyTimestreamError(err: unknown): 'retry' | 'fatal' {
  if (err === null || typeof err !== 'object') return 'fatal';
  const e = err as AwsErrorLike;
  if (RETRY_NAMES.has(String(e.name)) || RETRY_CODES.has(String(e.code))) return 'retry';
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return 'retry';
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return 'retry';
  return 'fatal';
}

/**
 * The retry around one WriteRecords call: up to `maxRetries` more attempts of a call that failed
 * for a passing reason, with exponential backoff and decorrelated jitter (cockatiel's default).
 * Sending a call again is safe: a record Timestream already has with the same version and values
 * is taken again without change.
 *
 * @example await timestreamRetryPolicy(config.retry).execute(() => service.writeRecords(request))
 * @see classifyTimestreamError
 */
export function timestreamRetryPolicy(settings: TimestreamRetrySettings): RetryPolicy {
  return retry(
    handleWhen((err) => classifyTimestreamError(err) === 'retry'),
    {
      maxAttempts: settings.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs }),
    },
  );
}

/**
 * One line for the operator about a failed Timestream call: what is wrong and what to do.
 *
 * @example describeTimestreamError(notFound, endpoint) // "Timestream table 'metrics.views' in eu-west-1 does not exist (…); create it first …"
 */
export function describeTimestreamError(err: unknown, endpoint: TimestreamEndpoint): string {
  const e = (err !== null && typeof err === 'object' ? err : {}) as AwsErrorLike;
  const name = String(e.name ?? 'Error');
  const message = oneLine(typeof e.message === 'string' ? e.message : String(err));
  const table = `Timestream table '${endpoint.database}.${endpoint.table}'${endpoint.region === undefined ? '' : ` in ${endpoint.region}`}`;
  if (name === 'ResourceNotFoundException') return `${table} does not exist (${message}); create it first (Sluice does not create databases or tables)`;
  if (name === 'AccessDeniedException') return `AWS denied access to ${table}: ${message}; grant timestream:WriteRecords, timestream:DescribeTable and timestream:DescribeEndpoints`;
  if (CREDENTIAL_NAMES.has(name)) return `AWS did not accept the credentials used for ${table} (${name}: ${message}); check AWS_PROFILE, AWS_ACCESS_KEY_ID or the task role`;
  if (name === 'CredentialsProviderError') return `no AWS credentials found for ${table}: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a task role`;
  if (/region is missing|region not accepted/i.test(message)) return `no AWS region for ${table}: add ?region=REGION to the URL or set AWS_REGION`;
  if (RETRY_CODES.has(String(e.code))) return `cannot reach ${table}: ${message}`;
  if (e.code === 'ENOTFOUND') return `cannot resolve the Timestream endpoint${typeof e.hostname === 'string' ? ` ${e.hostname}` : ''} for ${table}; check the region (Timestream for LiveAnalytics runs in a few regions only; and ${AWS_ENDPOINT_ENV} if set)`;
  if (name === 'ValidationException') return `${table} refused a write as invalid (${message}); check the sink's mapping`;
  return `${table}: ${name}: ${message}`;
}

/**
 * The one-line `UserError` a failed write ends the run with; says how many attempts were made
 * when the failure was worth retrying.
 *
 * @example throw sinkError(err, endpoint, attempts)
 */
export function sinkError(err: unknown, endpoint: TimestreamEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  const gaveUp = classifyTimestreamError(err) === 'retry' ? ` (gave up after ${attempts} attempts)` : '';
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${describeTimestreamError(err, endpoint)}${gaveUp}`, { cause: err });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
