import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../../src/core/errors.js';
import {
  MIN_BULK_BYTES,
  OpenSearchRequestError,
  OpenSearchSink,
  openSearchSinkConfig,
  parseOpenSearchUrl,
  type BulkItemResult,
  type OpenSearchService,
  type OpenSearchSinkOptions,
} from '../../../../src/sinks/opensearch/index.js';
import { bulkItems } from '../../../../src/sinks/opensearch/service.js';
import { failureOf } from '../../../support/failures.js';

// The sink over a fake service: how writes become _bulk requests (sized by bytes), which items
// and which failed requests are sent again, what becomes a rejection for the dead-letter output,
// and what ends the run with one line.

const FAST: OpenSearchSinkOptions = { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 } };
const ENDPOINT = parseOpenSearchUrl('opensearch://127.0.0.1:9/results', '--sink', {});

/** One action of a request as the fake service received it. */
interface Action {
  readonly id: string | undefined;
  readonly index: string;
  readonly source: Record<string, unknown>;
}

type Answer = BulkItemResult[] | Error | ((actions: readonly Action[], body: string) => BulkItemResult[] | Error);

/** Answers each bulk call with the next scripted answer, then with success for every action. */
class FakeService implements OpenSearchService {
  readonly requests: Action[][] = [];
  readonly bodies: string[] = [];
  pings = 0;
  closes = 0;

  constructor(
    private readonly answers: Answer[] = [],
    private readonly pingFailures: Error[] = [],
  ) {}

  async ping(): Promise<void> {
    this.pings++;
    const failure = this.pingFailures.shift();
    if (failure !== undefined) throw failure;
  }

  async bulk(body: string): Promise<BulkItemResult[]> {
    expect(body.endsWith('\n')).toBe(true);
    const lines = body.slice(0, -1).split('\n');
    const actions: Action[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = (JSON.parse(lines[i] as string) as { index: { _index: string; _id?: string } }).index;
      actions.push({ id: meta._id, index: meta._index, source: JSON.parse(lines[i + 1] as string) as Record<string, unknown> });
    }
    this.requests.push(actions);
    this.bodies.push(body);
    const next = this.answers.shift();
    const answer = typeof next === 'function' ? next(actions, body) : next;
    if (answer instanceof Error) throw answer;
    return answer ?? actions.map(() => ({ status: 201 }));
  }

  async close(): Promise<void> {
    this.closes++;
  }
}

const results = (n: number, pad = 0): { id: string; count: number; pad: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, count: i, pad: 'x'.repeat(pad) }));
const sinkOver = (service: OpenSearchService, options: OpenSearchSinkOptions = FAST, endpoint = ENDPOINT): OpenSearchSink =>
  new OpenSearchSink(openSearchSinkConfig(endpoint, options), service);
const ids = (service: FakeService): (string | undefined)[][] => service.requests.map((r) => r.map((a) => a.id));
const item = (status: number, type?: string, reason = type ?? ''): BulkItemResult => (type === undefined ? { status } : { status, error: { type, reason } });
const httpError = (status: number, type = 'error', reason = `HTTP ${status}`): OpenSearchRequestError =>
  new OpenSearchRequestError('response', `${status} ${type}: ${reason}`, { status, detail: { type, reason } });
const refused = (): OpenSearchRequestError => new OpenSearchRequestError('connection', 'connect ECONNREFUSED 127.0.0.1:9');

describe('OpenSearchSink: requests', () => {
  it('sends a write as _bulk requests sized by bytes, in order, with _id = the result id', async () => {
    const service = new FakeService();
    const written = results(10, 200);
    const perDocument = Buffer.byteLength(`{"index":{"_index":"results","_id":"r0"}}\n${JSON.stringify(written[0])}\n`);
    const sink = sinkOver(service, { ...FAST, maxBatchBytes: perDocument * 4 });
    expect(await sink.write(written)).toBeUndefined();
    expect(ids(service)).toEqual([['r0', 'r1', 'r2', 'r3'], ['r4', 'r5', 'r6', 'r7'], ['r8', 'r9']]);
    for (const body of service.bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(perDocument * 4);
    expect(service.requests.flat().map((a) => a.source)).toEqual(written);
    expect(service.requests.flat().every((a) => a.index === 'results')).toBe(true);
    expect(service.pings).toBe(1);
  });

  it('starts near 5 MiB per request by default', async () => {
    const service = new FakeService();
    // 1,000 documents of ~10 KiB: about 10 MiB, so two or three requests of at most 5 MiB
    await sinkOver(service).write(results(1_000, 10 * 1024));
    expect(service.requests.length).toBeGreaterThanOrEqual(2);
    for (const body of service.bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(Buffer.byteLength(service.bodies[0] as string)).toBeGreaterThan(4.9 * 1024 * 1024);
  });

  it('sends only the latest revision of a window written twice in one write', async () => {
    const service = new FakeService();
    await sinkOver(service).write([{ id: 'w', revision: 0 }, { id: 'v', revision: 0 }, { id: 'w', revision: 1 }]);
    expect(service.requests).toEqual([[{ id: 'v', index: 'results', source: { id: 'v', revision: 0 } }, { id: 'w', index: 'results', source: { id: 'w', revision: 1 } }]]);
  });

  it('names daily indexes from windowStart and rejects a record without one', async () => {
    const service = new FakeService();
    const endpoint = parseOpenSearchUrl('opensearch://127.0.0.1:9/clicks-%Y.%m.%d', '--sink', {});
    const late = { id: 'a', windowStart: Date.UTC(2026, 5, 30, 23, 59) };
    const early = { id: 'b', windowStart: Date.UTC(2026, 6, 1) };
    const timeless = { id: 'c' };
    const result = await sinkOver(service, FAST, endpoint).write([late, early, timeless]);
    expect(service.requests[0]?.map((a) => a.index)).toEqual(['clicks-2026.06.30', 'clicks-2026.07.01']);
    expect(result?.rejected).toEqual([{ record: timeless, code: ErrorCode.MISSING_TIME, reason: expect.stringContaining('windowStart') }]);
  });
});

describe('OpenSearchSink: per-item failures', () => {
  it('sends again only the items answered 429 or 5xx, dead-letters refused ones, and resolves once all are in', async () => {
    const service = new FakeService([
      [item(201), item(429, 'es_rejected_execution_exception', 'rejected execution of coordinating operation'), item(400, 'mapper_parsing_exception', 'failed to parse field [count] of type [long]'), item(201), item(503, 'unavailable_shards_exception')],
      [item(429, 'es_rejected_execution_exception'), item(201)],
    ]);
    const written = results(5);
    const result = await sinkOver(service).write(written);
    expect(ids(service)).toEqual([['r0', 'r1', 'r2', 'r3', 'r4'], ['r1', 'r4'], ['r1']]);
    expect(result?.rejected).toEqual([
      {
        record: written[2],
        code: ErrorCode.BAD_FIELD,
        reason: "OpenSearch index 'results' refused the document (400 mapper_parsing_exception: failed to parse field [count] of type [long])",
      },
    ]);
  });

  it('gives up on items still throttled after the retries, with one line', async () => {
    const throttled = (actions: readonly Action[]): BulkItemResult[] => actions.map(() => item(429, 'es_rejected_execution_exception', 'rejected execution\n of bulk'));
    const service = new FakeService([throttled, throttled, throttled]);
    const error = await failureOf(sinkOver(service).write(results(2)));
    expect(service.requests).toHaveLength(3);
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe(
      'OpenSearch at http://127.0.0.1:9 kept refusing 2 documents with 429 es_rejected_execution_exception: rejected execution of bulk (gave up after 3 attempts); the cluster is overloaded or unhealthy — scale it or slow the pipeline',
    );
  });

  it('classifies other refusals: strict mappings and bad values are BAD_FIELD, the rest VALIDATION_FAILED', async () => {
    const service = new FakeService([[item(400, 'strict_dynamic_mapping_exception', 'mapping set to strict'), item(400, 'document_parsing_exception'), item(409, 'version_conflict_engine_exception')]]);
    const result = await sinkOver(service).write(results(3));
    expect(result?.rejected.map((r) => r.code)).toEqual([ErrorCode.BAD_FIELD, ErrorCode.BAD_FIELD, ErrorCode.VALIDATION_FAILED]);
    expect(service.requests).toHaveLength(1);
  });

  it('fails the run with one line for an item refused for want of an index or of permission', async () => {
    const missing = new FakeService([[item(201), item(404, 'index_not_found_exception', 'no such index [results]')]]);
    expect((await failureOf(sinkOver(missing).write(results(2)))).message).toBe(
      "OpenSearch at http://127.0.0.1:9 has no index 'results' and does not create indexes on write (404 index_not_found_exception: no such index [results]); create the index or allow action.auto_create_index for it",
    );
    const forbidden = new FakeService([[item(403, 'security_exception', 'no permissions for [indices:data/write/bulk[s]] and User [name=writer]')]]);
    const sink = sinkOver(forbidden);
    const error = await failureOf(sink.write(results(1)));
    expect(error.message).toMatch(/^OpenSearch at http:\/\/127\.0\.0\.1:9 does not allow writing to index 'results' \(403 security_exception: no permissions .*\); grant the user/);
    // the first failure sticks: nothing more is sent
    expect(await failureOf(sink.write(results(1)))).toBe(error);
    expect(forbidden.requests).toHaveLength(1);
  });
});

describe('OpenSearchSink: failed requests', () => {
  it('halves a request the cluster refused as too large (413), and keeps the smaller size for later writes', async () => {
    const limit = 40_000; // the cluster's, in body bytes; above MIN_BULK_BYTES
    const tooLarge = (actions: readonly Action[], body: string): BulkItemResult[] | Error =>
      Buffer.byteLength(body) > limit ? httpError(413, 'http_error', 'Request Entity Too Large') : actions.map(() => item(201));
    const service = new FakeService(Array.from({ length: 50 }, () => tooLarge));
    const sink = sinkOver(service, { ...FAST, maxBatchBytes: 1024 * 1024 });
    // 60 documents of ~1.1 KB: one request of ~66 KB, refused, then two of ~33 KB
    expect(await sink.write(results(60, 1_000))).toBeUndefined();
    expect(service.bodies.map((b) => Buffer.byteLength(b) > limit)).toEqual([true, false, false]);
    expect(service.requests.slice(1).flat().map((a) => a.id)).toEqual(results(60).map((r) => r.id));
    expect(sink.batchBytes).toBe(Math.floor(Buffer.byteLength(service.bodies[0] as string) / 2));
    expect(sink.batchBytes).toBeGreaterThanOrEqual(MIN_BULK_BYTES);

    // the smaller size fits at once: the next write sends no request the cluster refuses
    await sink.write(results(60, 1_000));
    const later = service.bodies.slice(3);
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const body of later) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(sink.batchBytes);
  });

  it('never halves below MIN_BULK_BYTES, but still splits a refused request down to single documents', async () => {
    const limit = 3_000;
    const tooLarge = (actions: readonly Action[], body: string): BulkItemResult[] | Error =>
      Buffer.byteLength(body) > limit ? httpError(413) : actions.map(() => item(201));
    const service = new FakeService(Array.from({ length: 50 }, () => tooLarge));
    const sink = sinkOver(service);
    expect(await sink.write(results(8, 1_000))).toBeUndefined();
    expect(sink.batchBytes).toBe(MIN_BULK_BYTES);
    const accepted = service.bodies.filter((b) => Buffer.byteLength(b) <= limit);
    expect(accepted.join('')).toContain('"id":"r7"');
    expect(service.requests.filter((_, i) => Buffer.byteLength(service.bodies[i] as string) <= limit).flat().map((a) => a.id).sort()).toEqual(results(8).map((r) => r.id).sort());
  });

  it('dead-letters a document refused as too large even alone, and delivers its neighbours', async () => {
    const tooLarge = (actions: readonly Action[]): BulkItemResult[] | Error =>
      actions.some((a) => a.id === 'huge') ? httpError(413, 'http_error', 'Request Entity Too Large') : actions.map(() => item(201));
    const service = new FakeService(Array.from({ length: 10 }, () => tooLarge));
    const huge = { id: 'huge', pad: 'x'.repeat(5_000) };
    const result = await sinkOver(service).write([{ id: 'a' }, huge, { id: 'b' }]);
    expect(result?.rejected).toEqual([
      { record: huge, code: ErrorCode.RECORD_TOO_LARGE, reason: expect.stringMatching(/^OpenSearch refused result 'huge' \(\d+ bytes as a bulk action\) as too large even alone \(413 http_error: Request Entity Too Large\)/) },
    ]);
    const accepted = service.requests.filter((r) => !r.some((a) => a.id === 'huge'));
    expect(accepted.flat().map((a) => a.id).sort()).toEqual(['a', 'b']);
  });

  it('retries a request that failed as a whole with 429, 5xx or no connection, then delivers', async () => {
    const service = new FakeService([httpError(429, 'es_rejected_execution_exception'), refused()]);
    await sinkOver(service).write(results(3));
    expect(ids(service)).toEqual([['r0', 'r1', 'r2'], ['r0', 'r1', 'r2'], ['r0', 'r1', 'r2']]);
    const flaky = new FakeService([httpError(502), httpError(504)]);
    await sinkOver(flaky).write(results(1));
    expect(flaky.requests).toHaveLength(3);
  });

  it('resends only what is left when a later request of the write fails', async () => {
    const twoRequests = new FakeService([(actions) => actions.map(() => item(201)), refused()]);
    const perDocument = Buffer.byteLength(`{"index":{"_index":"results","_id":"r0"}}\n${JSON.stringify(results(1)[0])}\n`);
    await sinkOver(twoRequests, { ...FAST, maxBatchBytes: perDocument * 2 }).write(results(4));
    expect(ids(twoRequests)).toEqual([['r0', 'r1'], ['r2', 'r3'], ['r2', 'r3']]);
  });

  it('gives up on an unreachable cluster after the retries, with one line', async () => {
    const service = new FakeService([refused(), refused(), refused()]);
    const error = await failureOf(sinkOver(service).write(results(1)));
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe('cannot reach OpenSearch at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9 (gave up after 3 attempts); check the host, the port, tls= and that the cluster is up');
  });

  it('does not retry refused credentials or a forbidden index, and says what to check', async () => {
    const env = { SLUICE_OPENSEARCH_USERNAME: 'writer', SLUICE_OPENSEARCH_PASSWORD: 'hunter2' };
    const basic = parseOpenSearchUrl('opensearch://127.0.0.1:9/results', '--sink', env);
    const unauthorized = new FakeService([httpError(401, 'security_exception', 'Unauthorized')]);
    const error = await failureOf(sinkOver(unauthorized, FAST, basic).write(results(1)));
    expect(unauthorized.requests).toHaveLength(1);
    expect(error.message).toBe(
      "OpenSearch at http://127.0.0.1:9 rejected the credentials (401 security_exception: Unauthorized); check SLUICE_OPENSEARCH_USERNAME ('writer') and SLUICE_OPENSEARCH_PASSWORD",
    );
    expect(error.message).not.toContain('hunter2');

    const sigv4 = parseOpenSearchUrl('opensearch://search-x.eu-west-1.es.amazonaws.com/results?auth=sigv4&region=eu-west-1', '--sink', {});
    const forbidden = new FakeService([httpError(403, 'error', 'User: arn:aws:sts::1:assumed-role/task is not authorized to perform: es:ESHttpPost')]);
    const denied = await failureOf(sinkOver(forbidden, FAST, sigv4).write(results(1)));
    expect(forbidden.requests).toHaveLength(1);
    expect(denied.message).toMatch(/^OpenSearch at https:\/\/search-x\.eu-west-1\.es\.amazonaws\.com:443 does not allow writing to index 'results' \(403 error: User: .* es:ESHttpPost\); allow the IAM identity es:ESHttpPost/);
  });
});

describe('OpenSearchSink: open and close', () => {
  it('fails to open with one line when the cluster cannot be reached, after the retries', async () => {
    const service = new FakeService([], [refused(), refused(), refused()]);
    const error = await failureOf(sinkOver(service).open());
    expect(service.pings).toBe(3);
    expect(error.message).toMatch(/^cannot reach OpenSearch at http:\/\/127\.0\.0\.1:9: connect ECONNREFUSED .*\(gave up after 3 attempts\)/);
  });

  it('opens despite a 403 or 404 for HEAD / (a writer may not be allowed it), but not despite a 401 or missing AWS credentials', async () => {
    await sinkOver(new FakeService([], [httpError(403)])).open();
    await sinkOver(new FakeService([], [httpError(404)])).open();
    const unauthorized = await failureOf(sinkOver(new FakeService([], [httpError(401)])).open());
    expect(unauthorized.message).toMatch(/rejected the credentials .*set SLUICE_OPENSEARCH_USERNAME and SLUICE_OPENSEARCH_PASSWORD, or add \?auth=sigv4/);
    const noCredentials = new OpenSearchRequestError('credentials', 'Could not load credentials from any providers');
    const error = await failureOf(sinkOver(new FakeService([], [noCredentials])).open());
    expect(error.message).toBe(
      'no AWS credentials to sign requests to OpenSearch at http://127.0.0.1:9 (Could not load credentials from any providers); provide them as for the AWS CLI: environment, profile or SSO, or the ECS task or EC2 instance role',
    );
  });

  it('closes after the write in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const service = new FakeService();
    const slow: OpenSearchService = {
      ping: () => service.ping(),
      bulk: async (body) => {
        await gate;
        return service.bulk(body);
      },
      close: () => service.close(),
    };
    const sink = sinkOver(slow);
    const write = sink.write(results(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const close = sink.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(service.closes).toBe(0);
    release();
    await Promise.all([write, close]);
    expect(service.closes).toBe(1);
    expect(service.requests).toHaveLength(1);
  });

  it('describes itself without credentials', () => {
    const env = { SLUICE_OPENSEARCH_USERNAME: 'writer', SLUICE_OPENSEARCH_PASSWORD: 'hunter2' };
    const sink = sinkOver(new FakeService(), FAST, parseOpenSearchUrl('opensearch://h:9200/r-%Y', '--sink', env));
    expect(sink.description).toBe('opensearch://h:9200/r-%Y');
  });
});

describe('bulkItems (reading a _bulk response)', () => {
  it('reads each item’s status and error, with the cause, whatever the action', () => {
    const body = {
      errors: true,
      items: [
        { index: { status: 201 } },
        { create: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse', caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "x"' } } } },
      ],
    };
    expect(bulkItems(body)).toEqual([
      { status: 201 },
      { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse', causedBy: 'illegal_argument_exception: For input string: "x"' } },
    ]);
  });

  it('refuses a body that is not a _bulk response', () => {
    expect(() => bulkItems({ acknowledged: true })).toThrow(OpenSearchRequestError);
    expect(() => bulkItems({ items: [{ index: {} }] })).toThrow(/unexpected _bulk response item/);
  });
});
