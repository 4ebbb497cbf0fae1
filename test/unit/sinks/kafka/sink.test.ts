import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../../src/core/errors.js';
import { parseKafkaUrl } from '../../../../src/kafka/endpoint.js';
import { classifyKafkaError, KafkaSink, kafkaSinkConfig, type KafkaMessage, type KafkaProducerService, type KafkaSinkOptions } from '../../../../src/sinks/kafka/index.js';
import { failureOf } from '../../../support/failures.js';

// The sink over a fake producer service: what is sent per write, which failures are retried,
// and which end the run with one line. Errors are kafkajs's own classes, shaped as kafkajs
// throws them from `producer.send`.

const ENDPOINT = parseKafkaUrl('kafka://127.0.0.1:9/results?key=key.page', 'sink');
const FAST: KafkaSinkOptions = { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 } };

const protocolError = (type: string, retriable: boolean, message = type): Error => new KafkaJSProtocolError({ message, type, code: 0, retriable } as unknown as Error);
/** What kafkajs throws once its own retries of a retriable error ran out. */
const gaveUp = (cause: Error): Error => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 3000 });
/** What kafkajs throws for an error it will not retry. */
const refused = (cause: Error): Error => Object.assign(new KafkaJSNonRetriableError(cause), { cause });
const unreachable = (): Error => gaveUp(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9'));

class FakeService implements KafkaProducerService {
  readonly sent: (string | null)[][] = [];
  connects = 0;
  disconnects = 0;
  constructor(private readonly failures: Error[] = [], private readonly gate?: Promise<void>) {}
  async connect(): Promise<void> {
    this.connects++;
  }
  async send(messages: readonly KafkaMessage[]): Promise<void> {
    this.sent.push(messages.map((m) => m.key?.toString() ?? null));
    await this.gate;
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

const results = (pages: string[]): object[] => pages.map((page, i) => ({ id: `id-${i}`, key: { page }, count: i }));
const sinkOver = (service: KafkaProducerService, options: KafkaSinkOptions = FAST): KafkaSink => new KafkaSink(kafkaSinkConfig(ENDPOINT, options), service);

describe('KafkaSink', () => {
  it('sends a write as requests split by count, in order, keyed by the key field', async () => {
    const service = new FakeService();
    const sink = sinkOver(service, { ...FAST, maxBatchRecords: 2 });
    await sink.write(results(['/a', '/b', '/c', '/d', '/e']));
    expect(service.sent).toEqual([['/a', '/b'], ['/c', '/d'], ['/e']]);
    expect(service.connects).toBe(1);
  });

  it('resolves a write only once every request of it is acknowledged', async () => {
    let release: () => void = () => undefined;
    const service = new FakeService([], new Promise<void>((resolve) => (release = resolve)));
    const sink = sinkOver(service);
    let resolved = false;
    const write = sink.write(results(['/a'])).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(service.sent).toHaveLength(1);
    expect(resolved).toBe(false);
    release();
    await write;
    expect(resolved).toBe(true);
  });

  it('sends a request again after a retriable failure, and the write succeeds', async () => {
    const service = new FakeService([unreachable(), gaveUp(protocolError('NOT_LEADER_OR_FOLLOWER', true))]);
    await sinkOver(service).write(results(['/a', '/b']));
    expect(service.sent).toEqual([['/a', '/b'], ['/a', '/b'], ['/a', '/b']]);
  });

  it('gives up after the configured retries with one line saying so', async () => {
    const service = new FakeService([unreachable(), unreachable(), unreachable(), unreachable()]);
    const error = await failureOf(sinkOver(service).write(results(['/a'])));
    expect(service.sent).toHaveLength(3);
    expect(isUserError(error)).toBe(true);
    expect(error.message).toMatch(/^cannot reach Kafka at 127\.0\.0\.1:9 .*\(gave up after 3 attempts\)$/);
  });

  it('does not retry what a resend cannot fix, and fails every later write with the same error', async () => {
    const service = new FakeService([refused(protocolError('TOPIC_AUTHORIZATION_FAILED', false, 'Not authorized to access topics: [Topic authorization failed]'))]);
    const sink = sinkOver(service);
    const first = await failureOf(sink.write(results(['/a'])));
    expect(service.sent).toHaveLength(1);
    expect(first.message).toContain('Not authorized');
    expect(first.message).not.toContain('gave up');
    expect(await failureOf(sink.write(results(['/b'])))).toBe(first);
    expect(service.sent).toHaveLength(1);
  });

  it('treats a topic that vanished as fatal even though kafkajs retried it', async () => {
    const service = new FakeService([gaveUp(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true, 'This server does not host this topic-partition'))]);
    const error = await failureOf(sinkOver(service).write(results(['/a'])));
    expect(service.sent).toHaveLength(1);
    expect(error.message).toBe("Kafka topic 'results' does not exist on 127.0.0.1:9; create it first (Sluice does not create topics)");
  });

  it("names the largest record of a batch the topic refused as too large", async () => {
    const service = new FakeService([refused(protocolError('MESSAGE_TOO_LARGE', false))]);
    const records = [{ id: 'small', key: { page: '/a' } }, { id: 'large', key: { page: '/b' }, pad: 'x'.repeat(500) }];
    const error = await failureOf(sinkOver(service).write(records));
    expect(error.message).toMatch(/^Kafka topic 'results' refused a batch as too large \(its largest, result 'large', is \d+ bytes\)/);
  });

  it('fails an over-size record before sending anything of the write', async () => {
    const service = new FakeService();
    const records = [{ id: 'ok', key: { page: '/a' } }, { id: 'huge', key: { page: '/b' }, pad: 'x'.repeat(2000) }];
    const error = await failureOf(sinkOver(service, { ...FAST, maxBatchBytes: 1024 }).write(records));
    expect(error.message).toMatch(/result 'huge' is \d+ bytes/);
    expect(service.sent).toEqual([]);
  });

  it('reports a failed connection as the one-line Kafka description', async () => {
    const service: KafkaProducerService = { connect: () => Promise.reject(unreachable()), send: () => Promise.resolve(), disconnect: () => Promise.resolve() };
    const error = await failureOf(sinkOver(service).open());
    expect(isUserError(error)).toBe(true);
    expect(error.message).toMatch(/^cannot reach Kafka at 127\.0\.0\.1:9 /);
  });

  it('closes after the write in flight, and disconnects only what it connected', async () => {
    let release: () => void = () => undefined;
    const service = new FakeService([], new Promise<void>((resolve) => (release = resolve)));
    const sink = sinkOver(service);
    const write = sink.write(results(['/a']));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const close = sink.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(service.disconnects).toBe(0);
    release();
    await Promise.all([write, close]);
    expect(service.disconnects).toBe(1);

    const idle = new FakeService();
    await sinkOver(idle).close();
    expect(idle.disconnects).toBe(0);
  });
});

describe('classifyKafkaError', () => {
  it('retries connection trouble and retriable broker errors, whether or not kafkajs gave up on them', () => {
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection timeout'))).toBe('retry');
    expect(classifyKafkaError(unreachable())).toBe('retry');
    expect(classifyKafkaError(gaveUp(protocolError('REQUEST_TIMED_OUT', true)))).toBe('retry');
  });

  it('does not retry authorization, size, missing topics, sequence errors or unknown errors', () => {
    for (const type of ['TOPIC_AUTHORIZATION_FAILED', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'OUT_OF_ORDER_SEQUENCE_NUMBER']) {
      expect(classifyKafkaError(refused(protocolError(type, false))), type).toBe('fatal');
    }
    expect(classifyKafkaError(gaveUp(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true)))).toBe('fatal');
    expect(classifyKafkaError(new Error('something else'))).toBe('fatal');
    expect(classifyKafkaError(refused(new TypeError('bug')))).toBe('fatal');
  });
});
