/**
 * The InfluxDB sink's only network calls: one HTTP request at a time with Node's built-in
 * `fetch`, behind a narrow interface, so the rest of the sink (and its unit tests) needs no
 * network. Connection failures and timeouts reject with fetch's own errors, unchanged, for
 * `retry.ts` to classify; every HTTP answer resolves, whatever its status.
 */
import type { InfluxRequest } from './request-builder.js';

/**
 * An HTTP answer: status, the `Retry-After` header when there is one, and the body as text.
 *
 * @see InfluxService
 */
export interface InfluxResponse {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/**
 * What the sink needs from InfluxDB.
 *
 * @example const service: InfluxService = influxHttpService('http://127.0.0.1:8086', { timeoutMs: 30_000 })
 * @see influxHttpService
 */
export interface InfluxService {
  /** Sends one request; rejects only when no answer came (refused, reset, timed out). */
  send(request: InfluxRequest): Promise<InfluxResponse>;
}

/**
 * An {@link InfluxService} over `fetch` for a base URL (`http://host:port` or `https://…`).
 * Connections are kept alive between requests by fetch's own pool.
 *
 * @example await influxHttpService(endpoint.baseUrl, { timeoutMs: 30_000 }).send(writeRequest(endpoint, lines))
 * @see InfluxService
 */
export function influxHttpService(baseUrl: string, options: { readonly timeoutMs: number }): InfluxService {
  return {
    async send(request) {
      const url = new URL(request.path, baseUrl);
      for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
      const response = await fetch(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const body = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after') ?? undefined, body };
    },
  };
}
