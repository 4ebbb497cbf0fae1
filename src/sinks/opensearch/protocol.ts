/**
 * What the OpenSearch sink needs from a cluster, in its own terms, so that everything but
 * `service.ts` (the only file with the client) is testable without a network.
 */

/** An error as OpenSearch reports it, in a response body or in one bulk item. */
export interface OpenSearchErrorDetail {
  readonly type: string;
  readonly reason: string;
  /** The cause's `type: reason`, when there is one (e.g. the parse error under a mapping error). */
  readonly causedBy?: string | undefined;
}

/**
 * The outcome of one action of a `_bulk` request, in request order.
 *
 * @example { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [count] of type [long]' } }
 */
export interface BulkItemResult {
  readonly status: number;
  readonly error?: OpenSearchErrorDetail | undefined;
}

/**
 * The calls the sink makes. Failures reject with {@link OpenSearchRequestError}.
 *
 * @example const service: OpenSearchService = openSearchService(endpoint, { requestTimeoutMs: 60_000 })
 * @see openSearchService
 */
export interface OpenSearchService {
  /** `HEAD /`: resolves when the cluster answered anything but an error status. */
  ping(): Promise<void>;
  /** `POST /_bulk` with an NDJSON body; one result per action, in order. */
  bulk(body: string): Promise<BulkItemResult[]>;
  close(): Promise<void>;
}

/** Why a request failed, as far as retrying it is concerned. */
export type RequestFailure =
  /** No connection, or it broke: the cluster may be restarting. */
  | 'connection'
  /** No answer within the request timeout. */
  | 'timeout'
  /** An HTTP error status (see `status`). */
  | 'response'
  /** SigV4 signing found no AWS credentials. */
  | 'credentials'
  /** Anything else: a response that is not what `_bulk` returns, a bug. */
  | 'other';

/**
 * A request that failed as a whole. `status`, `detail` for HTTP errors.
 *
 * @example new OpenSearchRequestError('response', 'Request Entity Too Large', { status: 413 })
 */
export class OpenSearchRequestError extends Error {
  override readonly name = 'OpenSearchRequestError';
  readonly status: number | undefined;
  readonly detail: OpenSearchErrorDetail | undefined;

  constructor(
    readonly failure: RequestFailure,
    message: string,
    options: { status?: number | undefined; detail?: OpenSearchErrorDetail | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.detail = options.detail;
  }
}
