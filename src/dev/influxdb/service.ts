/**
 * The local InfluxDB helper's only network calls: waiting for `/ping`, and running InfluxQL
 * statements through `/query` (free loopback ports come from ../common/service.ts). Kept in one
 * file so the rest of `src/dev/influxdb` spawns processes and writes files without touching
 * sockets (the same rule as the connectors' `service.ts`).
 */
import { poll } from '../common/service.js';

/** One probe of `/ping` may take this long before it counts as no answer. */
const PING_TIMEOUT_MS = 2_000;
/** A statement on a local server answers in milliseconds; this only bounds a hung server. */
const QUERY_TIMEOUT_MS = 30_000;

/**
 * Polls `GET url/ping` until it answers 204; rejects with the last error after `timeoutMs`, or
 * with `signal.reason` as soon as the signal aborts (the caller aborts when influxd exits, so a
 * crash is reported at once rather than at the timeout).
 *
 * @example await waitForPing('http://127.0.0.1:8086', { timeoutMs: 30_000, signal })
 */
export async function waitForPing(url: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  let last = 'no answer';
  const answered = await poll(
    async () => {
      try {
        const response = await fetch(`${url}/ping`, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(PING_TIMEOUT_MS)]) });
        await response.arrayBuffer();
        if (response.status === 204) return true;
        last = `HTTP ${response.status}`;
      } catch (err) {
        last = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      }
      return false;
    },
    { ...options, intervalMs: 100 },
  );
  if (answered) return;
  throw new Error(`InfluxDB at ${url} did not answer /ping within ${options.timeoutMs / 1000} s; last: ${last}`);
}

/** Credentials for `/query` on a server with authentication on. */
export interface QueryCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Runs InfluxQL statements with `POST url/query` (InfluxDB 1.x) and returns the parsed JSON
 * answer. Rejects when the HTTP status is not 200 or any statement reports an error, with
 * InfluxDB's own message.
 *
 * @example await influxQuery('http://127.0.0.1:8086', 'CREATE DATABASE "sluice"')
 * @example await influxQuery(url, 'SELECT * FROM "m" GROUP BY *', { db: 'sluice' })
 */
export async function influxQuery(
  url: string,
  statement: string,
  options: { readonly db?: string; readonly credentials?: QueryCredentials } = {},
): Promise<InfluxQueryAnswer> {
  const form = new URLSearchParams({ q: statement, epoch: 'ms' });
  if (options.db !== undefined) form.set('db', options.db);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.credentials !== undefined) {
    headers['authorization'] = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
  }
  const response = await fetch(`${url}/query`, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
  const text = await response.text();
  let answer: InfluxQueryAnswer;
  try {
    answer = JSON.parse(text) as InfluxQueryAnswer;
  } catch {
    throw new Error(`InfluxDB /query answered HTTP ${response.status}: ${text.trim()}`);
  }
  const failed = answer.error ?? answer.results?.find((r) => r.error !== undefined)?.error;
  if (response.status !== 200 || failed !== undefined) throw new Error(`InfluxDB /query '${statement}' failed (HTTP ${response.status}): ${failed ?? text.trim()}`);
  return answer;
}

/** The JSON `/query` answers with (`epoch=ms`: times are epoch milliseconds). */
export interface InfluxQueryAnswer {
  readonly error?: string;
  readonly results?: readonly {
    readonly statement_id?: number;
    readonly error?: string;
    readonly series?: readonly InfluxSeries[];
  }[];
}

/** One series of a query answer: with `GROUP BY *`, one per tag set. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly unknown[])[];
}
