/**
 * Kafka in a container through testcontainers, for machines where a container runtime answers.
 *
 * testcontainers is imported lazily: it is large, most runs never need it, and version 12
 * depends on undici 8, which fails to load on Node 20 (it needs Node 22.19). A failed import
 * counts as "no container runtime", so Node 20 machines fall back to the JVM broker.
 */
import type * as Testcontainers from 'testcontainers';
import type { KafkaBroker } from './index.js';

/** Confluent Platform 8.1 ships Apache Kafka 4.1, the release the JVM broker runs. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:8.1.0';
/** The container port the Kafka module advertises to clients outside the container. */
const PLAINTEXT_PORT = 9093;

/** True when testcontainers loads and `getContainerRuntimeClient()` finds a working runtime. */
export async function containerRuntimeAnswers(log: (line: string) => void): Promise<boolean> {
  let testcontainers: typeof Testcontainers;
  try {
    testcontainers = await import('testcontainers');
  } catch (err) {
    log(`testcontainers did not load (${err instanceof Error ? err.message : String(err)}); not looking for a container runtime`);
    return false;
  }
  try {
    await testcontainers.getContainerRuntimeClient();
    return true;
  } catch {
    return false; // "Could not find a working container runtime strategy"
  }
}

/** Starts Kafka (KRaft) in a container; `stop()` removes the container. */
export async function startKafkaContainer(options: { port?: number; log: (line: string) => void }): Promise<KafkaBroker> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  // the module binds its client port to a random host port while it configures listeners, after
  // any binding we set, so a fixed port has to be set again at that point
  class FixedPortKafkaContainer extends KafkaContainer {
    protected override async beforeContainerCreated(): Promise<void> {
      await super.beforeContainerCreated();
      if (options.port !== undefined) this.withExposedPorts({ container: PLAINTEXT_PORT, host: options.port });
    }
  }
  options.log(`starting ${KAFKA_IMAGE} with testcontainers`);
  const container = await new FixedPortKafkaContainer(KAFKA_IMAGE)
    // as on the JVM broker: a mistyped topic is an error, never a new one-partition topic
    .withEnvironment({ KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' })
    .start();
  const host = container.getHost();
  const bootstrap = `${host === 'localhost' ? '127.0.0.1' : host}:${container.getMappedPort(PLAINTEXT_PORT)}`;
  let stopping: Promise<void> | undefined;
  return {
    bootstrap,
    stop: () => (stopping ??= container.stop().then(() => undefined)),
  };
}
