import type { RetryPolicy } from 'cockatiel';
import { AWS_RETRY_NAMES, awsFailure, classifyAws, describeAwsError, oneLine } from '../../aws/errors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { backoffRetryPolicy } from '../retry.js';
import type { KinesisEndpoint, KinesisRetrySettings } from './config.js';

/**
 * Error names that mean "not now": those of every AWS service, and Kinesis's own ways of saying
 * it (a shard over its write rate, a KMS key over its rate, control-plane calls over theirs).
 */
const RETRY_NAMES: ReadonlySet<string> = new Set([...AWS_RETRY_NAMES, 'ProvisionedThroughputExceededException', 'KMSThrottlingException', 'LimitExceededException']);

/** A record of a PutRecords call that Kinesis did not take, by its place in the call. */
export interface FailedPut {
  readonly index: number;
  /** Kinesis's per-record ErrorCode: `ProvisionedThroughputExceededException` or `InternalFailure`. */
  readonly code: string;
  readonly message: string;
}

/**
 * Some records of a PutRecords call were not taken (FailedRecordCount > 0). Thrown inside the
 * retry policy so that only those records are sent again, after a backoff.
 */
export class PartialFailure extends Error {
  override readonly name = 'PartialFailure';
  constructor(readonly failed: readonly FailedPut[]) {
    const first = failed[0];
    super(`${failed.length} records failed${first === undefined ? '' : ` (${first.code}: ${first.message})`}`);
  }

  /** Whether the records failed because their shards were over their write rate. */
  get throttled(): boolean {
    return this.failed.some((f) => f.code === 'ProvisionedThroughputExceededException');
  }
}

/**
 * Whether a failed call is worth sending again: `retry` for throttling, 5xx, timeouts and
 * dropped connections; `fatal` for anything a resend cannot fix (a missing stream, refused
 * access, a disabled KMS key, bad credentials or arguments).
 *
 * @example classifyKinesisError(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' })) // 'retry'
 * @see kinesisRetryPolicy
 */
export function classifyKinesisError(err: unknown): 'retry' | 'fatal' {
  return classifyAws(err, RETRY_NAMES);
}

/**
 * The retry around one PutRecords call: up to `maxRetries` more attempts of calls that failed for
 * a passing reason, and of the records a partly failed call did not take ({@link PartialFailure}),
 * with exponential backoff and decorrelated jitter so many tasks throttled together do not come
 * back in lockstep.
 *
 * @example await kinesisRetryPolicy(config.retry).execute(() => putPending())
 * @see classifyKinesisError
 */
export function kinesisRetryPolicy(settings: KinesisRetrySettings): RetryPolicy {
  return backoffRetryPolicy(settings, (err) => err instanceof PartialFailure || classifyKinesisError(err) === 'retry');
}

/**
 * One line for the operator about a failed Kinesis call: what is wrong and what to do.
 *
 * @example describeKinesisError(notFound, endpoint) // "Kinesis stream 'results' in eu-west-1 does not exist; create it first …"
 */
export function describeKinesisError(err: unknown, endpoint: KinesisEndpoint): string {
  const stream = streamName(endpoint);
  return describeAwsError(err, {
    subject: stream,
    service: 'Kinesis',
    regionNote: '?endpoint=, SLUICE_KINESIS_ENDPOINT ',
    special: (name, message) => {
      if (name === 'ResourceNotFoundException') {
        return `${stream} does not exist; create it first, e.g. aws kinesis create-stream --stream-name ${endpoint.stream} --shard-count 1 (Sluice does not create streams)`;
      }
      if (name === 'AccessDeniedException') return `AWS denied access to ${stream}: ${message}; grant kinesis:PutRecords, kinesis:DescribeStreamSummary and kinesis:ListShards on it`;
      if (name.startsWith('KMS')) return `${stream} is encrypted with a KMS key that refused the write (${name}: ${message}); check the key and the kms:GenerateDataKey grant`;
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
export function sinkError(err: unknown, endpoint: KinesisEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  if (err instanceof PartialFailure) {
    const first = err.failed[0];
    const last = first === undefined ? '' : `; last error ${first.code}: ${oneLine(first.message)}`;
    const hint = err.throttled ? ' (its shards are over their write rate: add shards or slow the input)' : '';
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${streamName(endpoint)} still refused ${err.failed.length} records after ${attempts} attempts${hint}${last}`, { cause: err });
  }
  return awsFailure(err, describeKinesisError(err, endpoint), classifyKinesisError(err) === 'retry', attempts);
}

function streamName(endpoint: KinesisEndpoint): string {
  return `Kinesis stream '${endpoint.stream}'${endpoint.region === undefined ? '' : ` in ${endpoint.region}`}`;
}
