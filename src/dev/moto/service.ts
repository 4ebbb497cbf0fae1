/**
 * The local moto helper's only network calls: finding a free loopback port, asking a moto server
 * whether it answers, and reading its state. Kept in one file so the rest of `src/dev/moto`
 * installs, spawns and writes files without touching sockets (the rule of the connectors'
 * `service.ts`).
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long one readiness probe may take before it counts as "not yet". */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Binds 127.0.0.1:`port` and releases it, returning the bound port: with 0 the kernel picks a
 * free one; with a fixed port this proves nothing else listens there. Rejects with the bind error
 * (EADDRINUSE, EACCES) otherwise.
 */
export function bindLoopbackPort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Polls moto's own API (`/moto-api/`) until it answers 200; rejects after `timeoutMs` with the
 * last error, or with `signal.reason` as soon as the signal aborts (the caller aborts when the
 * server process exits, so a crash is reported at once).
 */
export async function waitForMoto(endpoint: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    options.signal.throwIfAborted();
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]) });
      await response.arrayBuffer();
      if (response.ok) return;
      last = new Error(`HTTP ${response.status}`);
    } catch (err) {
      last = err;
    }
    await sleep(100, undefined, { signal: options.signal }).catch(() => undefined);
  }
  options.signal.throwIfAborted();
  const detail = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`moto at ${endpoint} did not answer within ${options.timeoutMs / 1000} s${detail}`);
}

/**
 * Everything moto holds, as its `/moto-api/data.json` returns it: by service, then by model
 * class, a list of each model's attributes (e.g. `timestreamwrite.TimestreamTable[].records`).
 *
 * @example (await motoState(endpoint))['timestreamwrite']?.['TimestreamTable']
 */
export async function motoState(endpoint: string): Promise<Record<string, Record<string, unknown[]>>> {
  const response = await fetch(`${endpoint}/moto-api/data.json`);
  if (!response.ok) throw new Error(`moto at ${endpoint} answered HTTP ${response.status} for /moto-api/data.json`);
  return (await response.json()) as Record<string, Record<string, unknown[]>>;
}
