/**
 * What the InfluxDB sink does with each answer: retry the request (throttling, server errors,
 * no answer), find and refuse the lines InfluxDB will never take, or fail the run with one line.
 *
 * How InfluxDB reports lines it refuses, which decides how they are found:
 * - 1.x answers 400 `{"error":"partial write: field type conflict: input field \"f\" on
 *   measurement \"m\" is type string, already exists as type float dropped=2"}` and stores the
 *   other points; lines it cannot parse are named (`unable to parse '<line>': …`), but a type
 *   conflict names only the first field and the count. A conflict among new fields of one batch
 *   can fail the whole batch instead (400 `field type conflict`, nothing stored).
 * - 2.x (and Timestream for InfluxDB) answers 422 `{"code":"unprocessable entity","message":
 *   "failure writing points to database: partial write: … dropped=N"}` with the others stored,
 *   and 400 `{"code":"invalid","message":"unable to parse …"}` storing nothing.
 * - 3.x answers 400 `{"error":"partial write of line protocol occurred","data":[{line_number,
 *   error_message…}]}`.
 *
 * Since only some of these say which lines failed, and some store the rest while others store
 * nothing, the sink bisects: a batch refused for its lines is split in two and each half sent
 * again, in order, until every half is either stored (204) or a single line that InfluxDB
 * refuses — that result is dead-lettered with InfluxDB's own message. Resending lines InfluxDB
 * already stored is harmless (a point with the same measurement, tags and time is overwritten
 * with the same values), and because halves go in their original order, the last revision of a
 * window in the batch is also the last one written. One bad line in 5,000 costs about
 * 2·log2(5000) ≈ 26 requests; when the answer says every line was dropped (`dropped=N` for a
 * batch of N), all are refused at once with that message instead.
 *
 * @module
 */
import type { IBackoff, IBackoffFactory, IRetryBackoffContext, RetryPolicy } from 'cockatiel';
import type { SinkRejection } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { backoffRetryPolicy } from '../retry.js';
import { MAX_RETRY_AFTER_MS, type InfluxRetrySettings } from './config.js';
import type { InfluxLine } from './encoder.js';
import { INFLUXDB_ENV, type InfluxEndpoint } from './endpoint.js';
import type { InfluxResponse } from './service.js';

/** Longest server message quoted in a reason or an error. */
const MAX_MESSAGE_CHARS = 500;

/**
 * What an answer means for the request:
 * - `stored`: every line is stored;
 * - `retry`: nothing to blame on the lines (throttled, server trouble): send it again later;
 * - `lines`: InfluxDB refused some lines for good (`allDropped`: every line of the request);
 * - `too-large`: the body is over the server's limit (413);
 * - `fatal`: a resend cannot help (credentials, a missing bucket, a request InfluxDB does not
 *   understand).
 */
export type Verdict =
  | { readonly kind: 'stored' }
  | { readonly kind: 'retry'; readonly status: number; readonly message: string; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'lines'; readonly message: string; readonly allDropped: boolean }
  | { readonly kind: 'too-large'; readonly message: string }
  | { readonly kind: 'fatal'; readonly status: number; readonly message: string };

/** 400 messages that blame lines, not the request (1.x, 2.x and 3.x wordings). */
const LINE_PROBLEM =
  /partial write|unable to parse|parsing failed|field type conflict|invalid field|invalid tag|invalid number|invalid boolean|bad timestamp|time outside range|beyond retention|outside retention|max-values-per-tag|max series|line protocol/i;

/**
 * Classifies one answer to a write request of `lines` lines.
 *
 * @example classifyResponse({ status: 422, retryAfter: undefined, body: '{"code":"unprocessable entity","message":"… dropped=1"}' }, 3).kind // 'lines'
 * @see deliver
 */
export function classifyResponse(response: InfluxResponse, lines: number): Verdict {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'stored' };
  const message = serverMessage(response.body, status);
  if (status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505)) {
    return { kind: 'retry', status, message, retryAfterMs: retryAfterMs(response.retryAfter) };
  }
  if (status === 413) return { kind: 'too-large', message };
  if (status === 422 || (status === 400 && LINE_PROBLEM.test(message))) {
    const dropped = /dropped=(\d+)/.exec(message)?.[1];
    return { kind: 'lines', message, allDropped: dropped !== undefined && Number(dropped) >= lines && lines > 0 };
  }
  return { kind: 'fatal', status, message };
}

/**
 * The server's own words from an error body: 1.x's `error`, 2.x's `message`, 3.x's `error` with
 * the first line's `error_message`, else the text itself; on one line, shortened.
 *
 * @example serverMessage('{"error":"database not found: \\"x\\""}', 404) // 'database not found: "x"'
 */
export function serverMessage(body: string, status: number): string {
  let text = body.trim();
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown; data?: unknown };
    const first = Array.isArray(json.data) ? (json.data[0] as { error_message?: unknown; line_number?: unknown } | undefined) : undefined;
    const main = typeof json.message === 'string' ? json.message : typeof json.error === 'string' ? json.error : undefined;
    if (main !== undefined) {
      text = typeof first?.error_message === 'string' ? `${main}: ${first.error_message}${typeof first.line_number === 'number' ? ` (line ${first.line_number})` : ''}` : main;
    }
  } catch {
    // not JSON: a proxy's page, or a plain-text 404
  }
  if (text === '') text = `HTTP ${status}`;
  const line = text.replace(/\s*\n\s*/g, '; ');
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS)}…` : line;
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds or an HTTP date; undefined when absent
 * or unreadable.
 *
 * @example retryAfterMs('3') // 3000
 */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** An answer worth another attempt, thrown inside the retry policy. */
export class RetriableAnswer extends Error {
  override readonly name = 'RetriableAnswer';
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}: ${serverMessage}`);
  }
}

/** Connection-level failures that may pass: refused, reset, unreachable, timed out. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface ErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/**
 * Whether a request that got no answer is worth sending again: yes for connection failures and
 * timeouts, no for TLS trouble (a certificate the runtime does not trust, TLS to a plain-HTTP
 * port) and for anything that is not a network error at all.
 *
 * @example classifyNetworkError(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) })) // 'retry'
 */
export function classifyNetworkError(err: unknown): 'retry' | 'fatal' {
  if (err instanceof RetriableAnswer) return 'retry';
  const chain = errorChain(err);
  if (chain.some((e) => isTlsCode(e.code))) return 'fatal';
  if (chain.some((e) => NETWORK_CODES.has(String(e.code)) || e.name === 'TimeoutError')) return 'retry';
  // undici wraps every failure to get an answer in "fetch failed"; its causes vary by version
  return chain[0]?.name === 'TypeError' && chain[0].message === 'fetch failed' && chain.length > 1 ? 'retry' : 'fatal';
}

function isTlsCode(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  return code === 'EPROTO' || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}

/**
 * Backoff that waits as long as the exponential backoff with decorrelated jitter says, or as the
 * server's `Retry-After` asks (capped at {@link MAX_RETRY_AFTER_MS}), whichever is longer.
 */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked = error instanceof RetriableAnswer && error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
    return { duration: Math.max(step.duration, asked), next: (c) => new RetryAfterBackoff(step).next(c) };
  }
}

/**
 * The sink's retry around one request: up to `maxRetries` more sends of answers worth retrying
 * ({@link RetriableAnswer}) and of requests that got no answer, with exponential backoff and
 * decorrelated jitter (so many Sluice tasks recovering from one outage do not resend in
 * lockstep), honouring `Retry-After`. A resend is safe: writing the same points again stores
 * nothing new.
 *
 * @example await influxRetryPolicy(config.retry).execute(() => sendOnce(lines))
 * @see classifyNetworkError
 */
export function influxRetryPolicy(settings: InfluxRetrySettings): RetryPolicy {
  return backoffRetryPolicy(settings, (err) => classifyNetworkError(err) === 'retry', { adjust: (exponential) => new RetryAfterBackoff(exponential) });
}

/**
 * Sends `lines` with `send` (one request, already wrapped in the retry policy, resolving with
 * the answer that ended the retries) and resolves with the lines InfluxDB refused for good; see
 * the module comment for how they are found. Rejects with the run-ending `UserError` for answers
 * no resend can fix.
 *
 * @example const refused = await deliver(batch, (lines) => policy.execute(() => sendOnce(lines)), endpoint)
 * @see classifyResponse
 */
export async function deliver(
  lines: readonly InfluxLine[],
  send: (lines: readonly InfluxLine[]) => Promise<InfluxResponse>,
  endpoint: InfluxEndpoint,
): Promise<SinkRejection[]> {
  const verdict = classifyResponse(await send(lines), lines.length);
  switch (verdict.kind) {
    case 'stored':
      return [];
    case 'lines':
      if (lines.length === 1 || verdict.allDropped) return lines.map((line) => ({ record: line.record, code: ErrorCode.BAD_FIELD, reason: verdict.message }));
      break;
    case 'too-large':
      if (lines.length === 1) {
        const only = lines[0] as InfluxLine;
        return [{ record: only.record, code: ErrorCode.RECORD_TOO_LARGE, reason: `${verdict.message} (a line of ${only.bytes} bytes)` }];
      }
      break;
    case 'retry':
      // the policy gave these up already; only a policy that lets them through ends up here
      throw failure(new RetriableAnswer(verdict.status, verdict.message, verdict.retryAfterMs), endpoint, 1);
    case 'fatal':
      throw fatalAnswer(verdict.status, verdict.message, endpoint);
  }
  const middle = Math.ceil(lines.length / 2);
  const first = await deliver(lines.slice(0, middle), send, endpoint);
  const second = await deliver(lines.slice(middle), send, endpoint);
  return [...first, ...second];
}

/** Throws a {@link RetriableAnswer} for answers worth another attempt; passes the others on. */
export function throwIfRetriable(response: InfluxResponse): InfluxResponse {
  const verdict = classifyResponse(response, 0);
  if (verdict.kind === 'retry') throw new RetriableAnswer(verdict.status, verdict.message, verdict.retryAfterMs);
  return response;
}

/**
 * The one-line `UserError` for an answer no resend can fix: refused credentials (401), no write
 * permission (403), a missing database, bucket or organization (404), anything else refused.
 *
 * @example fatalAnswer(404, 'database not found: "x"', endpoint).message // "InfluxDB database 'x' does not exist on 127.0.0.1:8086 …"
 */
export function fatalAnswer(status: number, message: string, endpoint: InfluxEndpoint): UserError {
  const at = `InfluxDB at ${endpoint.address}`;
  const said = `(HTTP ${status}: ${message})`;
  const v1 = endpoint.api === 'v1';
  const credentials = v1 ? `${INFLUXDB_ENV.username} and ${INFLUXDB_ENV.password}` : INFLUXDB_ENV.token;
  let text: string;
  if (status === 401) {
    text =
      endpoint.auth.kind === 'none'
        ? `${at} requires authentication ${said}; set ${credentials}`
        : `${at} rejected the credentials ${said}; check ${credentials}`;
  } else if (status === 403) {
    const who = endpoint.auth.kind === 'basic' ? `user '${endpoint.auth.username}'` : 'the API token';
    text = `${at} does not let ${who} write to ${v1 ? 'database' : 'bucket'} '${endpoint.bucket}' ${said}; grant write access or use other credentials`;
  } else if (status === 404 && v1 && /database not found/i.test(message)) {
    text = `InfluxDB database '${endpoint.bucket}' does not exist on ${endpoint.address} ${said}; create it first (CREATE DATABASE "${endpoint.bucket}")`;
  } else if (status === 404 && /bucket|organization|org /i.test(message)) {
    text = `${at}: ${message} (HTTP 404); create it first, or fix the bucket or org= in the URL`;
  } else if (status === 404) {
    const hint = v1 ? 'is it an InfluxDB server? InfluxDB 2.x and Timestream for InfluxDB take api=v2' : 'an InfluxDB 1.x server needs ?api=v1';
    text = `${at} has no ${v1 ? '/write' : '/api/v2/write'} ${said}; ${hint}`;
  } else {
    text = `${at} refused the write ${said}`;
  }
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, text);
}

/**
 * The one-line `UserError` for a request that never got a usable answer, after `attempts`
 * attempts: unreachable, timed out, a TLS failure, or still throttled or failing.
 *
 * @example failure(err, endpoint, 6).message // 'InfluxDB at 127.0.0.1:9 is unreachable: connect ECONNREFUSED 127.0.0.1:9 (gave up after 6 attempts); …'
 */
export function failure(err: unknown, endpoint: InfluxEndpoint, attempts: number): UserError {
  if (err instanceof UserError) return err;
  const at = `InfluxDB at ${endpoint.address}`;
  const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  if (err instanceof RetriableAnswer) {
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${at} kept failing: HTTP ${err.status}: ${err.serverMessage}${tries}`, { cause: err });
  }
  const chain = errorChain(err);
  const detail = networkDetail(chain);
  if (chain.some((e) => isTlsCode(e.code))) {
    const hint = endpoint.tls ? 'check the certificate (NODE_EXTRA_CA_CERTS for a private CA) and that the port speaks TLS' : 'the port may expect TLS: add tls=true';
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${at}: TLS failed: ${detail}; ${hint}`, { cause: err });
  }
  if (chain.some((e) => e.name === 'TimeoutError')) {
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${at} did not answer in time${tries}; check that it is up and not overloaded`, { cause: err });
  }
  if (classifyNetworkError(err) === 'retry') {
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${at} is unreachable: ${detail}${tries}; check the host and port${endpoint.tls ? '' : ', and tls=true for a TLS endpoint'}`, { cause: err });
  }
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${at}: the write failed: ${detail}`, { cause: err });
}

/** The most specific message in a chain: the innermost error's (fetch's own is "fetch failed"). */
function networkDetail(chain: readonly ErrorLike[]): string {
  for (let i = chain.length - 1; i >= 0; i--) {
    const message = chain[i]?.message;
    if (typeof message === 'string' && message !== '') return message.replace(/\s*\n\s*/g, '; ');
  }
  return 'unknown error';
}

/** The error and its causes, innermost last. */
function errorChain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && out.length < 16 && !out.includes(current as ErrorLike)) {
    out.push(current as ErrorLike);
    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    current = cause ?? (Array.isArray(errors) ? (errors as unknown[])[0] : undefined);
  }
  return out;
}
