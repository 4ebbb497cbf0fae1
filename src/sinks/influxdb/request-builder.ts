import type { InfluxLine } from './encoder.js';
import type { InfluxEndpoint } from './endpoint.js';

/**
 * Limits of one write request.
 *
 * @example { maxBatchLines: 5000, maxBatchBytes: 10_000_000 }
 * @see buildBatches
 */
export interface BatchLimits {
  readonly maxBatchLines: number;
  /** Bytes of the body: every line with its newline. */
  readonly maxBatchBytes: number;
}

/**
 * Splits one write's lines into request bodies, in order, each within both limits. A line larger
 * than `maxBatchBytes` on its own travels alone: whether it is too large is the server's call
 * (413), and then only that result is refused.
 *
 * @example buildBatches(lines, { maxBatchLines: 5000, maxBatchBytes: 10_000_000 })
 * @see writeRequest
 */
export function buildBatches(lines: readonly InfluxLine[], limits: BatchLimits): InfluxLine[][] {
  const batches: InfluxLine[][] = [];
  let current: InfluxLine[] = [];
  let bytes = 0;
  for (const line of lines) {
    if (current.length > 0 && (current.length >= limits.maxBatchLines || bytes + line.bytes > limits.maxBatchBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(line);
    bytes += line.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * One HTTP request to InfluxDB, independent of any HTTP client: what the service sends.
 *
 * @see writeRequest
 */
export interface InfluxRequest {
  readonly method: 'POST';
  /** `/api/v2/write` or `/write`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case. The authorization header carries a credential: never log it. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The write request for some lines (none: an empty write, which the sink sends at start-up to
 * check address, credentials and bucket at once, since InfluxDB checks those before the body).
 *
 * - v2: `POST /api/v2/write?org=O&bucket=B&precision=ms`, `Authorization: Token T`
 * - v1: `POST /write?db=DB&precision=ms`, `Authorization: Basic …` when a user is set
 *
 * @example writeRequest(parseInfluxUrl('influxdb://h:8086/metrics?org=acme', '--sink'), lines).path // '/api/v2/write'
 * @see buildBatches
 */
export function writeRequest(endpoint: InfluxEndpoint, lines: readonly InfluxLine[]): InfluxRequest {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', accept: 'application/json' };
  const { auth } = endpoint;
  if (auth.kind === 'token') headers['authorization'] = `Token ${auth.token.reveal()}`;
  if (auth.kind === 'basic') headers['authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`, 'utf8').toString('base64')}`;
  const body = lines.length === 0 ? '' : `${lines.map((line) => line.text).join('\n')}\n`;
  if (endpoint.api === 'v2') {
    return { method: 'POST', path: '/api/v2/write', query: { org: endpoint.org ?? '', bucket: endpoint.bucket, precision: 'ms' }, headers, body };
  }
  return { method: 'POST', path: '/write', query: { db: endpoint.bucket, precision: 'ms' }, headers, body };
}
