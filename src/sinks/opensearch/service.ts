/**
 * The OpenSearch sink's only calls to a cluster: the official client behind the narrow
 * {@link OpenSearchService} interface, with its errors translated into
 * {@link OpenSearchRequestError} so the retry logic never sees client classes.
 */
import { STATUS_CODES } from 'node:http';
import { Client, errors, type ClientOptions } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import type { OpenSearchEndpoint } from './endpoint.js';
import { OpenSearchRequestError, type BulkItemResult, type OpenSearchErrorDetail, type OpenSearchService } from './protocol.js';

/**
 * What a `_bulk` response needs to carry back: per item its status and error, nothing of the
 * successful ones' metadata (shards, versions), which is most of a large response.
 */
const BULK_FILTER_PATH = 'errors,items.*.status,items.*.error';

/**
 * The client for an endpoint: basic auth from the endpoint (never logged: the client keeps it out
 * of the node URL and its errors), or SigV4 signing with the default AWS credential chain
 * (environment, shared config and SSO, web identity, the ECS task or EC2 instance role), fetched
 * once and refreshed before it expires. The client's own retries are off: they resend at once,
 * while the sink's policy backs off with jitter and also retries single bulk items.
 *
 * @example const service = openSearchService(parseOpenSearchUrl('opensearch://127.0.0.1:9200/results', '--sink'), { requestTimeoutMs: 60_000 })
 * @see OpenSearchService
 */
export function openSearchService(endpoint: OpenSearchEndpoint, options: { requestTimeoutMs: number }): OpenSearchService {
  const { auth } = endpoint;
  const clientOptions: ClientOptions = {
    node: endpoint.node,
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs,
    // one node behind one address: nothing to resurrect, and no pings the sink did not ask for
    resurrectStrategy: 'none',
    ...(auth.kind === 'basic' ? { auth: { username: auth.username, password: auth.password } } : {}),
    ...(auth.kind === 'sigv4' ? AwsSigv4Signer({ region: auth.region, service: auth.service }) : {}),
  };
  const client = new Client(clientOptions);
  return {
    async ping() {
      try {
        await client.transport.request({ method: 'HEAD', path: '/' });
      } catch (err) {
        throw translate(err, endpoint);
      }
    },
    async bulk(body) {
      let response: { body: unknown };
      try {
        response = await client.transport.request({ method: 'POST', path: '/_bulk', querystring: { filter_path: BULK_FILTER_PATH }, bulkBody: body });
      } catch (err) {
        throw translate(err, endpoint);
      }
      return bulkItems(response.body);
    },
    close: () => client.close(),
  };
}

/**
 * Each item's status and error, in request order, from a `_bulk` response body (as filtered by
 * {@link BULK_FILTER_PATH}). Throws an `other` error for a body of any other shape.
 *
 * @example bulkItems({ errors: false, items: [{ index: { status: 201 } }] }) // [{ status: 201 }]
 */
export function bulkItems(body: unknown): BulkItemResult[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new OpenSearchRequestError('other', `unexpected _bulk response: ${String(JSON.stringify(body)).slice(0, 200)}`);
  return items.map((entry: unknown) => {
    const result = entry !== null && typeof entry === 'object' ? (Object.values(entry)[0] as { status?: unknown; error?: unknown } | undefined) : undefined;
    if (result === undefined || typeof result.status !== 'number') {
      throw new OpenSearchRequestError('other', `unexpected _bulk response item: ${String(JSON.stringify(entry)).slice(0, 200)}`);
    }
    const error = errorDetail(result.error);
    return error === undefined ? { status: result.status } : { status: result.status, error };
  });
}

/** OpenSearch's `{ type, reason, caused_by }`, AWS's `{ message }` / `{ Message }`, or plain text. */
function errorDetail(error: unknown): OpenSearchErrorDetail | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'string') return { type: 'error', reason: error };
  if (typeof error !== 'object') return { type: 'error', reason: String(error) };
  const e = error as { type?: unknown; reason?: unknown; caused_by?: unknown; message?: unknown; Message?: unknown; error?: unknown };
  if (e.error !== undefined) return errorDetail(e.error);
  const reason = typeof e.reason === 'string' ? e.reason : typeof e.message === 'string' ? e.message : typeof e.Message === 'string' ? e.Message : JSON.stringify(error);
  const cause = e.caused_by === undefined ? undefined : errorDetail(e.caused_by);
  return { type: typeof e.type === 'string' ? e.type : 'error', reason, causedBy: cause === undefined ? undefined : `${cause.type}: ${cause.reason}` };
}

function translate(err: unknown, endpoint: OpenSearchEndpoint): OpenSearchRequestError {
  if (err instanceof errors.ResponseError) {
    // HEAD answers and some proxies' (and OpenSearch's own 413) have no body to quote
    const parsed = errorDetail(err.body);
    const detail = parsed === undefined || parsed.reason === '' ? { type: 'http_error', reason: STATUS_CODES[err.statusCode] ?? `HTTP ${err.statusCode}` } : parsed;
    return new OpenSearchRequestError('response', `${err.statusCode} ${detail.type}: ${detail.reason}`, { status: err.statusCode, detail, cause: err });
  }
  if (err instanceof errors.TimeoutError) return new OpenSearchRequestError('timeout', err.message, { cause: err });
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError) {
    // the client's messages for a refused connection are the socket error's, e.g. "connect ECONNREFUSED 127.0.0.1:9200"
    return new OpenSearchRequestError('connection', err.message, { cause: err });
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'CredentialsProviderError' || name === 'AwsSigv4SignerError') {
    return new OpenSearchRequestError('credentials', (err as Error).message, { cause: err });
  }
  return new OpenSearchRequestError('other', `request to ${endpoint.node} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
