/**
 * The local moto helper's only network calls: asking a moto server whether it answers, and
 * reading its state (free loopback ports come from ../common/service.ts). Kept in one file so the
 * rest of `src/dev/moto` installs, spawns and writes files without touching sockets (the rule of
 * the connectors' `service.ts`).
 */
import { poll } from '../common/service.js';

/** How long one readiness probe may take before it counts as "not yet". */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Polls moto's own API (`/moto-api/`) until it answers 200; rejects after `timeoutMs` with the
 * last error, or with `signal.reason` as soon as the signal aborts (the caller aborts when the
 * server process exits, so a crash is reported at once).
 */
export async function waitForMoto(endpoint: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  let last: unknown;
  const answered = await poll(
    async () => {
      try {
        const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]) });
        await response.arrayBuffer();
        if (response.ok) return true;
        last = new Error(`HTTP ${response.status}`);
      } catch (err) {
        last = err;
      }
      return false;
    },
    { ...options, intervalMs: 100 },
  );
  if (answered) return;
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
