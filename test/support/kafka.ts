/**
 * Kafka for integration tests: a real broker per test file, silent kafkajs clients, and topics
 * with unique names so tests in one file never see each other's records.
 *
 * `useKafka()` starts the broker in `beforeAll` with the same helper as `sluice dev kafka`
 * (src/dev/kafka) and stops it in `afterAll`. Set SLUICE_TEST_KAFKA=HOST:PORT to point the tests
 * at a broker you already run (for example `sluice dev kafka` in another terminal) instead; a file
 * that asks for a SCRAM user (`useKafka({ scram })`) always starts its own.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';
import { startKafka, type KafkaScramUser } from '../../src/dev/kafka/index.js';
import { usePeer } from './peer.js';

/** First start installs the broker with Maven (~10 s here, longer on a slow network). */
export const KAFKA_START_TIMEOUT_MS = 300_000;

export interface TestKafka {
  /** `HOST:PORT` of the broker; read it inside tests or hooks, not at collection time. */
  readonly bootstrap: string;
  /** `HOST:PORT` of its SASL/SCRAM listener; only with `useKafka({ scram })`. */
  readonly saslBootstrap: string;
  /** A kafkajs client for this broker that logs nothing. */
  client(clientId?: string): Kafka;
  /** Creates a topic named `<prefix>-<random>` and waits for its leaders; returns the name. */
  createTopic(options?: CreateTopicOptions): Promise<string>;
  /** Sends `values[p]` to partition p of `topic`, in order, 500 messages per request. */
  produce(topic: string, values: readonly (readonly string[])[]): Promise<void>;
}

export interface CreateTopicOptions {
  readonly prefix?: string;
  readonly partitions?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '-1' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface UseKafkaOptions {
  /** A user for a SASL/SCRAM listener beside the plain one (SCRAM-SHA-256 and -512). */
  readonly scram?: KafkaScramUser;
}

/**
 * Registers hooks that give the calling test file (or `describe` block) its own broker.
 *
 * @example
 * const kafka = useKafka();
 * it('round-trips', async () => {
 *   const topic = await kafka.createTopic({ partitions: 3 });
 *   const producer = kafka.client().producer();
 *   // …
 * });
 * // clients authenticate at `secured.saslBootstrap`, and the plain `bootstrap` stays open
 * const secured = useKafka({ scram: { username: 'alice', password: 'alice-secret' } });
 */
export function useKafka(options: UseKafkaOptions = {}): TestKafka {
  const broker = usePeer({
    given: options.scram === undefined ? process.env['SLUICE_TEST_KAFKA'] : undefined,
    start: () => startKafka(options.scram === undefined ? {} : { scram: options.scram }),
    addressOf: (started) => started.bootstrap,
    timeoutMs: KAFKA_START_TIMEOUT_MS,
    name: 'useKafka(): the broker',
  });
  return {
    get bootstrap() {
      return broker.address();
    },
    get saslBootstrap() {
      broker.address();
      const sasl = broker.started()?.saslBootstrap;
      if (sasl === undefined) throw new Error('useKafka(): this broker has no SASL listener; ask for one with useKafka({ scram })');
      return sasl;
    },
    client: (clientId) => quietKafka(broker.address(), clientId),
    createTopic: (options) => createTopic(broker.address(), options),
    produce: (topic, values) => produce(quietKafka(broker.address()), topic, values),
  };
}

/** A kafkajs client with its logging off, so test runs print nothing. */
export function quietKafka(bootstrap: string, clientId = 'sluice-test'): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

/** Creates a uniquely named topic on the broker at `bootstrap`; see {@link TestKafka.createTopic}. */
export async function createTopic(bootstrap: string, options: CreateTopicOptions = {}): Promise<string> {
  const topic = `${options.prefix ?? 'test'}-${randomUUID().slice(0, 8)}`;
  const config: ITopicConfig = {
    topic,
    numPartitions: options.partitions ?? 1,
    configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
  };
  const admin = quietKafka(bootstrap, 'sluice-test-admin').admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [config], waitForLeaders: true });
    if (!created) throw new Error(`topic ${topic} already existed`);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** Sends each partition's values to it; see {@link TestKafka.produce}. */
async function produce(kafka: Kafka, topic: string, byPartition: readonly (readonly string[])[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const [partition, values] of byPartition.entries()) {
      for (let i = 0; i < values.length; i += 500) {
        await producer.send({ topic, messages: values.slice(i, i + 500).map((value) => ({ partition, value })) });
      }
    }
  } finally {
    await producer.disconnect();
  }
}
