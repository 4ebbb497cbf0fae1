import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../../src/core/errors.js';
import {
  parseTimestreamUrl,
  TimestreamSink,
  timestreamSinkConfig,
  type RejectedPoint,
  type TimestreamService,
  type TimestreamSinkOptions,
  type WriteRequest,
} from '../../../../src/sinks/timestream/index.js';
import { failureOf } from '../../../support/failures.js';

// The sink over a fake Timestream service: RejectedRecords become rejections of the right
// results with Timestream's reason, passing failures are retried, the rest end the run with one
// line.

const ENDPOINT = parseTimestreamUrl('timestream://metrics/page_views?region=eu-west-1', '--sink', {});
const FAST: TimestreamSinkOptions = { env: {}, retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 } };

const awsError = (name: string, status: number, message = name): Error => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

type Answer = readonly RejectedPoint[] | Error;

class FakeService implements TimestreamService {
  readonly calls: WriteRequest[] = [];
  constructor(
    private readonly answers: Answer[] = [],
    private readonly table: Error | undefined = undefined,
  ) {}
  async describe(): Promise<void> {
    if (this.table !== undefined) throw this.table;
  }
  async writeRecords(request: WriteRequest): Promise<readonly RejectedPoint[]> {
    this.calls.push(request);
    const answer = this.answers.shift();
    if (answer === undefined) return [];
    if (answer instanceof Error) throw answer;
    return answer;
  }
  close(): void {}
}

const results = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, key: { page: `/p${i}` }, windowStart: 0, windowEnd: 60_000 * (i + 1), revision: 0, count: i }));
const sinkOver = (service: TimestreamService, options: TimestreamSinkOptions = FAST): TimestreamSink => new TimestreamSink(timestreamSinkConfig(ENDPOINT, options), service);

const OUTSIDE = 'The record timestamp is outside the time range [2026-11-22T00:00:00Z, 2026-11-22T06:15:00Z) of the data ingestion window.';

describe('TimestreamSink', () => {
  it('returns RejectedRecords as rejections of the results they came from, with the reason, and counts the rest as written', async () => {
    // the second call's record #1 is the write's result #101
    const service = new FakeService([[{ index: 3, reason: OUTSIDE, existingVersion: undefined }], [{ index: 1, reason: 'A record with a higher version exists.', existingVersion: 4 }]]);
    const sink = sinkOver(service);
    const written = results(150);
    const outcome = await sink.write(written);
    expect(service.calls.map((c) => c.records.length)).toEqual([100, 50]);
    expect(outcome).toEqual({
      rejected: [
        { record: written[3], code: ErrorCode.VALIDATION_FAILED, reason: `Timestream rejected the record: ${OUTSIDE}` },
        { record: written[101], code: ErrorCode.VALIDATION_FAILED, reason: 'Timestream rejected the record: A record with a higher version exists. (Timestream has version 4, this record 1)' },
      ],
    });
    expect(sink.metrics()).toEqual({ records: 148, writeCalls: 2, retriedCalls: 0, rejected: 2 });
  });

  it('puts unmappable results and refused records in the order of the write, and sends only the mappable ones', async () => {
    const service = new FakeService([[{ index: 1, reason: 'Dimension value too long.', existingVersion: undefined }]]);
    const written: Record<string, unknown>[] = results(4);
    written[1] = { ...written[1], count: 'many' };
    const outcome = await sinkOver(service).write(written);
    expect(service.calls[0]?.records).toHaveLength(3);
    expect(outcome && outcome.rejected.map((r) => [r.record, r.code])).toEqual([
      [written[1], ErrorCode.BAD_FIELD],
      [written[2], ErrorCode.VALIDATION_FAILED],
    ]);
  });

  it('sends a call again after throttling, and the write succeeds', async () => {
    const service = new FakeService([awsError('ThrottlingException', 400), awsError('InternalServerException', 500)]);
    const sink = sinkOver(service);
    expect(await sink.write(results(2))).toBeUndefined();
    expect(service.calls).toHaveLength(3);
    expect(sink.metrics()).toEqual({ records: 2, writeCalls: 3, retriedCalls: 2, rejected: 0 });
  });

  it('gives up after the configured retries with one line saying so', async () => {
    const service = new FakeService([awsError('ThrottlingException', 400, 'Rate exceeded'), awsError('ThrottlingException', 400, 'Rate exceeded'), awsError('ThrottlingException', 400, 'Rate exceeded')]);
    const error = await failureOf(sinkOver(service).write(results(1)));
    expect(service.calls).toHaveLength(3);
    expect(error.message).toBe("Timestream table 'metrics.page_views' in eu-west-1: ThrottlingException: Rate exceeded (gave up after 3 attempts)");
  });

  it('fails the run on a ValidationException without retrying, and every later write with it', async () => {
    const service = new FakeService([awsError('ValidationException', 400, 'Dimension name ts_x is reserved.')]);
    const sink = sinkOver(service);
    const error = await failureOf(sink.write(results(1)));
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe("Timestream table 'metrics.page_views' in eu-west-1 refused a write as invalid (Dimension name ts_x is reserved.); check the sink's mapping");
    expect(await failureOf(sink.write(results(1)))).toBe(error);
    expect(service.calls).toHaveLength(1);
  });

  it('fails open with one line when the table is missing, and passes when the role may only write', async () => {
    const missing = await failureOf(sinkOver(new FakeService([], awsError('ResourceNotFoundException', 400, 'The table page_views does not exist.'))).open());
    expect(missing.message).toBe("Timestream table 'metrics.page_views' in eu-west-1 does not exist (The table page_views does not exist.); create it first (Sluice does not create databases or tables)");
    await sinkOver(new FakeService([], awsError('AccessDeniedException', 400))).open();
  });
});
