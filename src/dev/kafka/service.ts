/**
 * The local Kafka helper's only network calls: asking a broker whether it answers (free loopback
 * ports come from ../common/service.ts). Kept in one file so the rest of `src/dev/kafka` spawns
 * processes and writes files without touching sockets (the same rule as the connectors'
 * `service.ts`).
 */
import { Kafka, logLevel } from 'kafkajs';
import { poll } from '../common/service.js';

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
  let last: unknown;
  const answered = await poll(
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } catch (err) {
        last = err;
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { ...options, intervalMs: 200 },
  );
  if (answered) return;
  const detail = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`the Kafka broker at ${bootstrap} did not answer within ${options.timeoutMs / 1000} s${detail}`);
}
