/**
 * One start helper for a real local Kafka broker, shared by the integration tests and
 * `sluice dev kafka`.
 *
 * With a working container runtime it runs Kafka through testcontainers; otherwise it runs a real
 * Apache Kafka broker (KRaft, one node) on the local JDK from jars that Maven installs into
 * `.cache/kafka` on first use. Either way the caller gets a bootstrap address and a `stop()`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerRuntimeAnswers, startKafkaContainer } from './container.js';
import { startJvmKafka } from './jvm.js';

export { KAFKA_VERSION } from './install.js';

/** A running local broker. */
export interface KafkaBroker {
  /** `127.0.0.1:PORT`: give it to clients as their only bootstrap server. */
  readonly bootstrap: string;
  /** JVM broker only: the temp folder holding its data and log; `stop()` removes it. */
  readonly workDir?: string;
  /** JVM broker only: the broker's own log (it never writes to our stdout or stderr). */
  readonly logFile?: string;
  /** Stops the broker and removes everything it wrote; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** Loopback port for clients; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** Where the JVM broker's jars are installed; default `.cache/kafka` in the Sluice package. */
  readonly cacheDir?: string;
  /** Progress lines (installing, starting, which strategy); silent when omitted. */
  readonly log?: (line: string) => void;
}

/**
 * Starts a single-node Kafka broker on 127.0.0.1 and resolves once it answers `describeCluster`.
 *
 * Topics are not created automatically (`auto.create.topics.enable=false` on the JVM broker), so
 * create them with an admin client first. Rejects with a UserError when neither a container
 * runtime nor a JDK is available, or Maven is missing on first use; with the tail of the broker's
 * log when it dies or does not answer within 60 s.
 *
 * @example
 * const broker = await startKafka();
 * try {
 *   const kafka = new Kafka({ brokers: [broker.bootstrap] });
 *   // …
 * } finally {
 *   await broker.stop();
 * }
 * @see startJvmKafka
 * @see startKafkaContainer
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? (() => undefined);
  const port = options.port === undefined ? {} : { port: options.port };
  if (await containerRuntimeAnswers(log)) return startKafkaContainer({ ...port, log });
  log('no container runtime answered; running Apache Kafka on the local JDK');
  return startJvmKafka({ ...port, cacheDir: options.cacheDir ?? defaultCacheDir(), log });
}

/**
 * `.cache/kafka` beside Sluice's package.json, found by walking up from this file because it
 * runs both from `src/` (tsx, tests) and from `dist/src/` (the built CLI).
 */
function defaultCacheDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), '.cache', 'kafka');
    dir = parent;
  }
  return join(dir, '.cache', 'kafka');
}
