import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../../src/core/errors.js';
import {
  FirehoseSink,
  firehoseSinkConfig,
  parseFirehoseUrl,
  type DeliveryStreamInfo,
  type FailedPut,
  type FirehoseService,
  type FirehoseSinkOptions,
} from '../../../../src/sinks/firehose/index.js';
import { failureOf } from '../../../support/failures.js';

// The sink over a fake Firehose service: what each PutRecordBatch call carries, which failures
// are retried (whole calls, or only the failed records of a partly failed call), what is
// rejected without being sent, and which failures end the run with one line. Errors are shaped
// as the AWS SDK throws them (a `name`, `$metadata.httpStatusCode`).

const ENDPOINT = parseFirehoseUrl('firehose://results?region=eu-west-1', '--sink', {});
const FAST: FirehoseSinkOptions = { env: {}, retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 2 } };

const awsError = (name: string, status: number, message = name): Error => Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

/** One scripted answer to a PutRecordBatch call: the indices it fails, or an error it throws. */
type Answer = { readonly fail: readonly number[]; readonly code?: string } | Error;

class FakeService implements FirehoseService {
  /** The lines of each call, as text. */
  readonly calls: string[][] = [];
  closed = false;
  constructor(
    private readonly answers: Answer[] = [],
    private readonly info: DeliveryStreamInfo | Error = { status: 'ACTIVE', type: 'DirectPut' },
  ) {}
  async describe(): Promise<DeliveryStreamInfo> {
    if (this.info instanceof Error) throw this.info;
    return this.info;
  }
  async putRecordBatch(records: readonly Uint8Array[]): Promise<readonly FailedPut[]> {
    this.calls.push(records.map((r) => Buffer.from(r).toString('utf8')));
    const answer = this.answers.shift();
    if (answer === undefined) return [];
    if (answer instanceof Error) throw answer;
    return answer.fail.map((index) => ({ index, code: answer.code ?? 'ServiceUnavailableException', message: 'Slow down.' }));
  }
  close(): void {
    this.closed = true;
  }
}

const results = (n: number): { id: string; count: number }[] => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, count: i }));
const line = (r: unknown): string => `${JSON.stringify(r)}\n`;
const sinkOver = (service: FirehoseService, options: FirehoseSinkOptions = FAST): FirehoseSink => new FirehoseSink(firehoseSinkConfig(ENDPOINT, options), service);

describe('FirehoseSink', () => {
  it('sends each result as its JSON line with a newline, one Firehose record each', async () => {
    const service = new FakeService();
    const written = [{ id: 'a', key: { page: '/é' } }, 'text', 42, null];
    expect(await sinkOver(service).write(written)).toBeUndefined();
    expect(service.calls).toEqual([written.map(line)]);
  });

  it('sends again only the records a partly failed call did not take, until all are taken', async () => {
    const service = new FakeService([{ fail: [1, 3] }, { fail: [0] }]);
    const sink = sinkOver(service);
    const written = results(5);
    expect(await sink.write(written)).toBeUndefined();
    expect(service.calls).toEqual([written.map(line), [line(written[1]), line(written[3])], [line(written[1])]]);
    expect(sink.metrics()).toMatchObject({ records: 5, firehoseRecords: 5, putCalls: 3, retriedRecords: 3 });
  });

  it('sends a whole call again after throttling or a 5xx, and the write succeeds', async () => {
    const service = new FakeService([awsError('ServiceUnavailableException', 400, 'Slow down.'), awsError('InternalFailure', 500)]);
    const sink = sinkOver(service);
    await sink.write(results(2));
    expect(service.calls).toHaveLength(3);
    expect(service.calls[2]).toEqual(results(2).map(line));
    expect(sink.metrics()).toMatchObject({ records: 2, putCalls: 3, retriedRecords: 4 });
  });

  it('gives up on records Firehose keeps refusing with one line, and fails every later write with it', async () => {
    const service = new FakeService([{ fail: [0] }, { fail: [0] }, { fail: [0] }, { fail: [0] }]);
    const sink = sinkOver(service);
    const error = await failureOf(sink.write(results(2)));
    expect(service.calls).toHaveLength(4); // 1 + maxRetries
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe("Firehose delivery stream 'results' still refused 1 records after 4 attempts; last error ServiceUnavailableException: Slow down.");
    expect(await failureOf(sink.write(results(1)))).toBe(error);
    expect(service.calls).toHaveLength(4);
  });

  it('does not retry what a resend cannot fix', async () => {
    const service = new FakeService([awsError('AccessDeniedException', 400, 'User: arn:aws:sts::1:assumed-role/task is not authorized to perform: firehose:PutRecordBatch')]);
    const error = await failureOf(sinkOver(service).write(results(1)));
    expect(service.calls).toHaveLength(1);
    expect(error.message).toMatch(/^AWS denied access to Firehose delivery stream 'results' in eu-west-1: User: .* not authorized .*; grant firehose:PutRecordBatch and firehose:DescribeDeliveryStream on it$/);
  });

  it('names an endpoint it cannot reach, after retrying', async () => {
    const refusedConnection = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const service = new FakeService([refusedConnection(), refusedConnection(), refusedConnection(), refusedConnection()]);
    const error = await failureOf(sinkOver(service).write(results(1)));
    expect(service.calls).toHaveLength(4);
    expect(error.message).toBe("cannot reach Firehose delivery stream 'results' in eu-west-1: connect ECONNREFUSED 127.0.0.1:9 (gave up after 4 attempts)");
  });

  it('says how to give a region when the SDK finds none', async () => {
    const endpoint = parseFirehoseUrl('firehose://results', '--sink', {});
    const sink = new FirehoseSink(firehoseSinkConfig(endpoint, FAST), new FakeService([], new Error('Region is missing')));
    expect((await failureOf(sink.open())).message).toBe("no AWS region for Firehose delivery stream 'results': add ?region=REGION to the URL or set AWS_REGION");
  });

  it('returns a result over the record limit as rejected and sends the others', async () => {
    const service = new FakeService();
    const big = { id: 'big', text: 'x'.repeat(200) };
    const written = [{ id: 'a' }, big, { id: 'b' }];
    const outcome = await sinkOver(service, { ...FAST, maxRecordBytes: 100 }).write(written);
    expect(service.calls).toEqual([[line({ id: 'a' }), line({ id: 'b' })]]);
    expect(outcome).toEqual({
      rejected: [{ record: big, code: ErrorCode.RECORD_TOO_LARGE, reason: "result 'big' is 223 bytes as a Firehose record (JSON and newline), over the limit of 100 bytes per record" }],
    });
  });

  it('packs consecutive results into records up to the record limit and counts what that saves', async () => {
    const service = new FakeService();
    const sink = sinkOver(service, { ...FAST, pack: true, maxRecordBytes: 45 });
    const written = results(6); // lines of 22 bytes: two to a record
    await sink.write(written);
    expect(service.calls).toEqual([[0, 2, 4].map((i) => line(written[i]) + line(written[i + 1]))]);
    expect(sink.metrics()).toEqual({ records: 6, firehoseRecords: 3, putCalls: 1, retriedRecords: 0, rejected: 0, billedBytes: 3 * 5120, billedBytesUnpacked: 6 * 5120 });
  });

  it('fails open with one line when the stream is missing, not active, or not Direct PUT', async () => {
    const missing = await failureOf(sinkOver(new FakeService([], awsError('ResourceNotFoundException', 400))).open());
    expect(missing.message).toBe("Firehose delivery stream 'results' in eu-west-1 does not exist; create it first (Sluice does not create delivery streams)");
    const creating = await failureOf(sinkOver(new FakeService([], { status: 'CREATING', type: 'DirectPut' })).open());
    expect(creating.message).toBe("Firehose delivery stream 'results' is CREATING, not ACTIVE; start Sluice once it is ACTIVE");
    const kinesis = await failureOf(sinkOver(new FakeService([], { status: 'ACTIVE', type: 'KinesisStreamAsSource' })).open());
    expect(kinesis.message).toMatch(/reads from its source \(KinesisStreamAsSource\) and takes no direct writes/);
  });

  it('opens without describing when the role may only put', async () => {
    const service = new FakeService([], awsError('AccessDeniedException', 400));
    const sink = sinkOver(service);
    await sink.open();
    await sink.write(results(1));
    expect(service.calls).toHaveLength(1);
  });

  it('waits for the write in flight on close, then releases the client', async () => {
    const service = new FakeService([awsError('ThrottlingException', 400)]);
    const sink = sinkOver(service);
    const write = sink.write(results(1));
    await sink.close();
    await write;
    expect(service.calls).toHaveLength(2);
    expect(service.closed).toBe(true);
  });
});
