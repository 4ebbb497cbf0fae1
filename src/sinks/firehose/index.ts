import { openOrRelease } from '../open.js';
import type { RetryPolicy } from 'cockatiel';
import { WriteChain } from '../write-chain.js';
import type { Sink, SinkRejection, WriteResult } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { firehoseSinkConfig, type FirehoseEndpoint, type FirehoseSinkConfig, type FirehoseSinkOptions } from './config.js';
import { encodeResultLine, resultId } from './encoder.js';
import { billedBytes, buildRequests, toFirehoseRecords, type EncodedLine, type FirehoseRecord } from './request-builder.js';
import { firehoseRetryPolicy, PartialFailure, sinkError } from './retry.js';
import { firehoseService, type DeliveryStreamInfo, type FirehoseService } from './service.js';

export {
  AWS_ENDPOINT_ENV,
  FIREHOSE_BILLING_INCREMENT_BYTES,
  FIREHOSE_MAX_BATCH_BYTES,
  FIREHOSE_MAX_BATCH_RECORDS,
  FIREHOSE_MAX_RECORD_BYTES,
  firehoseSinkConfig,
  parseFirehoseUrl,
  type AwsCredentials,
  type FirehoseEndpoint,
  type FirehoseRetryOptions,
  type FirehoseSinkConfig,
  type FirehoseSinkOptions,
} from './config.js';
export { encodeResultLine } from './encoder.js';
export { billedBytes, buildRequests, toFirehoseRecords, type EncodedLine, type FirehoseRecord, type RequestLimits } from './request-builder.js';
export { classifyAwsError, describeFirehoseError } from './retry.js';
export type { DeliveryStreamInfo, FailedPut, FirehoseService } from './service.js';

/**
 * What a Firehose sink has done so far. `billedBytes` is what Firehose bills for the records it
 * took (each rounded up to 5 KB); `billedBytesUnpacked` what the same results would have cost as
 * one record each — equal without packing, the saving with it.
 *
 * @see FirehoseSink.metrics
 */
export interface FirehoseSinkMetrics {
  /** Results Firehose took. */
  readonly records: number;
  /** Firehose records they travelled in (fewer than `records` with packing). */
  readonly firehoseRecords: number;
  /** PutRecordBatch calls, retries included. */
  readonly putCalls: number;
  /** Firehose records sent again after a failed or partly failed call. */
  readonly retriedRecords: number;
  /** Results refused before sending (too large) and returned for the dead-letter output. */
  readonly rejected: number;
  readonly billedBytes: number;
  readonly billedBytesUnpacked: number;
}

type Counters = { -readonly [K in keyof FirehoseSinkMetrics]: number };

/**
 * Writes results to an Amazon Data Firehose delivery stream (`--sink
 * firehose://DELIVERY_STREAM[?region=R&pack=true]`) as newline-delimited JSON: each result is
 * its JSON text and `\n`, so the S3 objects Firehose writes load into Athena or Redshift COPY
 * line by line.
 *
 * `write` sends PutRecordBatch calls of at most 500 records and 4 MiB and resolves once Firehose
 * took every record: that is the acknowledgement checkpoints wait for. Calls that fail for a
 * passing reason (throttling, 5xx, timeouts) are sent again, and of a partly failed call
 * (FailedPutCount > 0) only the records Firehose did not take, with backoff and jitter. A result
 * over the 1,000 KiB record limit is not sent: `write` returns it as rejected
 * (RECORD_TOO_LARGE) for the dead-letter output. Anything else (a missing stream, refused
 * access) fails the run with one line. Firehose keeps no order and may deliver a record twice;
 * results carry their id, so readers can tell.
 *
 * With `pack=true`, consecutive results share a Firehose record up to the record limit: the S3
 * objects hold the same lines, and the bill (per record, rounded up to 5 KB) shrinks; see
 * {@link FirehoseSink.metrics}.
 *
 * @example
 * const sink = new FirehoseSink(firehoseSinkConfig(endpoint), firehoseService(endpoint, config.client));
 * await sink.open(); await sink.write(results); await sink.close();
 * @see openFirehoseSink
 */
export class FirehoseSink implements Sink {
  readonly description: string;
  private readonly policy: RetryPolicy;
  private readonly counters: Counters = { records: 0, firehoseRecords: 0, putCalls: 0, retriedRecords: 0, rejected: 0, billedBytes: 0, billedBytesUnpacked: 0 };
  private opening: Promise<void> | undefined;
  private readonly writes = new WriteChain();
  private failure: UserError | undefined;

  constructor(
    private readonly config: FirehoseSinkConfig,
    private readonly service: FirehoseService,
  ) {
    this.description = `firehose://${config.endpoint.deliveryStream}`;
    this.policy = firehoseRetryPolicy(config.retry);
  }

  /**
   * Checks the delivery stream (DescribeDeliveryStream); safe to call more than once. Rejects
   * with one line when it is missing, not ACTIVE, not Direct PUT, or AWS refuses the
   * credentials. A role allowed to put but not to describe passes: its first write tells.
   */
  open(): Promise<void> {
    this.opening ??= this.check().catch((err: unknown) => {
      throw this.fail(err instanceof UserError ? err : sinkError(err, this.config.endpoint, 1));
    });
    return this.opening;
  }

  write(records: readonly unknown[]): Promise<void | WriteResult> {
    // writes are issued one at a time; chaining anyway lets `close` wait for the last one
    return this.writes.run(this.description, () => this.send(records));
  }

  /** Counters since the sink was made. */
  metrics(): FirehoseSinkMetrics {
    return { ...this.counters };
  }

  /** Waits for the write in flight (nothing is buffered beyond it), then releases the client. */
  async close(): Promise<void> {
    if (await this.writes.close()) this.service.close();
  }

  private async check(): Promise<void> {
    const { endpoint } = this.config;
    let attempts = 0;
    let info: DeliveryStreamInfo;
    try {
      info = await this.policy.execute(() => {
        attempts++;
        return this.service.describe();
      });
    } catch (err) {
      if ((err as { name?: unknown }).name === 'AccessDeniedException') return;
      throw sinkError(err, endpoint, attempts);
    }
    const stream = `Firehose delivery stream '${endpoint.deliveryStream}'`;
    if (info.status !== undefined && info.status !== 'ACTIVE') {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${stream} is ${info.status}, not ACTIVE; start Sluice once it is ACTIVE`);
    }
    if (info.type !== undefined && info.type !== 'DirectPut') {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${stream} reads from its source (${info.type}) and takes no direct writes; give Sluice a Direct PUT delivery stream`);
    }
  }

  private async send(records: readonly unknown[]): Promise<void | WriteResult> {
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    if (records.length === 0) return;
    const { maxRecordBytes, maxBatchRecords, maxBatchBytes, pack } = this.config;
    const rejected: SinkRejection[] = [];
    const lines: EncodedLine[] = [];
    records.forEach((record, index) => {
      const line = encodeResultLine(record);
      if (line.length <= maxRecordBytes) lines.push({ index, line });
      else rejected.push({ record, code: ErrorCode.RECORD_TOO_LARGE, reason: tooLarge(record, line.length, maxRecordBytes) });
    });
    for (const request of buildRequests(toFirehoseRecords(lines, { pack, maxRecordBytes }), { maxBatchRecords, maxBatchBytes })) {
      await this.put(request);
    }
    this.counters.rejected += rejected.length;
    return rejected.length === 0 ? undefined : { rejected };
  }

  /** One call, then again for whatever it did not take, until all is taken or the policy gives up. */
  private async put(request: readonly FirehoseRecord[]): Promise<void> {
    let pending = request;
    let attempts = 0;
    try {
      await this.policy.execute(async () => {
        if (attempts > 0) this.counters.retriedRecords += pending.length;
        attempts++;
        this.counters.putCalls++;
        const failed = await this.service.putRecordBatch(pending.map((record) => record.data));
        const refused = new Set(failed.map((f) => f.index));
        pending.forEach((record, i) => {
          if (!refused.has(i)) this.taken(record);
        });
        if (failed.length > 0) {
          pending = failed.map((f) => pending[f.index]).filter((record): record is FirehoseRecord => record !== undefined);
          throw new PartialFailure(failed);
        }
      });
    } catch (err) {
      throw this.fail(sinkError(err, this.config.endpoint, attempts));
    }
  }

  private taken(record: FirehoseRecord): void {
    this.counters.records += record.results.length;
    this.counters.firehoseRecords++;
    this.counters.billedBytes += billedBytes(record.data.length);
    this.counters.billedBytesUnpacked += record.unpackedBilledBytes;
  }

  /** Keeps the first failure: after it nothing more is sent, and every later write reports it. */
  private fail(err: UserError): UserError {
    this.failure ??= err;
    return this.failure;
  }
}

/**
 * A Firehose sink that checks its delivery stream on the first write. Prefer
 * {@link openFirehoseSink}, which fails at start-up instead.
 *
 * @example const sink = firehoseSink(parseFirehoseUrl('firehose://results?pack=true', '--sink'))
 * @see openFirehoseSink
 */
export function firehoseSink(endpoint: FirehoseEndpoint, options: FirehoseSinkOptions = {}): FirehoseSink {
  const config = firehoseSinkConfig(endpoint, options);
  return new FirehoseSink(config, firehoseService(endpoint, config.client));
}

/**
 * Opens a Firehose sink eagerly: checks the delivery stream, so a missing stream, a wrong region
 * or refused credentials fail the run before any input is read, with one line such as
 * `Firehose delivery stream 'results' in eu-west-1 does not exist; create it first …`.
 *
 * @example const sink = await openFirehoseSink(parseFirehoseUrl('firehose://results', '--sink'), { endpointUrl: moto.endpoint })
 * @see firehoseSink
 * @see openKafkaSink
 */
export async function openFirehoseSink(endpoint: FirehoseEndpoint, options: FirehoseSinkOptions = {}): Promise<FirehoseSink> {
  return openOrRelease(firehoseSink(endpoint, options));
}

function tooLarge(record: unknown, bytes: number, limit: number): string {
  const id = resultId(record);
  return `${id === undefined ? 'result' : `result '${id}'`} is ${bytes} bytes as a Firehose record (JSON and newline), over the limit of ${limit} bytes per record`;
}
