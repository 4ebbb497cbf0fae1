import type { RetryPolicy } from 'cockatiel';
import type { SinkRejection } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { backoffRetryPolicy } from '../retry.js';
import type { OpenSearchRetrySettings } from './config.js';
import type { EncodedDocument } from './encoder.js';
import { PASSWORD_ENV, USERNAME_ENV, type OpenSearchEndpoint } from './endpoint.js';
import { OpenSearchRequestError, type BulkItemResult, type OpenSearchErrorDetail } from './protocol.js';
import { documentName } from './request-builder.js';

/** Error types of a document the index will never take as it is: its fields do not fit the mapping. */
const MAPPING_TYPES = /mapp|pars|strict_dynamic|illegal_argument|document_/;
/** A reason longer than this is cut: some (thread-pool rejections) run to a kilobyte. */
const MAX_REASON_CHARS = 400;

/**
 * What to do about a request that failed as a whole: `retry` when the cluster may be there in a
 * moment (no connection, timeout, 429, 5xx), `split` for 413 (too large: send it in halves), and
 * `fatal` for what no resend fixes (credentials, permissions, a request it cannot parse).
 *
 * @example classifyRequestError(new OpenSearchRequestError('response', '429 …', { status: 429 })) // 'retry'
 * @see classifyItem
 */
export function classifyRequestError(err: unknown): 'retry' | 'split' | 'fatal' {
  if (err instanceof RetriableItems) return 'retry';
  if (!(err instanceof OpenSearchRequestError)) return 'fatal';
  if (err.failure === 'connection' || err.failure === 'timeout') return 'retry';
  if (err.failure !== 'response' || err.status === undefined) return 'fatal';
  if (err.status === 413) return 'split';
  return err.status === 429 || err.status >= 500 ? 'retry' : 'fatal';
}

/**
 * What to do about one item of a `_bulk` response: `ok`; `retry` for 429 (a full write queue) and
 * 5xx (a shard failed or moved); `fatal` for 401/403 (credentials, permissions, a read-only index)
 * and 404 (the index does not exist and will not be created), which hit every document alike; and
 * `reject` for the rest (mapping conflicts, unparsable fields and other 4xx), which only this
 * document's content causes: it goes to the dead-letter output.
 *
 * @example classifyItem({ status: 400, error: { type: 'mapper_parsing_exception', reason: '…' } }) // 'reject'
 */
export function classifyItem(item: BulkItemResult): 'ok' | 'retry' | 'reject' | 'fatal' {
  if (item.status >= 200 && item.status < 300) return 'ok';
  if (item.status === 429 || item.status >= 500) return 'retry';
  if (item.status === 401 || item.status === 403 || item.status === 404) return 'fatal';
  return 'reject';
}

/**
 * Thrown inside the retry policy when some items of a response asked to be sent again: the policy
 * waits and the sink resends only those.
 *
 * @example throw new RetriableItems(again.length, firstThrottledItem)
 */
export class RetriableItems extends Error {
  override readonly name = 'RetriableItems';
  constructor(
    readonly count: number,
    readonly sample: BulkItemResult,
  ) {
    super(`${count} documents failed with ${describeDetail(sample.status, sample.error)}`);
  }
}

/**
 * The sink's retry around each request: `maxRetries` more attempts of whole requests that failed
 * retriably and of the items a response reported as 429 or 5xx, with exponential backoff and
 * decorrelated jitter (cockatiel's default), so many tasks recovering from one overloaded cluster
 * do not resend in lockstep. Resending is safe: an `index` action with a fixed `_id` leaves the
 * same document however often it runs.
 *
 * @example await openSearchRetryPolicy(config.retry).execute(() => send())
 * @see classifyRequestError
 */
export function openSearchRetryPolicy(settings: OpenSearchRetrySettings): RetryPolicy {
  return backoffRetryPolicy(settings, (err) => classifyRequestError(err) === 'retry');
}

/**
 * A document the cluster refused for good, as the dead-letter entry's code and reason: mapping
 * and parse errors are `BAD_FIELD`, a document too large even alone `RECORD_TOO_LARGE`, anything
 * else `VALIDATION_FAILED`; the reason quotes OpenSearch's status, error type and reason.
 *
 * @example rejection(doc, { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [count] of type [long]' } })
 */
export function rejection(doc: EncodedDocument, item: BulkItemResult): SinkRejection {
  const code = item.status === 413 ? ErrorCode.RECORD_TOO_LARGE : MAPPING_TYPES.test(item.error?.type ?? '') ? ErrorCode.BAD_FIELD : ErrorCode.VALIDATION_FAILED;
  return { record: doc.record, code, reason: `OpenSearch index '${doc.index}' refused the document (${describeDetail(item.status, item.error)})` };
}

/**
 * The rejection of a single document the cluster answered 413 for: no smaller request exists.
 *
 * @example rejected.push(tooLargeRejection(request[0], err))
 */
export function tooLargeRejection(doc: EncodedDocument, err: OpenSearchRequestError): SinkRejection {
  return {
    record: doc.record,
    code: ErrorCode.RECORD_TOO_LARGE,
    reason: `OpenSearch refused ${documentName(doc)} (${doc.bytes} bytes as a bulk action) as too large even alone (${oneLine(err.message)}); the cluster's http.max_content_length or instance type limits requests below that`,
  };
}

/**
 * The one-line `UserError` an item that no resend or dead letter can deal with ends the run with:
 * a missing index, refused credentials, a forbidden or read-only index.
 *
 * @example throw itemError(doc, { status: 404, error: { type: 'index_not_found_exception', reason: 'no such index [results]' } }, endpoint)
 */
export function itemError(doc: EncodedDocument, item: BulkItemResult, endpoint: OpenSearchEndpoint): UserError {
  const what = describeDetail(item.status, item.error);
  const where = `OpenSearch at ${endpoint.node}`;
  if (item.status === 404) {
    return new UserError(
      ErrorCode.UNWRITABLE_OUTPUT,
      `${where} has no index '${doc.index}' and does not create indexes on write (${what}); create the index or allow action.auto_create_index for it`,
    );
  }
  if (item.status === 401) return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} rejected the credentials (${what}); ${credentialAdvice(endpoint)}`);
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} does not allow writing to index '${doc.index}' (${what}); ${permissionAdvice(endpoint)}`);
}

/**
 * The one-line `UserError` for a request that failed as a whole and will not be (or no longer is)
 * retried. `attempts` is how many were made, for failures worth retrying.
 *
 * @example throw requestError(err, endpoint, 6)
 */
export function requestError(err: unknown, endpoint: OpenSearchEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  const where = `OpenSearch at ${endpoint.node}`;
  const tried = classifyRequestError(err) === 'retry' ? ` (gave up after ${attempts} attempts)` : '';
  if (err instanceof RetriableItems) {
    return new UserError(
      ErrorCode.UNWRITABLE_OUTPUT,
      `${where} kept refusing ${err.count} documents with ${describeDetail(err.sample.status, err.sample.error)}${tried}; the cluster is overloaded or unhealthy — scale it or slow the pipeline`,
      { cause: err },
    );
  }
  if (!(err instanceof OpenSearchRequestError)) {
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where}: ${oneLine(err instanceof Error ? err.message : String(err))}`, { cause: err });
  }
  const message = oneLine(err.message);
  switch (err.failure) {
    case 'connection':
      return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot reach ${where}: ${message}${tried}; check the host, the port, tls= and that the cluster is up`, { cause: err });
    case 'timeout':
      return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} did not answer in time (${message})${tried}`, { cause: err });
    case 'credentials':
      return new UserError(
        ErrorCode.UNWRITABLE_OUTPUT,
        `no AWS credentials to sign requests to ${where} (${message}); provide them as for the AWS CLI: environment, profile or SSO, or the ECS task or EC2 instance role`,
        { cause: err },
      );
    case 'response':
      if (err.status === 401) return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} rejected the credentials (${message}); ${credentialAdvice(endpoint)}`, { cause: err });
      if (err.status === 403) {
        return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} does not allow writing to index '${endpoint.index.pattern}' (${message}); ${permissionAdvice(endpoint)}`, { cause: err });
      }
      return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where} refused the request (${message})${tried}`, { cause: err });
    default:
      return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${where}: ${message}`, { cause: err });
  }
}

function credentialAdvice(endpoint: OpenSearchEndpoint): string {
  const { auth } = endpoint;
  if (auth.kind === 'basic') return `check ${USERNAME_ENV} ('${auth.username}') and ${PASSWORD_ENV}`;
  if (auth.kind === 'sigv4') return `check the AWS credentials, the region (${auth.region}) and the service (${auth.service})`;
  return `the cluster wants credentials: set ${USERNAME_ENV} and ${PASSWORD_ENV}, or add ?auth=sigv4&region=… for Amazon OpenSearch Service`;
}

function permissionAdvice(endpoint: OpenSearchEndpoint): string {
  return endpoint.auth.kind === 'sigv4'
    ? 'allow the IAM identity es:ESHttpPost on the domain (aoss:APIAccessAll and a data access policy with aoss:WriteDocument and aoss:CreateIndex for Serverless)'
    : 'grant the user the index permissions indices:data/write/bulk* and indices:data/write/index (and indices:admin/create for new indexes), or lift a read-only block';
}

/** `STATUS type: reason; caused by …`, on one line and of bounded length. */
function describeDetail(status: number, detail: OpenSearchErrorDetail | undefined): string {
  if (detail === undefined) return `status ${status}`;
  const cause = detail.causedBy === undefined ? '' : `; caused by ${detail.causedBy}`;
  return `${status} ${detail.type}: ${oneLine(detail.reason + cause)}`;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS)}…` : line;
}
