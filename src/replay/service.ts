/**
 * The producer side of `sluice replay`: the only place replay talks to Kafka. Clients come from
 * the shared factory (src/kafka/service.ts), errors leave as one line naming the endpoint.
 *
 * @module
 */
import type { KafkaEndpoint } from '../kafka/endpoint.js';
import { describeKafkaError, kafkaClient } from '../kafka/service.js';
import type { CaptureRecord } from './capture-format.js';
import { MessageEncoder } from './messages.js';
import type { ReplayTarget } from './replay.js';

/** An open replay target: a topic and an idempotent producer. */
export interface KafkaReplayTarget extends ReplayTarget {
  /** The topic's partition count when the target opened. */
  readonly partitions: number;
  /** Disconnects the producer; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Connects an idempotent producer (acks from all in-sync replicas) to the endpoint's topic,
 * after checking that the topic exists and learning its partition count; Sluice never creates
 * topics, on purpose (partition count and retention are the operator's decisions).
 *
 * @example
 * const target = await openKafkaTarget(parseKafkaUrl('kafka://127.0.0.1:9092/clicks', 'sink'));
 * try { await target.send(records); } finally { await target.close(); }
 * @throws UserError naming the endpoint: unreachable brokers, failed authentication, missing topic.
 * @see MessageEncoder
 */
export async function openKafkaTarget(endpoint: KafkaEndpoint): Promise<KafkaReplayTarget> {
  const kafka = kafkaClient(endpoint);
  const partitions = await partitionCount(kafka, endpoint);
  // one request in flight: with retries, a second could overtake the first and reorder a partition
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  try {
    await producer.connect();
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    throw describeKafkaError(err, endpoint);
  }
  const encoder = new MessageEncoder(partitions);
  let closing: Promise<void> | undefined;
  return {
    partitions,
    async send(records: readonly CaptureRecord[]) {
      try {
        await producer.send({ topic: endpoint.topic, acks: -1, messages: records.map((r) => encoder.message(r)) });
      } catch (err) {
        throw describeKafkaError(err, endpoint);
      }
    },
    close() {
      closing ??= producer.disconnect().catch(() => undefined);
      return closing;
    },
  };
}

async function partitionCount(kafka: ReturnType<typeof kafkaClient>, endpoint: KafkaEndpoint): Promise<number> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [endpoint.topic] });
    const count = topics.find((t) => t.name === endpoint.topic)?.partitions.length ?? 0;
    if (count === 0) throw Object.assign(new Error('UNKNOWN_TOPIC_OR_PARTITION'), { name: 'KafkaJSTopicMetadataNotLoaded' });
    return count;
  } catch (err) {
    throw describeKafkaError(err, endpoint);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
