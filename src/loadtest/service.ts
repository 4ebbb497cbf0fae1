/**
 * The load test's only contact with its broker: for Kafka a producer for the load driver and an
 * admin client that reads the topic's end offsets for consumer lag; for Kinesis a producer
 * (PutRecords through the Kinesis sink's client) and the stream's open shards. Clients come from
 * the shared factories (src/kafka/service.ts, src/sinks/kinesis/service.ts), errors leave as one
 * line naming the endpoint; the rest of the load test sees only the narrow interfaces below.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import type { KafkaEndpoint } from '../kafka/endpoint.js';
import { describeKafkaError, kafkaClient } from '../kafka/service.js';
import type { KinesisEndpoint } from '../kinesis/endpoint.js';
import { kinesisSinkConfig } from '../sinks/kinesis/config.js';
import { describeKinesisError } from '../sinks/kinesis/retry.js';
import { kinesisSinkService, type KinesisSinkService, type ShardRange } from '../sinks/kinesis/service.js';
import { KinesisLoadProducer } from './kinesis-producer.js';

/** One record to produce: its key (the partition key) and its value. */
export interface LoadRecord {
  readonly key: string;
  readonly value: string;
  /** A partition chosen by the caller instead of the key's. */
  readonly partition?: number | undefined;
}

/**
 * What a Kinesis producer did for one send: the put results, counted. A Kafka producer has no
 * such answer (its send resolves with nothing).
 */
export interface PutCounts {
  /** PutRecords calls, retries included. */
  readonly putCalls: number;
  /** Kinesis records taken, and of them the KPL aggregated ones. */
  readonly kinesisRecords: number;
  readonly aggregatedRecords: number;
  /** User records (events) in the Kinesis records taken. */
  readonly userRecords: number;
  /** Entries refused with ProvisionedThroughputExceededException (each time; all were sent again). */
  readonly throttled: number;
  /** Kinesis records sent again after a refusal. */
  readonly retried: number;
  /** PUT payload units billed for the records taken (each rounded up to 25 KB). */
  readonly putUnits: number;
  /** Data and partition key bytes of the Kinesis records taken. */
  readonly kinesisBytes: number;
  /** User records per shard id, from each put result's ShardId. */
  readonly byShard: Readonly<Record<string, number>>;
}

/** A producer into the load test's topic or stream. */
export interface LoadProducer {
  /** The topic's partitions (the stream's open shards) when the producer opened. */
  readonly partitions: number;
  /**
   * Produces records — Kafka: acks from all in-sync replicas, idempotent, so a retried request is
   * never written twice; Kinesis: records a call did not take are sent again — and resolves once
   * the broker has them all (Kinesis: with the put results counted), rejects with the cause otherwise.
   */
  send(records: readonly LoadRecord[]): Promise<PutCounts | void>;
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

/**
 * A Kinesis client for the stream behind the Kinesis sink's narrow interface (HTTP/1.1: the SDK's
 * default HTTP/2 handler fails against kinesis-local), and its open shards; one line naming the
 * stream when it is missing, unreachable or refused.
 */
async function openStream(endpoint: KinesisEndpoint): Promise<{ service: KinesisSinkService; shards: ShardRange[] }> {
  const service = kinesisSinkService(endpoint.stream, kinesisSinkConfig(endpoint).client);
  try {
    const shards = await service.listShards();
    if (shards.length === 0) throw Object.assign(new Error(`stream '${endpoint.stream}' has no open shards`), { name: 'ResourceNotFoundException' });
    return { service, shards };
  } catch (err) {
    service.close();
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `--target '${endpoint.url}': ${describeKinesisError(err, endpoint)}`, { cause: err });
  }
}

/**
 * A producer into a Kinesis stream (which must exist), KPL-aggregating with `aggregate`.
 *
 * @example const producer = await openKinesisLoadProducer(parseTarget('kinesis://load').endpoint, { aggregate: true })
 * @throws UserError naming the target: a missing stream, Kinesis unreachable, access refused.
 */
export async function openKinesisLoadProducer(endpoint: KinesisEndpoint, options: { readonly aggregate: boolean }): Promise<LoadProducer> {
  const { service, shards } = await openStream(endpoint);
  return new KinesisLoadProducer(service, shards, { aggregate: options.aggregate });
}

/**
 * The stream's open shard ids (the partitions the pipeline under test will read).
 *
 * @example (await kinesisShards(endpoint)).length // 2
 * @throws UserError naming the target, as {@link openKinesisLoadProducer}.
 */
export async function kinesisShards(endpoint: KinesisEndpoint): Promise<string[]> {
  const { service, shards } = await openStream(endpoint);
  service.close();
  return shards.map((s) => s.shardId);
}
