import { openOrRelease } from '../open.js';
import type { RetryPolicy } from 'cockatiel';
import type { Sink, SinkRejection, WriteResult } from '../../core/connectors.js';
import type { UserError } from '../../core/errors.js';
import { MIN_BULK_BYTES, openSearchSinkConfig, type OpenSearchSinkConfig, type OpenSearchSinkOptions } from './config.js';
import { isRejection, openSearchEncoder, type EncodedDocument } from './encoder.js';
import type { OpenSearchEndpoint } from './endpoint.js';
import { OpenSearchRequestError, type BulkItemResult, type OpenSearchService } from './protocol.js';
import { buildBulkRequests, bulkBody, latestPerDocument, requestBytes, splitInHalf } from './request-builder.js';
import { classifyItem, classifyRequestError, itemError, openSearchRetryPolicy, rejection, requestError, RetriableItems, tooLargeRejection } from './retry.js';
import { openSearchService } from './service.js';

export {
  DEFAULT_MAX_BULK_BYTES,
  DEFAULT_MAX_BULK_DOCUMENTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_BULK_BYTES,
  MAX_ID_BYTES,
  MIN_BULK_BYTES,
  openSearchSinkConfig,
  type OpenSearchRetryOptions,
  type OpenSearchSinkConfig,
  type OpenSearchSinkOptions,
} from './config.js';
export { INDEX_TIME_FIELD, openSearchEncoder, type EncodedDocument } from './encoder.js';
export { parseOpenSearchUrl, PASSWORD_ENV, USERNAME_ENV, type OpenSearchAuth, type OpenSearchEndpoint } from './endpoint.js';
export { compileIndexName, type IndexName } from './index-name.js';
export { OpenSearchRequestError };
export type { BulkItemResult, OpenSearchErrorDetail, OpenSearchService, RequestFailure } from './protocol.js';
export { buildBulkRequests, type BulkLimits } from './request-builder.js';
export { classifyItem, classifyRequestError } from './retry.js';

/**
 * Writes results to OpenSearch (`--sink opensearch://HOST:PORT/INDEX[?auth=sigv4&region=R]`) as
 * `_bulk` index actions with `_id` = the result's `id`: a replay after a restart, or a later
 * revision of a window, overwrites the document instead of adding one, so at-least-once delivery
 * ends in exactly one document per window. A dated index (`results-%Y.%m.%d`) is chosen by the
 * result's `windowStart`, in UTC.
 *
 * `write` sends the records as requests of at most `maxBatchBytes` (5 MiB by default; a 413 halves
 * it for the rest of the run) and resolves once every document is indexed, was refused for good,
 * or superseded by a later revision of the same window in the same write. Documents the cluster
 * throttled (429) or failed on (5xx) are resent alone, with backoff; documents it refused (mapping
 * conflicts and other 4xx) come back as rejections for the dead-letter output; a missing index,
 * refused credentials or a forbidden index fail the run with one line. OpenSearch cannot rewind,
 * so there is no `position`.
 *
 * @example
 * const sink = new OpenSearchSink(openSearchSinkConfig(endpoint), openSearchService(endpoint, { requestTimeoutMs: 60_000 }));
 * await sink.open(); const { rejected } = (await sink.write(results)) ?? { rejected: [] }; await sink.close();
 * @see openOpenSearchSink
 * @see KafkaSink
 */
export class OpenSearchSink implements Sink {
  readonly description: string;
  private readonly encode: (record: unknown) => EncodedDocument | SinkRejection;
  private readonly policy: RetryPolicy;
  /** The request size now: the configured one, halved by every 413. */
  private maxBatchBytes: number;
  private opening: Promise<void> | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private failure: UserError | undefined;
  private closed = false;

  constructor(
    private readonly config: OpenSearchSinkConfig,
    private readonly service: OpenSearchService,
  ) {
    this.description = `opensearch://${config.endpoint.node.replace(/^https?:\/\//, '')}/${config.endpoint.index.pattern}`;
    this.encode = openSearchEncoder(config.endpoint.index);
    this.policy = openSearchRetryPolicy(config.retry);
    this.maxBatchBytes = config.maxBatchBytes;
  }

  /** The current request size in bytes: the configured one until a 413 halved it. */
  get batchBytes(): number {
    return this.maxBatchBytes;
  }

  /**
   * Checks that the cluster answers (`HEAD /`, retried like writes) and accepts the credentials;
   * safe to call more than once. Rejects with one line when it is unreachable or answers 401.
   * Other answers pass: a user allowed to write documents may well not be allowed `HEAD /`.
   */
  open(): Promise<void> {
    this.opening ??= (async () => {
      let attempts = 0;
      try {
        await this.policy.execute(async () => {
          attempts++;
          try {
            await this.service.ping();
          } catch (err) {
            // any answer but 401 (or one worth waiting out) shows a cluster that takes the credentials
            const answered = err instanceof OpenSearchRequestError && err.failure === 'response' && err.status !== 401;
            if (!answered || classifyRequestError(err) === 'retry') throw err;
          }
        });
      } catch (err) {
        throw this.fail(requestError(err, this.config.endpoint, attempts));
      }
    })();
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void | WriteResult> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    const done = this.writing.then(() => this.send(records));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Waits for the write in flight, then closes the client's connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    await this.service.close();
  }

  private async send(records: readonly unknown[]): Promise<void | WriteResult> {
    if (this.closed) throw new Error(`${this.description} is closed`);
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    const rejected: SinkRejection[] = [];
    const docs: EncodedDocument[] = [];
    for (const record of records) {
      const encoded = this.encode(record);
      if (isRejection(encoded)) rejected.push(encoded);
      else docs.push(encoded);
    }
    await this.deliver(latestPerDocument(docs), rejected);
    return rejected.length === 0 ? undefined : { rejected };
  }

  /**
   * Sends `docs` until each is indexed or refused for good. One retry policy covers the whole
   * delivery: an attempt sends what is left, request by request; a request refused as too large is
   * split in halves on the spot; items to resend are collected and, at the end of the attempt,
   * handed back to the policy, which waits and starts the next attempt with just those.
   */
  private async deliver(docs: readonly EncodedDocument[], rejected: SinkRejection[]): Promise<void> {
    if (docs.length === 0) return;
    const { endpoint, maxBatchRecords } = this.config;
    let queue = buildBulkRequests(docs, { maxBatchBytes: this.maxBatchBytes, maxBatchRecords });
    let again: EncodedDocument[] = [];
    let attempts = 0;
    try {
      await this.policy.execute(async () => {
        attempts++;
        if (again.length > 0) {
          queue = [...buildBulkRequests(again, { maxBatchBytes: this.maxBatchBytes, maxBatchRecords }), ...queue];
          again = [];
        }
        let sample: BulkItemResult | undefined;
        while (queue.length > 0) {
          const request = queue[0] as EncodedDocument[];
          let items: BulkItemResult[];
          try {
            items = await this.service.bulk(bulkBody(request));
          } catch (err) {
            if (classifyRequestError(err) !== 'split') throw err; // the request stays first in the queue
            queue.shift();
            if (request.length === 1) {
              rejected.push(tooLargeRejection(request[0] as EncodedDocument, err as OpenSearchRequestError));
            } else {
              this.maxBatchBytes = Math.max(MIN_BULK_BYTES, Math.min(this.maxBatchBytes, Math.floor(requestBytes(request) / 2)));
              queue.unshift(...splitInHalf(request));
            }
            continue;
          }
          queue.shift();
          request.forEach((doc, i) => {
            const item = items[i] ?? { status: 500, error: { type: 'missing_item', reason: `the response had ${items.length} items for ${request.length} actions` } };
            const verdict = classifyItem(item);
            if (verdict === 'retry') {
              again.push(doc);
              sample ??= item;
            } else if (verdict === 'reject') rejected.push(rejection(doc, item));
            else if (verdict === 'fatal') throw itemError(doc, item, endpoint);
          });
        }
        if (again.length > 0) throw new RetriableItems(again.length, sample as BulkItemResult);
      });
    } catch (err) {
      throw this.fail(requestError(err, endpoint, attempts));
    }
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * Opens an OpenSearch sink eagerly: checks that the cluster answers and takes the credentials, so
 * a wrong address or refused credentials fail the run before any input is read, with one line
 * such as `cannot reach OpenSearch at http://127.0.0.1:9200: connect ECONNREFUSED 127.0.0.1:9200
 * (gave up after 6 attempts); check the host, the port, tls= and that the cluster is up`.
 *
 * @example const sink = await openOpenSearchSink(parseOpenSearchUrl('opensearch://127.0.0.1:9200/results-%Y.%m.%d', '--sink'))
 * @see parseOpenSearchUrl
 * @see openKafkaSink
 */
export async function openOpenSearchSink(endpoint: OpenSearchEndpoint, options: OpenSearchSinkOptions = {}): Promise<Sink> {
  const config = openSearchSinkConfig(endpoint, options);
  return openOrRelease(new OpenSearchSink(config, openSearchService(endpoint, { requestTimeoutMs: config.requestTimeoutMs })));
}
