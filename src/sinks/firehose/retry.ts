import type { RetryPolicy } from 'cockatiel';
import { AWS_RETRY_NAMES, awsFailure, classifyAws, describeAwsError, oneLine } from '../../aws/errors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { backoffRetryPolicy } from '../retry.js';
import type { FirehoseEndpoint, FirehoseRetrySettings } from './config.js';
import type { FailedPut } from './service.js';

/**
 * Error names that mean "not now": those of every AWS service, and Firehose's own ways of saying
 * it (a call over its rate answers ServiceUnavailableException, DescribeDeliveryStream
 * LimitExceededException).
 */
const RETRY_NAMES: ReadonlySet<string> = new Set([...AWS_RETRY_NAMES, 'LimitExceededException', 'InternalError']);

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
  return classifyAws(err, RETRY_NAMES);
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
  return backoffRetryPolicy(settings, (err) => err instanceof PartialFailure || classifyAwsError(err) === 'retry');
}

/**
 * One line for the operator about a failed Firehose call: what is wrong and what to do.
 *
 * @example describeFirehoseError(notFound, endpoint) // "Firehose delivery stream 'results' does not exist in eu-west-1; create it first …"
 */
export function describeFirehoseError(err: unknown, endpoint: FirehoseEndpoint): string {
  const stream = `Firehose delivery stream '${endpoint.deliveryStream}'${endpoint.region === undefined ? '' : ` in ${endpoint.region}`}`;
  return describeAwsError(err, {
    subject: stream,
    service: 'Firehose',
    special: (name, message) => {
      if (name === 'ResourceNotFoundException') return `${stream} does not exist; create it first (Sluice does not create delivery streams)`;
      if (name === 'AccessDeniedException') return `AWS denied access to ${stream}: ${message}; grant firehose:PutRecordBatch and firehose:DescribeDeliveryStream on it`;
      return undefined;
    },
  });
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
  return awsFailure(err, describeFirehoseError(err, endpoint), classifyAwsError(err) === 'retry', attempts);
}
