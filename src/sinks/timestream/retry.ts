import type { RetryPolicy } from 'cockatiel';
import { AWS_RETRY_NAMES, awsFailure, classifyAws, describeAwsError } from '../../aws/errors.js';
import { UserError } from '../../core/errors.js';
import { backoffRetryPolicy } from '../retry.js';
import type { TimestreamEndpoint, TimestreamRetrySettings } from './config.js';

/**
 * Whether a failed WriteRecords or DescribeTable call is worth sending again: `retry` for
 * throttling, 5xx, timeouts and dropped connections; `fatal` for anything a resend cannot fix (a
 * missing database or table, refused access, a ValidationException).
 *
 * @example classifyTimestreamError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) // 'retry'
 * @see timestreamRetryPolicy
 */
export function classifyTimestreamError(err: unknown): 'retry' | 'fatal' {
  return classifyAws(err, AWS_RETRY_NAMES);
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
  return backoffRetryPolicy(settings, (err) => classifyTimestreamError(err) === 'retry');
}

/**
 * One line for the operator about a failed Timestream call: what is wrong and what to do.
 *
 * @example describeTimestreamError(notFound, endpoint) // "Timestream table 'metrics.views' in eu-west-1 does not exist (…); create it first …"
 */
export function describeTimestreamError(err: unknown, endpoint: TimestreamEndpoint): string {
  const table = `Timestream table '${endpoint.database}.${endpoint.table}'${endpoint.region === undefined ? '' : ` in ${endpoint.region}`}`;
  return describeAwsError(err, {
    subject: table,
    service: 'Timestream',
    regionNote: 'Timestream for LiveAnalytics runs in a few regions only; ',
    special: (name, message) => {
      if (name === 'ResourceNotFoundException') return `${table} does not exist (${message}); create it first (Sluice does not create databases or tables)`;
      if (name === 'AccessDeniedException') return `AWS denied access to ${table}: ${message}; grant timestream:WriteRecords, timestream:DescribeTable and timestream:DescribeEndpoints`;
      if (name === 'ValidationException') return `${table} refused a write as invalid (${message}); check the sink's mapping`;
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
export function sinkError(err: unknown, endpoint: TimestreamEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  return awsFailure(err, describeTimestreamError(err, endpoint), classifyTimestreamError(err) === 'retry', attempts);
}
