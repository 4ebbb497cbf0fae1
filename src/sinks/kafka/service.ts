/**
 * The Kafka sink's only calls to the broker: an idempotent kafkajs producer behind a narrow
 * interface, so the rest of the sink (and its unit tests) needs no network.
 */
import { Partitioners, type Admin, type Producer } from 'kafkajs';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { kafkaClient } from '../../kafka/service.js';

/**
 * kafkajs's own retries of one send (from 200 ms, doubling). An idempotent kafkajs producer
 * otherwise retries forever, which would hang a run on a deleted topic; the sink's retry policy
 * decides what happens after these.
 */
const SEND_RETRIES = 5;
/** A start-up topic check needs no patience: the broker has just answered the producer. */
const CHECK_RETRIES = 1;

/**
 * One record as the producer takes it.
 *
 * @see KafkaProducerService
 */
export interface KafkaMessage {
  readonly key: Buffer | null;
  readonly value: Buffer;
}

/**
 * What the sink needs from Kafka. Errors are kafkajs's own, unchanged, for the retry policy to
 * classify.
 *
 * @example const service: KafkaProducerService = kafkaProducerService(endpoint)
 * @see kafkaProducerService
 */
export interface KafkaProducerService {
  /** Connects the producer and checks that the topic exists and may be described. */
  connect(): Promise<void>;
  /** Sends one request; resolves once every partition leader acknowledged it with acks=all. */
  send(messages: readonly KafkaMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * An idempotent kafkajs producer for the endpoint's topic. `maxInFlightRequests: 1` is what
 * kafkajs requires for idempotence; the broker then drops a retried batch it already has, so
 * kafkajs's retries never duplicate. Keys are partitioned with the Java client's murmur2
 * partitioner, so a key lands where other Kafka clients would put it. The producer never asks
 * the broker to create the topic: a typo must fail, not create a one-partition topic.
 *
 * @example const service = kafkaProducerService(parseKafkaUrl('kafka://127.0.0.1:9092/results', 'sink'))
 * @see KafkaProducerService
 */
export function kafkaProducerService(endpoint: KafkaEndpoint): KafkaProducerService {
  const kafka = kafkaClient(endpoint);
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: SEND_RETRIES },
  });
  return {
    async connect() {
      await producer.connect();
      const admin: Admin = kafka.admin({ retry: { retries: CHECK_RETRIES } });
      try {
        await admin.connect();
        await admin.fetchTopicMetadata({ topics: [endpoint.topic] });
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    async send(messages) {
      await producer.send({ topic: endpoint.topic, acks: -1, messages: messages.map(({ key, value }) => ({ key, value })) });
    },
    disconnect: () => producer.disconnect(),
  };
}
