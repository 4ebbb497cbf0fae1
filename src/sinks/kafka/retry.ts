import type { RetryPolicy } from 'cockatiel';
import { ErrorCode, UserError } from '../../core/errors.js';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { describeKafkaError } from '../../kafka/service.js';
import { backoffRetryPolicy } from '../retry.js';
import type { KafkaRetrySettings } from './config.js';
import type { EncodedRecord } from './encoder.js';
import { RECORD_BATCH_HEADER_BYTES, recordName } from './request-builder.js';

/**
 * Broker error types that no resend can fix: permissions, a record or batch the topic refuses,
 * a topic that is not there (kafkajs calls that retriable, because a new topic's metadata takes
 * a moment to spread, and its own retries already waited for that), and an idempotent
 * producer's sequence gone wrong (kafkajs cannot recover it; a fresh run starts a new producer).
 */
const FATAL_TYPES: ReadonlySet<string> = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
]);
const TOO_LARGE_TYPES: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const FATAL_NAMES: ReadonlySet<string> = new Set(['KafkaJSSASLAuthenticationError', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);
/** kafkajs's "I gave up" wrappers: the verdict is on what they wrap, not on them. */
const WRAPPERS: ReadonlySet<string> = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError', 'KafkaJSAggregateError']);

interface ErrorLike {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly retriable?: unknown;
}

/**
 * Whether a failed request is worth sending again: `retry` for a broker that is unreachable,
 * restarting, electing a leader or timing out; `fatal` for anything a resend cannot fix
 * ({@link FATAL_TYPES}) and for errors nobody marked retriable.
 *
 * @example classifyKafkaError(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError', retriable: true })) // 'retry'
 * @see kafkaRetryPolicy
 */
export function classifyKafkaError(err: unknown): 'retry' | 'fatal' {
  const chain = errorChain(err);
  if (chain.some((e) => FATAL_TYPES.has(String(e.type)) || FATAL_NAMES.has(String(e.name)))) return 'fatal';
  const inner = chain.filter((e) => !WRAPPERS.has(String(e.name)));
  return inner.some((e) => e.retriable === true) && !inner.some((e) => e.retriable === false) ? 'retry' : 'fatal';
}

/**
 * The sink's retry around one request, after kafkajs's own: up to `maxRetries` more sends of
 * retriable failures, with exponential backoff and decorrelated jitter (cockatiel's default), so
 * many Sluice tasks recovering from one broker restart do not resend in lockstep. A resend is
 * safe: the idempotent producer reuses the sequence numbers of a send that failed, so the broker
 * drops what it already has. (Only if some partitions of a request succeeded and others failed
 * does a resend duplicate the first ones; results carry deterministic ids, so that is harmless.)
 *
 * @example await kafkaRetryPolicy(config.retry).execute(() => service.send(messages))
 * @see classifyKafkaError
 */
export function kafkaRetryPolicy(settings: KafkaRetrySettings): RetryPolicy {
  return backoffRetryPolicy(settings, (err) => classifyKafkaError(err) === 'retry');
}

/**
 * The one-line `UserError` a failed request ends the run with: a refusal as too large names the
 * request's largest record; anything else is described as for any Kafka client, with how many
 * attempts were made when it was worth retrying.
 *
 * @example throw sinkError(err, endpoint, request, config.retry.maxRetries)
 */
export function sinkError(err: unknown, endpoint: KafkaEndpoint, request: readonly EncodedRecord[], maxRetries: number): UserError {
  if (err instanceof UserError) return err;
  const chain = errorChain(err);
  if (chain.some((e) => TOO_LARGE_TYPES.has(String(e.type)))) {
    const largest = request.reduce<[EncodedRecord | undefined, number]>((best, r, i) => (best[0] === undefined || r.bytes > best[0].bytes ? [r, i] : best), [undefined, 0]);
    const which = largest[0] === undefined ? '' : ` (its largest, ${recordName(largest[0], largest[1])}, is ${RECORD_BATCH_HEADER_BYTES + largest[0].bytes} bytes)`;
    return new UserError(
      ErrorCode.UNWRITABLE_OUTPUT,
      `Kafka topic '${endpoint.topic}' refused a batch as too large${which}; the topic's max.message.bytes is below the sink's batch limit — raise it`,
      { cause: err },
    );
  }
  const described = describeKafkaError(err, endpoint);
  const attempts = classifyKafkaError(err) === 'retry' ? ` (gave up after ${maxRetries + 1} attempts)` : '';
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${described.message}${attempts}`, { cause: err });
}

/** The error and everything it wraps: `cause`, kafkajs's `originalError`, aggregates' `errors`. */
function errorChain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 32) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || out.includes(e as ErrorLike)) continue;
    out.push(e as ErrorLike);
    const { cause, originalError, errors } = e as { cause?: unknown; originalError?: unknown; errors?: unknown };
    queue.push(cause, originalError);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return out;
}
