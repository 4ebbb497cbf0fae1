/**
 * What an AWS SDK error means for a connector: worth another try or not, and the one line that
 * tells the operator what is wrong and what to do.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { AWS_ENDPOINT_ENV } from './config.js';

/** Error names that mean "not now" on every AWS service: throttling, the service's own failures, timeouts. */
export const AWS_RETRY_NAMES: ReadonlySet<string> = new Set([
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
 * Whether a failed call is worth sending again: `retry` for the `retryNames` (throttling, the
 * service's failures, timeouts), 5xx and 429 answers, errors the SDK marks retryable and dropped
 * connections; `fatal` for anything a resend cannot fix (a missing resource, refused access, bad
 * credentials or arguments).
 *
 * @example classifyAws(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), AWS_RETRY_NAMES) // 'retry'
 */
export function classifyAws(err: unknown, retryNames: ReadonlySet<string>): 'retry' | 'fatal' {
  if (err === null || typeof err !== 'object') return 'fatal';
  const e = err as AwsErrorLike;
  if (retryNames.has(String(e.name)) || RETRY_CODES.has(String(e.code))) return 'retry';
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return 'retry';
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return 'retry';
  return 'fatal';
}

/**
 * How {@link describeAwsError} speaks of one connector's resource.
 *
 * @example { subject: "Firehose delivery stream 'results' in eu-west-1", service: 'Firehose', special: (name) => … }
 */
export interface AwsErrorWording {
  /** The resource, as in "AWS denied access to SUBJECT". */
  readonly subject: string;
  /** As in "cannot resolve the SERVICE endpoint". */
  readonly service: string;
  /** Said before "and SLUICE_AWS_ENDPOINT if set" when the endpoint's host is unknown. */
  readonly regionNote?: string;
  /** The connector's own line for an error name (a missing resource, refused access), if it has one. */
  readonly special?: (name: string, message: string) => string | undefined;
}

/**
 * One line for the operator about a failed call: what is wrong and what to do.
 *
 * @example describeAwsError(err, { subject: "Timestream table 'metrics.views'", service: 'Timestream' }) // "no AWS region for Timestream table 'metrics.views': …"
 */
export function describeAwsError(err: unknown, wording: AwsErrorWording): string {
  const e = (err !== null && typeof err === 'object' ? err : {}) as AwsErrorLike;
  const name = String(e.name ?? 'Error');
  const message = oneLine(typeof e.message === 'string' ? e.message : String(err));
  const { subject } = wording;
  const special = wording.special?.(name, message);
  if (special !== undefined) return special;
  if (CREDENTIAL_NAMES.has(name)) return `AWS did not accept the credentials used for ${subject} (${name}: ${message}); check AWS_PROFILE, AWS_ACCESS_KEY_ID or the task role`;
  if (name === 'CredentialsProviderError') return `no AWS credentials found for ${subject}: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a task role`;
  if (/region is missing|region not accepted/i.test(message)) return `no AWS region for ${subject}: add ?region=REGION to the URL or set AWS_REGION`;
  if (RETRY_CODES.has(String(e.code))) return `cannot reach ${subject}: ${message}`;
  if (e.code === 'ENOTFOUND') {
    const host = typeof e.hostname === 'string' ? ` ${e.hostname}` : '';
    return `cannot resolve the ${wording.service} endpoint${host} for ${subject}; check the region (${wording.regionNote ?? ''}and ${AWS_ENDPOINT_ENV} if set)`;
  }
  return `${subject}: ${name}: ${message}`;
}

/**
 * The one-line `UserError` a failed call ends the run with: `description`, and how many attempts
 * were made when the failure was worth retrying.
 *
 * @example throw awsFailure(err, describeAwsError(err, wording), classifyAws(err, names) === 'retry', attempts)
 */
export function awsFailure(err: unknown, description: string, retriable: boolean, attempts: number): UserError {
  const gaveUp = retriable ? ` (gave up after ${attempts} attempts)` : '';
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${description}${gaveUp}`, { cause: err });
}

/**
 * `text` on one line: line breaks and the blanks around them become one space.
 *
 * @example oneLine('Rate\n  exceeded') // 'Rate exceeded'
 */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
