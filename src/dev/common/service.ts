/**
 * The network side every local peer shares: loopback ports and the readiness loop. Each peer's
 * own probe (a Kafka admin call, an HTTP GET) stays in its `service.ts`; the rest of `src/dev`
 * spawns processes and writes files without touching sockets (the rule of the connectors'
 * `service.ts`).
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * Binds 127.0.0.1:`port` and releases it, returning the bound port: with 0 the kernel picks a
 * free one; with a fixed port this proves nothing else listens there. Rejects with the bind error
 * (EADDRINUSE, EACCES) otherwise.
 *
 * @example const port = await bindLoopbackPort() // e.g. 41263
 * @see claimLoopbackPort
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
 * The loopback port a peer's server is to listen on. A requested port must be free (a clear
 * error beats a server dying on bind): else a `UserError` naming `what` ('Kafka', 'moto'…).
 * Without one, a free port that is not one of `taken` (the server's other listeners: each port
 * was bound and released, so a later pick may repeat an earlier one).
 *
 * @example const port = await claimLoopbackPort(options.port, { what: 'InfluxDB' })
 * @example const rpcPort = await claimLoopbackPort(undefined, { what: 'InfluxDB', taken: [port] })
 */
export async function claimLoopbackPort(port: number | undefined, options: { readonly what: string; readonly taken?: readonly number[] }): Promise<number> {
  const taken = options.taken ?? [];
  if (port === undefined) {
    let picked = await bindLoopbackPort();
    while (taken.includes(picked)) picked = await bindLoopbackPort();
    return picked;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UserError(ErrorCode.BAD_OPTION, `${options.what} port must be a whole number from 1 to 65535, got ${port}`);
  try {
    return await bindLoopbackPort(port);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot run ${options.what} on 127.0.0.1:${port}: ${(err as Error).message}; choose another port`, { cause: err });
  }
}

/**
 * Calls `probe` every `intervalMs` until it resolves true (a probe records why not itself and
 * resolves false); resolves false once `timeoutMs` passed. Rejects with `signal.reason` as soon
 * as the signal aborts: the caller aborts when the server's process exits, so a crash is
 * reported at once rather than at the timeout.
 *
 * @example if (!(await poll(() => answers(url), { timeoutMs: 60_000, intervalMs: 100, signal }))) throw new Error('no answer')
 */
export async function poll(probe: () => Promise<boolean>, options: { readonly timeoutMs: number; readonly intervalMs: number; readonly signal: AbortSignal }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    options.signal.throwIfAborted();
    if (await probe()) return true;
    await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  options.signal.throwIfAborted();
  return false;
}
