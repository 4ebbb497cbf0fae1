/**
 * The local Kafka helper's only network calls: finding free loopback ports and asking a broker
 * whether it answers. Kept in one file so the rest of `src/dev/kafka` spawns processes and
 * writes files without touching sockets (the same rule as the connectors' `service.ts`).
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

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
 * Polls `describeCluster` until the broker at `bootstrap` answers; rejects with the last
 * connection error after `timeoutMs`, or with `signal.reason` as soon as the signal aborts (the
 * caller aborts when the broker process exits, so a crash is reported at once, not at timeout).
 */
export async function waitForBroker(bootstrap: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  const kafka = new Kafka({
    clientId: 'sluice-dev-kafka-probe',
    brokers: [bootstrap],
    // kafkajs retries and logs by itself; here the loop owns both, and tests must print nothing
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
  });
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    options.signal.throwIfAborted();
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch (err) {
      last = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(200, undefined, { signal: options.signal }).catch(() => undefined);
  }
  options.signal.throwIfAborted();
  const detail = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`the Kafka broker at ${bootstrap} did not answer within ${options.timeoutMs / 1000} s${detail}`);
}
