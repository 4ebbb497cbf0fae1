/**
 * The local OpenSearch helper's only network calls: asking a node whether it answers (free
 * loopback ports come from ../common/service.ts). Kept in one file so the rest of
 * `src/dev/opensearch` spawns processes and writes files without touching sockets.
 */
import { request } from 'node:http';
import { poll } from '../common/service.js';

/** One probe's patience: the node answers in milliseconds once its HTTP layer is up. */
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_INTERVAL_MS = 250;

/**
 * Polls `GET /_cluster/health` until the node at `url` reports green or yellow (a single node's
 * replicas stay unassigned, so yellow is as good as it gets). Rejects with the last error after
 * `timeoutMs`, or with `signal.reason` as soon as the signal aborts (the caller aborts when the
 * node's process exits, so a crash is reported at once).
 *
 * @example await waitForHealth('http://127.0.0.1:9200', { timeoutMs: 180_000, signal })
 */
export async function waitForHealth(url: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  let last = 'no answer yet';
  const healthy = await poll(
    async () => {
      try {
        const { status, body } = await get(`${url}/_cluster/health`);
        const health = status === 200 ? (JSON.parse(body) as { status?: unknown }).status : undefined;
        if (health === 'green' || health === 'yellow') return true;
        last = `HTTP ${status}: ${body.slice(0, 200)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      return false;
    },
    { ...options, intervalMs: PROBE_INTERVAL_MS },
  );
  if (healthy) return;
  throw new Error(`OpenSearch at ${url} did not report a healthy cluster within ${options.timeoutMs / 1000} s; last: ${last}`);
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: PROBE_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.end();
  });
}
