/**
 * One start helper for a real local Kafka broker, shared by the integration tests and
 * `sluice dev kafka`.
 *
 * With a working container runtime it runs Kafka through testcontainers; otherwise it runs a real
 * Apache Kafka broker (KRaft, one node) on the local JDK from jars that Maven installs into
 * `.cache/kafka` on first use. Either way the caller gets a bootstrap address and a `stop()`.
 * A broker with SASL/SCRAM (`scram`) is always the JVM one: testcontainers' Kafka module offers
 * SASL only on a TLS listener, which would need keystores made up for the purpose.
 */
import { packageCacheDir } from '../common/files.js';
import { containerRuntimeAnswers, startKafkaContainer } from './container.js';
import { startJvmKafka } from './jvm.js';

export { KAFKA_VERSION } from './install.js';

/** A running local broker. */
export interface KafkaBroker {
  /** `127.0.0.1:PORT`: give it to clients as their only bootstrap server. */
  readonly bootstrap: string;
  /**
   * With `scram` only: `127.0.0.1:PORT` of the SASL_PLAINTEXT listener that takes SCRAM-SHA-256
   * and SCRAM-SHA-512, for clients that authenticate; `bootstrap` stays open without SASL.
   */
  readonly saslBootstrap?: string;
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
  /** Adds a SASL/SCRAM listener with this user (`saslBootstrap`); runs the JVM broker. */
  readonly scram?: KafkaScramUser;
}

/** The SCRAM mechanisms Kafka offers (MSK uses SCRAM-SHA-512 only). */
export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/**
 * A user the broker knows from its first start, as `kafka-storage format --add-scram` creates
 * it. Neither name nor password may contain a comma (the tool splits its argument on commas).
 */
export interface KafkaScramUser {
  readonly username: string;
  readonly password: string;
  /** The one mechanism the user gets credentials for; both when omitted (the listener takes both). */
  readonly mechanism?: ScramMechanism;
  /** Loopback port of the SASL listener; a free one when omitted. Must be free when given. */
  readonly port?: number;
}

/**
 * Starts a single-node Kafka broker on 127.0.0.1 and resolves once it answers `describeCluster`.
 *
 * Topics are not created automatically (`auto.create.topics.enable=false` on the JVM broker), so
 * create them with an admin client first. Rejects with a UserError when neither a container
 * runtime nor a JDK is available (a JDK whenever `scram` is given), Maven is missing on first use,
 * or a SCRAM user or port is unusable; with the tail of the broker's log when it dies or does not
 * answer within 60 s.
 *
 * @example
 * const broker = await startKafka();
 * try {
 *   const kafka = new Kafka({ brokers: [broker.bootstrap] });
 *   // …
 * } finally {
 *   await broker.stop();
 * }
 * // clients of this one authenticate at `saslBootstrap` with SCRAM-SHA-256 or SCRAM-SHA-512
 * const secured = await startKafka({ scram: { username: 'alice', password: 'alice-secret' } });
 * @see startJvmKafka
 * @see startKafkaContainer
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? (() => undefined);
  const port = options.port === undefined ? {} : { port: options.port };
  const jvm = { ...port, cacheDir: options.cacheDir ?? packageCacheDir('kafka'), log };
  if (options.scram !== undefined) {
    log('SASL/SCRAM needs the broker on the local JDK');
    return startJvmKafka({ ...jvm, scram: options.scram });
  }
  if (await containerRuntimeAnswers(log)) return startKafkaContainer({ ...port, log });
  log('no container runtime answered; running Apache Kafka on the local JDK');
  return startJvmKafka(jvm);
}
