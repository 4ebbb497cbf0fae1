import { describe, expect, it } from 'vitest';
import { checkPlan, FaultSchedule, PUT_RECORD_BATCH_TARGET, type FaultDecision, type FaultPlan, type RequestInfo } from '../../../src/dev/fault-proxy/plan.js';
import { errorAnswer, FIREHOSE_REFUSED, mergePutRecordBatch, parsePutRecordBatch, protocolOf, subRequest, throttleAnswer } from '../../../src/dev/fault-proxy/protocol.js';

// The fault proxy's plan logic and wire formats, without sockets: which request gets which fault,
// that a seed repeats a run, and that injected answers look like the peer's own.

const PUT: RequestInfo = { method: 'POST', path: '/', target: PUT_RECORD_BATCH_TARGET };
const DESCRIBE: RequestInfo = { method: 'POST', path: '/', target: 'Firehose_20150804.DescribeDeliveryStream' };
const BULK: RequestInfo = { method: 'POST', path: '/_bulk', target: undefined };

/** The kinds of the next `n` decisions for `request`. */
function kinds(schedule: FaultSchedule, n: number, request: RequestInfo = PUT): FaultDecision['kind'][] {
  return Array.from({ length: n }, () => schedule.decide(request).kind);
}

describe('fault plan', () => {
  it('accepts a full plan and the empty one', () => {
    const plan: FaultPlan = {
      match: { target: PUT_RECORD_BATCH_TARGET, pathPrefix: '/', method: 'POST' },
      passFirst: 1,
      throttleFirst: 2,
      throttleRate: 0.1,
      throttleAs: { status: 500, code: 'ServiceUnavailableException', message: 'Slow down.' },
      errorFirst: 1,
      errorRate: 0.2,
      dropEvery: 3,
      dropRate: 0.1,
      dropAt: 'response',
      partialFirehose: { everyCall: 2, failFraction: 0.5 },
      latencyMs: 10,
      jitterMs: 5,
      seed: 42,
    };
    expect(checkPlan(plan)).toBe(plan);
    expect(checkPlan({})).toEqual({});
  });

  it.each([
    [[], 'a fault plan must be an object'],
    [{ throttle: 1 }, "unknown fault 'throttle'"],
    [{ errorRate: 2 }, 'errorRate must be between 0 and 1, got 2'],
    [{ throttleFirst: -1 }, 'throttleFirst must be a whole number ≥ 0, got -1'],
    [{ latencyMs: 1.5 }, 'latencyMs must be a whole number ≥ 0, got 1.5'],
    [{ dropEvery: 0 }, 'dropEvery must be a whole number ≥ 1, got 0'],
    [{ dropAt: 'later' }, `dropAt must be 'request' or 'response', got "later"`],
    [{ match: { host: 'x' } }, "unknown match field 'host'"],
    [{ match: { target: '' } }, 'match.target must be a non-empty string'],
    [{ partialFirehose: { failFraction: 0.5 } }, 'partialFirehose.everyCall is required'],
    [{ partialFirehose: { everyCall: 1, failFraction: 0 } }, 'partialFirehose.failFraction must be above 0'],
    [{ partialFirehose: { everyCall: 1, failFraction: 1.5 } }, 'partialFirehose.failFraction must be between 0 and 1'],
    [{ throttleAs: { status: 200, code: 'X' } }, 'throttleAs.status must be an HTTP error status'],
  ])('refuses %j, naming the field', (plan, message) => {
    expect(() => checkPlan(plan)).toThrow(message);
  });
});

describe('fault schedule', () => {
  it('forwards everything, without delay, under the empty plan', () => {
    const schedule = new FaultSchedule({});
    for (let i = 0; i < 20; i++) expect(schedule.decide(PUT)).toEqual({ kind: 'forward', delayMs: 0, matched: true });
  });

  it('lets passFirst through, then throttles throttleFirst, then fails errorFirst, then heals', () => {
    const schedule = new FaultSchedule({ passFirst: 2, throttleFirst: 3, errorFirst: 2 });
    expect(kinds(schedule, 9)).toEqual(['forward', 'forward', 'throttle', 'throttle', 'throttle', 'error', 'error', 'forward', 'forward']);
  });

  it('applies only to matching requests, which alone count toward the plan', () => {
    const schedule = new FaultSchedule({ match: { target: PUT_RECORD_BATCH_TARGET }, throttleFirst: 2 });
    expect(schedule.decide(DESCRIBE)).toEqual({ kind: 'forward', delayMs: 0, matched: false });
    expect(kinds(schedule, 1, DESCRIBE)).toEqual(['forward']);
    expect(kinds(schedule, 3)).toEqual(['throttle', 'throttle', 'forward']);

    const bulk = new FaultSchedule({ match: { pathPrefix: '/_bulk', method: 'post' }, errorFirst: 1 });
    expect(kinds(bulk, 1, { method: 'HEAD', path: '/', target: undefined })).toEqual(['forward']);
    expect(kinds(bulk, 1, { method: 'GET', path: '/_bulk', target: undefined })).toEqual(['forward']);
    expect(kinds(bulk, 2, BULK)).toEqual(['error', 'forward']);
  });

  it('drops every Nth request that reaches the drop step, where the plan says', () => {
    const schedule = new FaultSchedule({ dropEvery: 3 });
    expect(kinds(schedule, 9)).toEqual(['forward', 'forward', 'drop', 'forward', 'forward', 'drop', 'forward', 'forward', 'drop']);
    expect(new FaultSchedule({ dropEvery: 1 }).decide(PUT)).toEqual({ kind: 'drop', at: 'request', delayMs: 0 });
    expect(new FaultSchedule({ dropEvery: 1, dropAt: 'response', latencyMs: 7 }).decide(PUT)).toEqual({ kind: 'drop', at: 'response', delayMs: 7 });
    // a throttled request never reaches the drop step, so it does not count toward dropEvery
    expect(kinds(new FaultSchedule({ throttleFirst: 2, dropEvery: 2 }), 6)).toEqual(['throttle', 'throttle', 'forward', 'drop', 'forward', 'drop']);
  });

  it('fails every Nth PutRecordBatch call partly, and no other call', () => {
    const schedule = new FaultSchedule({ partialFirehose: { everyCall: 2, failFraction: 0.5 } });
    expect(kinds(schedule, 4)).toEqual(['forward', 'partial', 'forward', 'partial']);
    expect(kinds(schedule, 4, DESCRIBE)).toEqual(['forward', 'forward', 'forward', 'forward']);
    expect(kinds(schedule, 1)).toEqual(['forward']);
  });

  it('throttles and fails at the planned rates, and every request with rate 1', () => {
    const n = 4000;
    const count = (plan: FaultPlan, kind: FaultDecision['kind']): number => kinds(new FaultSchedule(plan), n).filter((k) => k === kind).length;
    expect(count({ throttleRate: 0.25, seed: 3 }, 'throttle')).toBeGreaterThan(n * 0.22);
    expect(count({ throttleRate: 0.25, seed: 3 }, 'throttle')).toBeLessThan(n * 0.28);
    expect(count({ errorRate: 0.1, seed: 3 }, 'error')).toBeGreaterThan(n * 0.08);
    expect(count({ errorRate: 0.1, seed: 3 }, 'error')).toBeLessThan(n * 0.12);
    expect(count({ dropRate: 0.5, seed: 9 }, 'drop')).toBeGreaterThan(n * 0.46);
    expect(count({ throttleRate: 1 }, 'throttle')).toBe(n);
    expect(count({ errorRate: 1 }, 'error')).toBe(n);
  });

  it('repeats its decisions, delays and refusals for the same seed, and differs for another', () => {
    const plan: FaultPlan = { throttleRate: 0.2, errorRate: 0.2, dropRate: 0.1, jitterMs: 50, latencyMs: 5, partialFirehose: { everyCall: 1, failFraction: 0.3 }, seed: 11 };
    const run = (p: FaultPlan): unknown[] => {
      const schedule = new FaultSchedule(p);
      return Array.from({ length: 200 }, () => {
        const decision = schedule.decide(PUT);
        return decision.kind === 'partial' ? { ...decision, refused: schedule.refusals(20) } : decision;
      });
    };
    expect(run(plan)).toEqual(run(plan));
    expect(run({ ...plan, seed: 12 })).not.toEqual(run(plan));
    const delays = run(plan).flatMap((d) => ('delayMs' in (d as object) ? [(d as { delayMs: number }).delayMs] : []));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...delays)).toBeLessThan(55);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('refuses a share of a call, at least one record and never all of them', () => {
    const schedule = (failFraction: number): FaultSchedule => new FaultSchedule({ partialFirehose: { everyCall: 1, failFraction }, seed: 5 });
    expect(schedule(0.3).refusals(500)).toHaveLength(150);
    expect(schedule(0.01).refusals(10)).toHaveLength(1);
    expect(schedule(1).refusals(10)).toHaveLength(9);
    expect(schedule(1).refusals(2)).toHaveLength(1);
    expect(schedule(0.5).refusals(1)).toEqual([]);
    expect(schedule(0.5).refusals(0)).toEqual([]);
    for (let n = 2; n < 60; n++) {
      const refused = schedule(0.4).refusals(n);
      expect(refused).toEqual([...new Set(refused)].sort((a, b) => a - b));
      expect(refused.every((i) => Number.isInteger(i) && i >= 0 && i < n)).toBe(true);
    }
  });

  it('spreads refusals over the whole call, not just its head', () => {
    const schedule = new FaultSchedule({ partialFirehose: { everyCall: 1, failFraction: 0.1 }, seed: 2 });
    const hits = new Array<number>(100).fill(0);
    for (let i = 0; i < 300; i++) for (const index of schedule.refusals(100)) hits[index] = (hits[index] ?? 0) + 1;
    // 3,000 refusals over 100 places: every place is hit, none far more than its share
    expect(Math.min(...hits)).toBeGreaterThan(5);
    expect(Math.max(...hits)).toBeLessThan(70);
  });

  it('resolves a chain of resends of only the refused records in a few calls', () => {
    // what a sink that resends only the refused records does against every call failing partly
    const schedule = new FaultSchedule({ partialFirehose: { everyCall: 1, failFraction: 0.3 }, seed: 1 });
    let pending = 500;
    let calls = 0;
    while (pending > 0) {
      calls++;
      expect(schedule.decide(PUT).kind).toBe('partial');
      const refused = schedule.refusals(pending).length;
      expect(refused).toBeLessThan(pending);
      pending = refused;
    }
    expect(calls).toBeLessThanOrEqual(8);
  });
});

describe('fault proxy wire formats', () => {
  it('tells the peer protocol from the request', () => {
    expect(protocolOf({ path: '/', headers: { 'x-amz-target': PUT_RECORD_BATCH_TARGET, 'content-type': 'application/x-amz-json-1.1' } })).toBe('aws-json');
    expect(protocolOf({ path: '/', headers: { 'content-type': 'application/x-amz-json-1.0' } })).toBe('aws-json');
    expect(protocolOf({ path: '/bucket/key', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, …' } })).toBe('aws-xml');
    expect(protocolOf({ path: '/api/v2/write', headers: {} })).toBe('influxdb');
    expect(protocolOf({ path: '/write', headers: {} })).toBe('influxdb');
    expect(protocolOf({ path: '/_bulk', headers: { 'content-type': 'application/x-ndjson' } })).toBe('opensearch');
    expect(protocolOf({ path: '/writer/_doc/1', headers: {} })).toBe('opensearch');
  });

  it('throttles as each peer does', () => {
    const context = { requestId: 'req-1', contentType: 'application/x-amz-json-1.1' };
    const json = throttleAnswer('aws-json', context);
    expect(json.status).toBe(400);
    expect(json.headers).toMatchObject({ 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException', 'x-amzn-requestid': 'req-1' });
    expect(JSON.parse(json.body)).toEqual({ __type: 'ThrottlingException', message: expect.stringMatching(/^Rate exceeded/) });
    // Timestream speaks JSON 1.0: the answer says so too
    expect(throttleAnswer('aws-json', { requestId: 'r', contentType: 'application/x-amz-json-1.0' }).headers['content-type']).toBe('application/x-amz-json-1.0');

    const s3 = throttleAnswer('aws-xml', context);
    expect(s3.status).toBe(503);
    expect(s3.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate\. .*<\/Message><RequestId>req-1<\/RequestId><\/Error>$/);

    const os = throttleAnswer('opensearch', context);
    expect(os.status).toBe(429);
    expect(JSON.parse(os.body)).toMatchObject({ status: 429, error: { type: 'rejected_execution_exception', root_cause: [{ type: 'rejected_execution_exception' }] } });

    const influx = throttleAnswer('influxdb', context);
    expect(influx.status).toBe(429);
    expect(JSON.parse(influx.body)).toMatchObject({ code: 'too many requests' });

    const firehose = throttleAnswer('aws-json', context, { status: 500, code: 'ServiceUnavailableException', message: 'Slow down.' });
    expect(firehose.status).toBe(500);
    expect(JSON.parse(firehose.body)).toEqual({ __type: 'ServiceUnavailableException', message: 'Slow down.' });
  });

  it('fails with 5xx as each peer does', () => {
    const context = { requestId: 'req-2' };
    const json = errorAnswer('aws-json', context);
    expect(json.status).toBe(503);
    expect(json.headers['x-amzn-errortype']).toBe('ServiceUnavailableException');
    expect(JSON.parse(json.body)).toMatchObject({ __type: 'ServiceUnavailableException' });
    expect(errorAnswer('aws-xml', context)).toMatchObject({ status: 500, body: expect.stringContaining('<Code>InternalError</Code>') });
    expect(errorAnswer('opensearch', context).status).toBe(503);
    expect(JSON.parse(errorAnswer('influxdb', context).body)).toMatchObject({ code: 'unavailable' });
  });

  it('takes a PutRecordBatch call apart and merges the peer answer back in the client order', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({ Data: Buffer.from(`{"i":${i}}\n`).toString('base64') }));
    const parsed = parsePutRecordBatch(Buffer.from(JSON.stringify({ DeliveryStreamName: 's', Records: records })));
    expect(parsed?.records).toEqual(records);
    if (parsed === undefined) throw new Error('not parsed');
    const kept = [0, 2, 3];
    expect(JSON.parse(subRequest(parsed, kept).toString('utf8'))).toEqual({ DeliveryStreamName: 's', Records: [records[0], records[2], records[3]] });

    const merged = mergePutRecordBatch(5, kept, {
      FailedPutCount: 1,
      Encrypted: false,
      RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'peer' }, { RecordId: 'd' }],
    });
    expect(merged).toEqual({
      FailedPutCount: 3,
      Encrypted: false,
      RequestResponses: [{ RecordId: 'a' }, FIREHOSE_REFUSED, { ErrorCode: 'InternalFailure', ErrorMessage: 'peer' }, { RecordId: 'd' }, FIREHOSE_REFUSED],
    });
    expect(FIREHOSE_REFUSED.ErrorCode).toBe('ServiceUnavailableException');
  });

  it('leaves alone bodies that are not PutRecordBatch calls, and peer answers that do not fit', () => {
    expect(parsePutRecordBatch(Buffer.from('not json'))).toBeUndefined();
    expect(parsePutRecordBatch(Buffer.from('{"DeliveryStreamName":"s"}'))).toBeUndefined();
    expect(parsePutRecordBatch(Buffer.from('[1]'))).toBeUndefined();
    expect(() => mergePutRecordBatch(3, [0, 1], { RequestResponses: [{ RecordId: 'a' }] })).toThrow('the peer answered 1 RequestResponses for 2 records');
    expect(() => mergePutRecordBatch(3, [0], { message: 'x' })).toThrow('the peer answered no RequestResponses');
  });
});
