import aggregation from 'aws-kinesis-agg';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../../src/core/errors.js';
import {
  KINESIS_MAX_RECORD_BYTES,
  KinesisSink,
  kinesisSinkConfig,
  parseKinesisUrl,
  type KinesisEntry,
  type KinesisSinkOptions,
  type KinesisSinkService,
  type PutOutcome,
  type ShardRange,
  type StreamSummary,
} from '../../../../src/sinks/kinesis/index.js';
import { failureOf } from '../../../support/failures.js';

// The sink over a fake Kinesis service: what each PutRecords call carries, which failures are
// retried (whole calls, or only the failed records of a partly failed call), what is rejected
// without being sent, and which failures end the run with one line. Errors are shaped as the AWS
// SDK throws them (a `name`, `$metadata.httpStatusCode`).

const FAST: KinesisSinkOptions = { env: {}, retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 2 } };
const endpoint = (query = ''): ReturnType<typeof parseKinesisUrl> => parseKinesisUrl(`kinesis://results?region=eu-west-1${query}`, 'sink', {});

const awsError = (name: string, status: number, message = name): Error => Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

/** One scripted answer to a PutRecords call: the indices it fails (with a code), or an error it throws. */
type Answer = { readonly fail: readonly number[]; readonly code?: string } | Error;

class FakeService implements KinesisSinkService {
  /** The records of each call. */
  readonly calls: KinesisEntry[][] = [];
  closed = false;
  constructor(
    private readonly answers: Answer[] = [],
    private readonly summary: StreamSummary | Error = { status: 'ACTIVE', openShards: 1 },
    private readonly shards: ShardRange[] = [{ shardId: 'shardId-000000000000', startingHashKey: 0n, endingHashKey: 2n ** 128n - 1n }],
  ) {}
  async describe(): Promise<StreamSummary> {
    if (this.summary instanceof Error) throw this.summary;
    return this.summary;
  }
  async listShards(): Promise<ShardRange[]> {
    return this.shards;
  }
  async putRecords(records: readonly KinesisEntry[]): Promise<readonly PutOutcome[]> {
    this.calls.push(records.map((r) => ({ partitionKey: r.partitionKey, data: r.data })));
    const answer = this.answers.shift();
    if (answer instanceof Error) throw answer;
    return records.map((_, i) => (answer?.fail.includes(i) === true ? { code: answer.code ?? 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' } : { shardId: 'shardId-000000000000' }));
  }
  close(): void {
    this.closed = true;
  }
}

const results = (n: number): { id: string; key: string; count: number }[] => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, key: `user-${i}`, count: i }));
const line = (r: unknown): string => `${JSON.stringify(r)}\n`;
const texts = (call: readonly KinesisEntry[] | undefined): string[] => (call ?? []).map((r) => r.data.toString('utf8'));
const sinkOver = (service: KinesisSinkService, options: KinesisSinkOptions = FAST, query = ''): KinesisSink => new KinesisSink(kinesisSinkConfig(endpoint(query), options), service);

describe('KinesisSink', () => {
  it("sends each result as its JSON line, keyed by the result's key, else its id", async () => {
    const service = new FakeService();
    const written = [{ id: 'a', key: { page: '/é', n: 1 } }, { id: 'b', key: 'user-7' }, { id: 'c', key: null }, { id: 'd', key: 7 }, 'text'];
    expect(await sinkOver(service).write(written)).toBeUndefined();
    expect(texts(service.calls[0])).toEqual(written.map(line));
    // object keys canonical (sorted), strings as they are, null → id, no key and no id → a hash of the line
    expect(service.calls[0]?.map((r) => r.partitionKey)).toEqual(['{"n":1,"page":"/é"}', 'user-7', 'c', '7', expect.stringMatching(/^[0-9a-f]{32}$/)]);
  });

  it('takes the partition key from ?key=FIELD', async () => {
    const service = new FakeService();
    await sinkOver(service, FAST, '&key=device.id').write([{ id: 'a', device: { id: 'd-1' } }, { id: 'b' }]);
    expect(service.calls[0]?.map((r) => r.partitionKey)).toEqual(['d-1', 'b']);
  });

  it('sends again only the records a partly failed call did not take, until all are taken', async () => {
    const service = new FakeService([{ fail: [1, 3] }, { fail: [0], code: 'InternalFailure' }]);
    const sink = sinkOver(service);
    const written = results(5);
    expect(await sink.write(written)).toBeUndefined();
    expect(service.calls.map(texts)).toEqual([written.map(line), [line(written[1]), line(written[3])], [line(written[1])]]);
    expect(sink.metrics()).toMatchObject({ userRecords: 5, kinesisRecords: 5, putCalls: 3, retriedRecords: 3, throttled: 2, putUnits: 5 });
  });

  it('sends a whole call again after throttling or a 5xx, and the write succeeds', async () => {
    const service = new FakeService([awsError('ProvisionedThroughputExceededException', 400, 'Rate exceeded'), awsError('InternalFailure', 500)]);
    const sink = sinkOver(service);
    await sink.write(results(2));
    expect(service.calls.map(texts)).toEqual([results(2).map(line), results(2).map(line), results(2).map(line)]);
    expect(sink.metrics()).toMatchObject({ userRecords: 2, putCalls: 3, retriedRecords: 4, throttled: 1 });
  });

  it('gives up after the retries with one line that says how often it tried', async () => {
    const service = new FakeService(Array.from({ length: 4 }, () => ({ fail: [0] })));
    const err = await failureOf(sinkOver(service).write(results(1)));
    expect(isUserError(err) && err.code).toBe(ErrorCode.UNWRITABLE_OUTPUT);
    expect((err as Error).message).toMatch(/^Kinesis stream 'results' in eu-west-1 still refused 1 records after 4 attempts \(its shards are over their write rate: add shards or slow the input\); last error ProvisionedThroughputExceededException: Rate exceeded for shard$/);
  });

  it('returns a result over the record limit as RECORD_TOO_LARGE and sends the others', async () => {
    const service = new FakeService();
    const sink = sinkOver(service);
    const big = { id: 'big', key: 'k', text: 'x'.repeat(KINESIS_MAX_RECORD_BYTES) };
    const written = [results(1)[0], big, results(2)[1]];
    const result = await sink.write(written);
    expect(result).toEqual({ rejected: [{ record: big, code: ErrorCode.RECORD_TOO_LARGE, reason: expect.stringMatching(/^result 'big' is \d+ bytes as a Kinesis record .* over the limit of 1048576 bytes per record$/) }] });
    expect(texts(service.calls[0])).toEqual([line(written[0]), line(written[2])]);
    expect(sink.metrics()).toMatchObject({ userRecords: 2, rejected: 1 });
  });

  it('counts the partition key in the record limit', async () => {
    const service = new FakeService();
    const key = 'k'.repeat(100);
    const fits = { id: 'a', key, pad: '' };
    const size = Buffer.byteLength(line(fits)) + key.length;
    const result = await sinkOver(service, { ...FAST, maxRecordBytes: size }).write([fits, { ...fits, pad: 'x' }]);
    expect(result?.rejected.map((r) => (r.record as { pad: string }).pad)).toEqual(['x']);
  });

  it('with aggregation: fewer Kinesis records, each user record inside with its own key', async () => {
    const service = new FakeService();
    const sink = sinkOver(service, FAST, '&aggregate=true');
    const written = results(300);
    await sink.write(written);
    const sent = service.calls.flat();
    expect(sent).toHaveLength(1);
    const users: { partitionKey: string; data: string }[] = [];
    aggregation.deaggregateSync({ data: sent[0]?.data.toString('base64') ?? '', partitionKey: sent[0]?.partitionKey ?? '', sequenceNumber: '1', approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' }, true, (err, records) => {
      expect(err).toBeFalsy();
      for (const r of records ?? []) users.push({ partitionKey: r.partitionKey, data: Buffer.from(r.data, 'base64').toString('utf8') });
    });
    expect(users).toEqual(written.map((r) => ({ partitionKey: r.key, data: line(r) })));
    expect(sent[0]?.partitionKey).toBe('user-0');
    expect(sink.metrics()).toMatchObject({ userRecords: 300, kinesisRecords: 1, aggregatedRecords: 1, putUnits: 1, putUnitsUnaggregated: 300, shardMapLoads: 1 });
  });

  it('fails open with a line that names the missing stream and says to create it', async () => {
    const service = new FakeService([], awsError('ResourceNotFoundException', 400, 'Stream results under account 000000000000 not found.'));
    const sink = sinkOver(service);
    const err = await failureOf(sink.open());
    expect(isUserError(err) && err.code).toBe(ErrorCode.UNWRITABLE_OUTPUT);
    expect((err as Error).message).toBe("Kinesis stream 'results' in eu-west-1 does not exist; create it first, e.g. aws kinesis create-stream --stream-name results --shard-count 1 (Sluice does not create streams)");
    // every later write reports the same failure, and nothing is sent
    expect(await failureOf(sink.write(results(1)))).toBe(err);
    expect(service.calls).toEqual([]);
  });

  it('refuses a stream that is not writable yet', async () => {
    const err = await failureOf(sinkOver(new FakeService([], { status: 'CREATING', openShards: 0 })).open());
    expect((err as Error).message).toBe("Kinesis stream 'results' is CREATING, not ACTIVE; start Sluice once it is ACTIVE");
  });

  it('a failure that retrying cannot fix ends the run at once', async () => {
    const service = new FakeService([awsError('AccessDeniedException', 400, 'not authorized to perform: kinesis:PutRecords')]);
    const err = await failureOf(sinkOver(service).write(results(1)));
    expect((err as Error).message).toMatch(/^AWS denied access to Kinesis stream 'results' in eu-west-1: .*; grant kinesis:PutRecords/);
    expect(service.calls).toHaveLength(1);
  });

  it('put entries as given (replay), and closes its client once', async () => {
    const service = new FakeService();
    const sink = sinkOver(service);
    const tooLarge = await sink.writeEntries([
      { partitionKey: 'user-7', data: Buffer.from('a') },
      { partitionKey: 'x', data: Buffer.alloc(KINESIS_MAX_RECORD_BYTES) },
    ]);
    expect(tooLarge).toEqual([1]);
    expect(service.calls).toEqual([[{ partitionKey: 'user-7', data: Buffer.from('a') }]]);
    await sink.close();
    await sink.close();
    expect(service.closed).toBe(true);
  });
});
