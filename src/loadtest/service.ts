/**
 * The load test's only contact with Kafka: a producer for the load driver and an admin client
 * that reads the topic's end offsets for consumer lag. Clients come from the shared factory
 * (src/kafka/service.ts), errors leave as one line naming the endpoint; the rest of the load
 * test sees only the narrow interfaces below.
 *
 * @module
 */
import type { KafkaEndpoint } from '../kafka/endpoint.js';
import { describeKafkaError, kafkaClient } from '../kafka/service.js';

/** One record to produce: its key (the partition key) and its value. */
export interface LoadRecord {
  readonly key: string;
  readonly value: string;
  /** A partition chosen by the caller instead of the key's. */
  readonly partition?: number | undefined;
}

/** A producer into the load test's topic. */
export interface LoadProducer {
  /** The topic's partition count when the producer opened. */
  readonly partitions: number;
  /**
   * Produces records (acks from all in-sync replicas, idempotent, so a retried request is never
   * written twice); resolves once the broker has them all, rejects with the cause otherwise.
   */
  send(records: readonly LoadRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The end offsets of the load test's topic, for offset lag. */
export interface TopicOffsets {
  readonly partitions: number;
  /** Each partition's high watermark: the offset the next record written to it will get. */
  endOffsets(): Promise<Map<number, bigint>>;
  close(): Promise<void>;
}

/**
 * Connects a producer to the endpoint's topic, after checking that it exists (Sluice never
 * creates topics). Records are partitioned by key with the Java client's murmur2 partitioner.
 *
 * @example const producer = await openLoadProducer(parseKafkaUrl('kafka://127.0.0.1:9092/load', 'sink'))
 * @throws UserError naming the endpoint: unreachable brokers, failed authentication, missing topic.
 */
export async function openLoadProducer(endpoint: KafkaEndpoint): Promise<LoadProducer> {
  const kafka = kafkaClient(endpoint);
  const offsets = await openTopicOffsets(endpoint);
  const partitions = offsets.partitions;
  await offsets.close();
  // a bounded number of retries, unlike kafkajs's idempotent default of "forever": a load test
  // must report a broker that stopped answering instead of hanging on it
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 5, initialRetryTime: 100 } });
  try {
    await producer.connect();
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    throw describeKafkaError(err, endpoint);
  }
  let closing: Promise<void> | undefined;
  return {
    partitions,
    async send(records) {
      await producer.send({ topic: endpoint.topic, acks: -1, messages: records.map((r) => (r.partition === undefined ? { key: r.key, value: r.value } : { key: r.key, value: r.value, partition: r.partition })) });
    },
    close() {
      closing ??= producer.disconnect().catch(() => undefined);
      return closing;
    },
  };
}

/**
 * An admin client that reads the topic's end offsets; fails with one line when the topic is missing.
 *
 * @example const offsets = await openTopicOffsets(endpoint); (await offsets.endOffsets()).get(0) // 1234n
 */
export async function openTopicOffsets(endpoint: KafkaEndpoint): Promise<TopicOffsets> {
  const admin = kafkaClient(endpoint).admin();
  let partitions: number;
  try {
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [endpoint.topic] });
    partitions = topics.find((t) => t.name === endpoint.topic)?.partitions.length ?? 0;
    if (partitions === 0) throw Object.assign(new Error('UNKNOWN_TOPIC_OR_PARTITION'), { name: 'KafkaJSTopicMetadataNotLoaded' });
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw describeKafkaError(err, endpoint);
  }
  return {
    partitions,
    async endOffsets() {
      const offsets = await admin.fetchTopicOffsets(endpoint.topic);
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    },
    close: () => admin.disconnect().catch(() => undefined),
  };
}
