import type { RetryPolicy } from 'cockatiel';
import type { Sink, SinkRejection, WriteResult } from '../../core/connectors.js';
import { ErrorCode, type UserError } from '../../core/errors.js';
import { influxSinkConfig, type InfluxSinkConfig, type InfluxSinkOptions } from './config.js';
import { influxLineEncoder, type InfluxLine, type LineOutcome } from './encoder.js';
import type { InfluxEndpoint } from './endpoint.js';
import { buildBatches, writeRequest } from './request-builder.js';
import { classifyResponse, deliver, failure, fatalAnswer, influxRetryPolicy, serverMessage, throwIfRetriable } from './retry.js';
import { influxHttpService, type InfluxResponse, type InfluxService } from './service.js';

export {
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MEASUREMENT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  INFLUXDB_MAX_BODY_BYTES,
  MAX_RETRY_AFTER_MS,
  RECOMMENDED_BATCH_LINES,
  influxSinkConfig,
  type InfluxRetryOptions,
  type InfluxSinkConfig,
  type InfluxSinkOptions,
} from './config.js';
export { escapeMeasurement, escapeName, fieldString, influxLineEncoder, measurementProblem, type InfluxLine, type LineOutcome } from './encoder.js';
export { INFLUXDB_ENV, parseInfluxUrl, redactUrl, Secret, type InfluxApi, type InfluxAuth, type InfluxEndpoint } from './endpoint.js';
export { buildBatches, writeRequest, type BatchLimits, type InfluxRequest } from './request-builder.js';
export { classifyNetworkError, classifyResponse, deliver, influxRetryPolicy, RetriableAnswer, retryAfterMs, serverMessage, type Verdict } from './retry.js';
export { influxHttpService, type InfluxResponse, type InfluxService } from './service.js';

/**
 * Writes window results to InfluxDB as line protocol (`--sink influxdb://HOST:PORT/BUCKET…`):
 * InfluxDB 2.x and Amazon Timestream for InfluxDB through `/api/v2/write` (the default), InfluxDB
 * 1.x through `/write` (`api=v1`). One point per result, see ./encoder.ts; a re-fired or
 * re-emitted result overwrites its point, so the bucket ends up with each window's last revision.
 *
 * `write` sends the records as requests of at most 5,000 lines (and 10 MB), in order, and
 * resolves once InfluxDB stored every line it will ever take: that is the acknowledgement
 * checkpoints wait for. Throttling (429, honouring `Retry-After`), server errors (5xx), timeouts
 * and lost connections are retried inside `write` with backoff and jitter. Results InfluxDB
 * refuses for good (a field type conflict, a point outside the retention period) and results
 * line protocol cannot carry are returned as rejections with the reason, and the runtime
 * dead-letters them; see ./retry.ts for how refused lines are found in a batch. Anything else —
 * unreachable after the retries, refused credentials, a missing bucket — fails the write with a
 * one-line `UserError`, and every later write with the same one. InfluxDB cannot rewind, so
 * there is no `position`.
 *
 * Normal operation logs nothing; no message ever contains the token or password.
 *
 * @example
 * const sink = new InfluxSink(influxSinkConfig(endpoint), influxHttpService(endpoint.baseUrl, { timeoutMs: 30_000 }));
 * await sink.open(); const result = await sink.write(results); await sink.close();
 * @see openInfluxSink
 * @see influxSink
 */
export class InfluxSink implements Sink {
  readonly description: string;
  private readonly encode: (record: unknown) => LineOutcome;
  private readonly policy: RetryPolicy;
  private opening: Promise<void> | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private failure: UserError | undefined;
  private closed = false;

  constructor(
    private readonly config: InfluxSinkConfig,
    private readonly service: InfluxService,
  ) {
    // the URL as given: it never holds a credential (those come from the environment)
    this.description = config.endpoint.url;
    this.encode = influxLineEncoder(config.measurement);
    this.policy = influxRetryPolicy(config.retry);
  }

  /**
   * Checks address, credentials and bucket with an empty write (InfluxDB checks all three before
   * it reads a body); safe to call more than once. Rejects with the one-line description of what
   * is wrong.
   */
  open(): Promise<void> {
    this.opening ??= this.check().catch((err: unknown) => {
      throw this.fail(failure(err, this.config.endpoint, this.config.retry.maxRetries + 1));
    });
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void | WriteResult> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    const done = this.writing.then(() => this.send(records));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Waits for the write in flight; fetch's pooled connections need no closing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
  }

  private async check(): Promise<void> {
    const response = await this.request([]);
    const verdict = classifyResponse(response, 0);
    // 2.x answers an empty body with 400 "writing requires points", after the checks we want
    if (verdict.kind === 'stored' || response.status === 400) return;
    throw fatalAnswer(response.status, serverMessage(response.body, response.status), this.config.endpoint);
  }

  private async send(records: readonly unknown[]): Promise<void | WriteResult> {
    if (this.closed) throw new Error(`${this.description} is closed`);
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    const rejected: SinkRejection[] = [];
    const lines: InfluxLine[] = [];
    for (const record of records) {
      const outcome = this.encode(record);
      if ('line' in outcome) lines.push(outcome.line);
      else rejected.push({ record, code: ErrorCode.BAD_FIELD, reason: `not written to InfluxDB: ${outcome.refused}` });
    }
    const { endpoint, maxBatchLines, maxBatchBytes } = this.config;
    for (const batch of buildBatches(lines, { maxBatchLines, maxBatchBytes })) {
      try {
        rejected.push(...(await deliver(batch, (part) => this.request(part), endpoint)));
      } catch (err) {
        throw this.fail(failure(err, endpoint, this.config.retry.maxRetries + 1));
      }
    }
    return rejected.length === 0 ? undefined : { rejected };
  }

  /** One request through the retry policy: the answer that ended the retries, or the last error. */
  private request(lines: readonly InfluxLine[]): Promise<InfluxResponse> {
    const request = writeRequest(this.config.endpoint, lines);
    return this.policy.execute(async () => throwIfRetriable(await this.service.send(request)));
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * An InfluxDB sink that checks the server on its first write. Prefer {@link openInfluxSink},
 * which fails at start-up instead.
 *
 * @example const sink = influxSink(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink'))
 * @see openInfluxSink
 */
export function influxSink(endpoint: InfluxEndpoint, options: InfluxSinkOptions = {}): InfluxSink {
  const config = influxSinkConfig(endpoint, options);
  return new InfluxSink(config, influxHttpService(endpoint.baseUrl, { timeoutMs: config.requestTimeoutMs }));
}

/**
 * Opens an InfluxDB sink eagerly: one empty write checks that the server answers, takes the
 * credentials and has the bucket, so a mistake fails the run before any input is read, with one
 * line such as `InfluxDB database 'x' does not exist on 127.0.0.1:8086 (HTTP 404: database not
 * found: "x"); create it first (CREATE DATABASE "x")`.
 *
 * @example const sink = await openInfluxSink(parseInfluxUrl('influxdb://db.internal:8086/metrics?org=acme&tls=true', '--sink'), { measurement: 'page-views' })
 * @see influxSink
 * @see parseInfluxUrl
 */
export async function openInfluxSink(endpoint: InfluxEndpoint, options: InfluxSinkOptions = {}): Promise<Sink> {
  const sink = influxSink(endpoint, options);
  await sink.open();
  return sink;
}
