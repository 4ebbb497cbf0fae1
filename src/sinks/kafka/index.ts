import type { RetryPolicy } from 'cockatiel';
import type { Sink } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { describeKafkaError } from '../../kafka/service.js';
import { kafkaSinkConfig, type KafkaSinkConfig, type KafkaSinkOptions } from './config.js';
import { kafkaRecordEncoder, type EncodedRecord } from './encoder.js';
import { buildRequests } from './request-builder.js';
import { kafkaRetryPolicy, sinkError } from './retry.js';
import { kafkaProducerService, type KafkaProducerService } from './service.js';

export {
  DEFAULT_KEY_FIELD,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_RECORDS,
  KAFKA_MESSAGE_MAX_BYTES,
  kafkaSinkConfig,
  type KafkaRetryOptions,
  type KafkaSinkConfig,
  type KafkaSinkOptions,
} from './config.js';
export { kafkaRecordEncoder, type EncodedRecord } from './encoder.js';
export { buildRequests, type RequestLimits } from './request-builder.js';
export { classifyKafkaError } from './retry.js';
export type { KafkaMessage, KafkaProducerService } from './service.js';

/**
 * Writes results to a Kafka topic (`--sink kafka://BROKERS/TOPIC[?key=FIELD]`): each record's
 * value is its JSON text, its key the `key` field (default the result `id`), no headers.
 *
 * `write` sends the records in order as one or more requests (split by bytes and count) and
 * resolves only once the partition leaders acknowledged every one of them with acks=all: that is
 * the acknowledgement checkpoints wait for. Kafka cannot rewind, so there is no `position`;
 * results re-emitted after a restart carry the same ids and are harmless to consumers.
 *
 * @example
 * const sink = new KafkaSink(kafkaSinkConfig(endpoint), kafkaProducerService(endpoint));
 * await sink.open(); await sink.write(results); await sink.close();
 * @see kafkaSink
 * @see openKafkaSink
 */
export class KafkaSink implements Sink {
  readonly description: string;
  private readonly encode: (record: unknown) => EncodedRecord;
  private readonly policy: RetryPolicy;
  private opening: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: UserError | undefined;
  private closed = false;

  constructor(
    private readonly config: KafkaSinkConfig,
    private readonly service: KafkaProducerService,
  ) {
    this.description = `kafka://${config.endpoint.brokers.join(',')}/${config.endpoint.topic}`;
    this.encode = kafkaRecordEncoder(config.keyField);
    this.policy = kafkaRetryPolicy(config.retry);
  }

  /**
   * Connects and checks the topic; safe to call more than once. Rejects with the one-line
   * description of what is wrong (unreachable broker, missing topic, failed authentication).
   */
  open(): Promise<void> {
    this.opening ??= this.service.connect().catch((err: unknown) => {
      throw this.fail(new UserError(ErrorCode.UNWRITABLE_OUTPUT, describeKafkaError(err, this.config.endpoint).message, { cause: err }));
    });
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    const done = this.writing.then(() => this.send(records));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Waits for the write in flight (kafkajs keeps no buffer of its own), then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    if (this.opening === undefined) return;
    try {
      await this.opening;
    } catch {
      return; // never connected; the connect error was already reported
    }
    await this.service.disconnect();
  }

  private async send(records: readonly unknown[]): Promise<void> {
    if (this.closed) throw new Error(`${this.description} is closed`);
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    if (records.length === 0) return;
    const { endpoint, maxBatchBytes, maxBatchRecords, retry } = this.config;
    let requests: EncodedRecord[][];
    try {
      requests = buildRequests(records.map(this.encode), { maxBatchBytes, maxBatchRecords, topic: endpoint.topic });
    } catch (err) {
      throw this.fail(err instanceof UserError ? err : sinkError(err, endpoint, [], retry.maxRetries));
    }
    for (const request of requests) {
      try {
        await this.policy.execute(() => this.service.send(request));
      } catch (err) {
        throw this.fail(sinkError(err, endpoint, request, retry.maxRetries));
      }
    }
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * A Kafka sink that connects on its first write. Prefer {@link openKafkaSink}, which fails at
 * start-up instead.
 *
 * @example const sink = kafkaSink(parseKafkaUrl('kafka://127.0.0.1:9092/results?key=key.page', 'sink'))
 * @see openKafkaSink
 * @see fileSink
 */
export function kafkaSink(endpoint: KafkaEndpoint, options: KafkaSinkOptions = {}): Sink {
  return new KafkaSink(kafkaSinkConfig(endpoint, options), kafkaProducerService(endpoint));
}

/**
 * Opens a Kafka sink eagerly: connects the producer and checks the topic, so a wrong broker
 * address, a missing topic or refused credentials fail the run before any input is read, with
 * one line such as `Kafka topic 'results' does not exist on 127.0.0.1:9092; create it first`.
 *
 * @example const sink = await openKafkaSink(parseKafkaUrl('kafka://127.0.0.1:9092/results', 'sink'))
 * @see kafkaSink
 * @see openFileSink
 */
export async function openKafkaSink(endpoint: KafkaEndpoint, options: KafkaSinkOptions = {}): Promise<Sink> {
  const sink = new KafkaSink(kafkaSinkConfig(endpoint, options), kafkaProducerService(endpoint));
  await sink.open();
  return sink;
}
