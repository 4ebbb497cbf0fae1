import { describe, expect, it } from 'vitest';
import type { WriteResult } from '../../../../src/core/connectors.js';
import { ErrorCode, type UserError } from '../../../../src/core/errors.js';
import {
  classifyNetworkError,
  classifyResponse,
  InfluxSink,
  influxRetryPolicy,
  influxSinkConfig,
  parseInfluxUrl,
  RetriableAnswer,
  retryAfterMs,
  serverMessage,
  type InfluxRequest,
  type InfluxResponse,
  type InfluxService,
  type InfluxSinkOptions,
} from '../../../../src/sinks/influxdb/index.js';
import { oneLineUserErrorOf } from '../../../support/failures.js';

// The sink over a fake service: the requests it makes, which answers it retries, how it finds the
// lines InfluxDB refused, and which answers end the run with one line. The fake answers as
// InfluxDB 1.x does (see the integration test for the real one).

const TOKEN = 'tok-do-not-print';
const V2 = parseInfluxUrl('influxdb://influx.internal:8086/metrics?org=acme', '--sink', { SLUICE_INFLUXDB_TOKEN: TOKEN });
const V1 = parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', {});
const FAST: InfluxSinkOptions = { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 } };

type Answer = InfluxResponse | Error;
const answer = (status: number, body = '', retryAfter?: string): InfluxResponse => ({ status, body, retryAfter });
const NO_CONTENT = answer(204);
const refused = (): Error =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:8086'), { code: 'ECONNREFUSED' }) });

/**
 * Answers from a script first, then like InfluxDB 1.x: a line whose text contains `BAD` is dropped
 * (400 partial write, the others stored), every other line stored by its identity (measurement and
 * tags, time), the last write of a point winning.
 */
class FakeInflux implements InfluxService {
  readonly requests: InfluxRequest[] = [];
  readonly points = new Map<string, string>();
  constructor(private readonly script: Answer[] = []) {}

  async send(request: InfluxRequest): Promise<InfluxResponse> {
    this.requests.push(request);
    const scripted = this.script.shift();
    if (scripted instanceof Error) throw scripted;
    if (scripted !== undefined) return scripted;
    const lines = request.body.split('\n').filter((l) => l !== '');
    let dropped = 0;
    for (const line of lines) {
      if (line.includes('BAD')) {
        dropped++;
        continue;
      }
      const [series, fields, time] = line.split(' ');
      this.points.set(`${series} ${time}`, fields ?? '');
    }
    if (dropped === 0) return NO_CONTENT;
    const message = `partial write: field type conflict: input field "count" on measurement "sluice" is type string, already exists as type float dropped=${dropped}`;
    return answer(400, JSON.stringify({ error: message }));
  }

  /** Write requests with a body (the empty start-up check left out). */
  get writes(): InfluxRequest[] {
    return this.requests.filter((r) => r.body !== '');
  }
}

const result = (key: string, count: number | string, revision = 0): Record<string, unknown> => ({ id: `id-${key}`, key: { page: key }, windowStart: 60_000, windowEnd: 120_000, revision, count });
const sinkOver = (service: InfluxService, options: InfluxSinkOptions = FAST, endpoint = V1): InfluxSink => new InfluxSink(influxSinkConfig(endpoint, options), service);

const rejectedKeys = (out: void | WriteResult): string[] => (out === undefined ? [] : out.rejected.map((r) => String((r.record as { key: { page: string } }).key.page)));

describe('InfluxSink requests', () => {
  it('checks the server with an empty v2 write, then writes with org, bucket, precision and the token', async () => {
    const service = new FakeInflux();
    const sink = sinkOver(service, FAST, V2);
    await sink.open();
    expect(await sink.write([result('/a', 1), result('/b', 2)])).toBeUndefined();
    expect(service.requests).toHaveLength(2);
    const [check, write] = service.requests;
    expect(check).toMatchObject({ method: 'POST', path: '/api/v2/write', query: { org: 'acme', bucket: 'metrics', precision: 'ms' }, body: '' });
    expect(write).toMatchObject({ path: '/api/v2/write', query: { org: 'acme', bucket: 'metrics', precision: 'ms' } });
    expect(write?.headers['authorization']).toBe(`Token ${TOKEN}`);
    expect(write?.body.split('\n')).toEqual([
      'sluice,page=/a count=1,revision=0i,windowEnd=120000i,id="id-/a" 60000',
      'sluice,page=/b count=2,revision=0i,windowEnd=120000i,id="id-/b" 60000',
      '',
    ]);
    expect(sink.description).not.toContain(TOKEN);
  });

  it('accepts 2.x\'s 400 "writing requires points" to the empty start-up write', async () => {
    const service = new FakeInflux([answer(400, '{"code":"invalid","message":"writing requires points"}')]);
    await sinkOver(service, FAST, V2).open();
    expect(service.requests).toHaveLength(1);
  });

  it('splits a write into requests of at most maxBatchLines, in order', async () => {
    const service = new FakeInflux();
    await sinkOver(service, { ...FAST, maxBatchLines: 2 }).write(['/a', '/b', '/c', '/d', '/e'].map((k) => result(k, 1)));
    expect(service.writes.map((r) => r.body.split('\n').filter((l) => l !== '').length)).toEqual([2, 2, 1]);
  });

  it('names the measurement from the URL first, then the option, then "sluice"', async () => {
    const fromUrl = new FakeInflux();
    const url = parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1&measurement=from_url', '--sink', {});
    await sinkOver(fromUrl, { ...FAST, measurement: 'from_option' }, url).write([result('/a', 1)]);
    expect(fromUrl.writes[0]?.body).toMatch(/^from_url,/);
    const fromOption = new FakeInflux();
    await sinkOver(fromOption, { ...FAST, measurement: 'page-views' }).write([result('/a', 1)]);
    expect(fromOption.writes[0]?.body).toMatch(/^page-views,/);
  });
});

describe('InfluxSink refusals', () => {
  it('finds the refused lines of a batch by bisecting, stores all the others, and returns the refused with InfluxDB\'s reason', async () => {
    const service = new FakeInflux();
    const records = Array.from({ length: 16 }, (_, i) => result(`/p${i}`, i === 5 || i === 11 ? `BAD-${i}` : i));
    const out = await sinkOver(service).write(records);
    expect(rejectedKeys(out)).toEqual(['/p5', '/p11']);
    expect(out?.rejected[0]).toMatchObject({ code: ErrorCode.BAD_FIELD, reason: expect.stringMatching(/^partial write: field type conflict: input field "count"/) });
    expect(service.points.size).toBe(14);
    // one full request, then halves down to the two lines: far fewer than one request per line
    expect(service.writes.length).toBeLessThan(16);
  });

  it('writes the last revision of a window last, even when a batch is bisected', async () => {
    const service = new FakeInflux();
    const records = [result('/a', 1, 0), result('/x', 'BAD'), result('/b', 7), result('/a', 2, 1)];
    const out = await sinkOver(service).write(records);
    expect(rejectedKeys(out)).toEqual(['/x']);
    expect(service.points.get('sluice,page=/a 60000')).toBe('count=2,revision=1i,windowEnd=120000i,id="id-/a"');
  });

  it('refuses the whole batch in one request when InfluxDB says it dropped every line', async () => {
    const service = new FakeInflux();
    const out = await sinkOver(service).write([result('/a', 'BAD'), result('/b', 'BAD'), result('/c', 'BAD')]);
    expect(rejectedKeys(out)).toEqual(['/a', '/b', '/c']);
    expect(service.writes).toHaveLength(1);
  });

  it('bisects 2.x answers too: 422 partial writes and 400 parse errors', async () => {
    const conflict = answer(422, JSON.stringify({ code: 'unprocessable entity', message: 'failure writing points to database: partial write: field type conflict: … dropped=1' }));
    const parse = answer(400, JSON.stringify({ code: 'invalid', message: "unable to parse 'sluice,page=/b count=': missing field value" }));
    const service = new FakeInflux([NO_CONTENT, conflict, NO_CONTENT, parse]);
    const out = await sinkOver(service, FAST, V2).write([result('/a', 1), result('/b', 2)]);
    expect(rejectedKeys(out)).toEqual(['/b']);
    expect(out?.rejected[0]?.reason).toMatch(/^unable to parse/);
  });

  it('takes 3.x partial-write details into the reason', () => {
    const body = JSON.stringify({ error: 'partial write of line protocol occurred', data: [{ original_line: 'x', line_number: 2, error_message: 'invalid column type for column count' }] });
    expect(classifyResponse(answer(400, body), 1)).toEqual({ kind: 'lines', allDropped: false, message: 'partial write of line protocol occurred: invalid column type for column count (line 2)' });
  });

  it('refuses a single line over the server\'s body limit as too large, after splitting the batch', async () => {
    const service = new FakeInflux([NO_CONTENT, answer(413, '{"error":"http: request body too large"}'), NO_CONTENT, answer(413, '{"error":"http: request body too large"}')]);
    const out = await sinkOver(service).write([result('/a', 1), result('/huge', 2)]);
    expect(out?.rejected).toEqual([{ record: expect.objectContaining({ key: { page: '/huge' } }), code: ErrorCode.RECORD_TOO_LARGE, reason: expect.stringMatching(/request body too large \(a line of \d+ bytes\)/) }]);
  });

  it('returns results line protocol cannot carry as refused, without sending them', async () => {
    const service = new FakeInflux();
    const out = await sinkOver(service).write([result('/ok', 1), result('two\nlines', 2), { key: 'k', count: 1 }]);
    expect(out?.rejected.map((r) => r.code)).toEqual([ErrorCode.BAD_FIELD, ErrorCode.BAD_FIELD]);
    expect(out?.rejected[0]?.reason).toMatch(/^not written to InfluxDB: .*newline/);
    expect(out?.rejected[1]?.reason).toMatch(/windowStart/);
    expect(service.writes.map((r) => r.body)).toEqual([expect.stringMatching(/^sluice,page=\/ok .*\n$/)]);
  });
});

describe('InfluxSink retries', () => {
  it('retries throttling, server errors and lost connections, then delivers', async () => {
    const service = new FakeInflux([NO_CONTENT, answer(429, '{"code":"too many requests"}'), answer(503, 'starting'), refused()]);
    const sink = sinkOver(service, { retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 2 } });
    expect(await sink.write([result('/a', 1)])).toBeUndefined();
    expect(service.writes).toHaveLength(4);
    expect(service.points.size).toBe(1);
  });

  it('waits as long as Retry-After asks, when that is longer than the backoff', async () => {
    const policy = influxRetryPolicy({ maxRetries: 2, initialDelayMs: 0, maxDelayMs: 0 });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delay));
    const answers = [new RetriableAnswer(429, 'slow down', 1_000), new RetriableAnswer(503, 'busy', undefined)];
    expect(await policy.execute(() => {
      const next = answers.shift();
      if (next !== undefined) throw next;
      return 'stored';
    })).toBe('stored');
    expect(delays).toEqual([1_000, 0]);
  });

  it('reads Retry-After from a throttled answer', async () => {
    const service = new FakeInflux([NO_CONTENT, answer(429, '', '0')]);
    expect(await sinkOver(service).write([result('/a', 1)])).toBeUndefined();
    expect(service.writes).toHaveLength(2);
  });

  it('gives up on an unreachable server with one line, and fails every later write the same way', async () => {
    const service = new FakeInflux([NO_CONTENT, refused(), refused(), refused()]);
    const sink = sinkOver(service, FAST, V2);
    const err = await oneLineUserErrorOf(sink.write([result('/a', 1)]));
    expect(err.code).toBe(ErrorCode.UNWRITABLE_OUTPUT);
    expect(err.message).toBe(
      'InfluxDB at influx.internal:8086 is unreachable: connect ECONNREFUSED 10.0.0.9:8086 (gave up after 3 attempts); check the host and port, and tls=true for a TLS endpoint',
    );
    expect(await oneLineUserErrorOf(sink.write([result('/b', 1)]))).toBe(err);
    expect(service.requests).toHaveLength(4);
  });

  it('gives up on a server that keeps failing, naming the last answer', async () => {
    const service = new FakeInflux([NO_CONTENT, answer(500, '{"error":"timeout"}'), answer(500, '{"error":"timeout"}'), answer(503, '{"error":"engine: cache-max-memory-size exceeded"}')]);
    const err = await oneLineUserErrorOf(sinkOver(service).write([result('/a', 1)]));
    expect(err.message).toBe('InfluxDB at 127.0.0.1:8086 kept failing: HTTP 503: engine: cache-max-memory-size exceeded (gave up after 3 attempts)');
  });

  it('does not retry a certificate the runtime does not trust', async () => {
    const untrusted = new TypeError('fetch failed', { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) });
    const service = new FakeInflux([untrusted]);
    const tls = parseInfluxUrl('influxdb://influx.internal:8086/metrics?org=acme&tls=true', '--sink', { SLUICE_INFLUXDB_TOKEN: TOKEN });
    const err = await oneLineUserErrorOf(sinkOver(service, FAST, tls).open());
    expect(err.message).toMatch(/^InfluxDB at influx.internal:8086: TLS failed: self-signed certificate; check the certificate/);
    expect(service.requests).toHaveLength(1);
  });
});

describe('InfluxSink one-line errors', () => {
  const openWith = (response: InfluxResponse, endpoint = V2): Promise<UserError> => oneLineUserErrorOf(sinkOver(new FakeInflux([response]), FAST, endpoint).open());

  it('a missing database (v1) says how to create it', async () => {
    const err = await openWith(answer(404, '{"error":"database not found: \\"sluice\\""}'), V1);
    expect(err.message).toBe(`InfluxDB database 'sluice' does not exist on 127.0.0.1:8086 (HTTP 404: database not found: "sluice"); create it first (CREATE DATABASE "sluice")`);
  });

  it('a missing bucket or organization (v2) quotes InfluxDB', async () => {
    expect((await openWith(answer(404, '{"code":"not found","message":"bucket \\"metrics\\" not found"}'))).message).toBe(
      'InfluxDB at influx.internal:8086: bucket "metrics" not found (HTTP 404); create it first, or fix the bucket or org= in the URL',
    );
  });

  it('a v1 server asked for the v2 API suggests api=v1', async () => {
    expect((await openWith(answer(404, '404 page not found\n'))).message).toMatch(/has no \/api\/v2\/write \(HTTP 404: 404 page not found\); an InfluxDB 1.x server needs \?api=v1$/);
  });

  it('refused credentials name where they come from, never their value', async () => {
    const err = await openWith(answer(401, '{"code":"unauthorized","message":"unauthorized access"}'));
    expect(err.message).toBe('InfluxDB at influx.internal:8086 rejected the credentials (HTTP 401: unauthorized access); check SLUICE_INFLUXDB_TOKEN');
    expect(err.message).not.toContain(TOKEN);
    expect((await openWith(answer(401, '{"error":"unable to parse authentication credentials"}'), V1)).message).toMatch(/requires authentication .*; set SLUICE_INFLUXDB_USERNAME and SLUICE_INFLUXDB_PASSWORD$/);
  });

  it('missing write permission names the bucket', async () => {
    expect((await openWith(answer(403, '{"code":"forbidden","message":"insufficient permissions for write"}'))).message).toBe(
      "InfluxDB at influx.internal:8086 does not let the API token write to bucket 'metrics' (HTTP 403: insufficient permissions for write); grant write access or use other credentials",
    );
  });

  it('fails a write for an answer no resend can fix, and sends nothing more', async () => {
    const service = new FakeInflux([NO_CONTENT, answer(400, '{"error":"database is required"}')]);
    const sink = sinkOver(service);
    expect((await oneLineUserErrorOf(sink.write([result('/a', 1)]))).message).toBe('InfluxDB at 127.0.0.1:8086 refused the write (HTTP 400: database is required)');
    await oneLineUserErrorOf(sink.write([result('/b', 1)]));
    expect(service.requests).toHaveLength(2);
  });
});

describe('answers and errors', () => {
  it('reads the server message from 1.x, 2.x and plain-text bodies, on one line', () => {
    expect(serverMessage('{"error":"a\\nb"}', 400)).toBe('a; b');
    expect(serverMessage('{"code":"invalid","message":"m"}', 400)).toBe('m');
    expect(serverMessage('<html>bad gateway</html>', 502)).toBe('<html>bad gateway</html>');
    expect(serverMessage('', 503)).toBe('HTTP 503');
  });

  it('classifies statuses', () => {
    expect(classifyResponse(answer(204), 1).kind).toBe('stored');
    for (const status of [408, 429, 500, 502, 503, 504]) expect(classifyResponse(answer(status), 1).kind).toBe('retry');
    for (const status of [401, 403, 404, 405, 501]) expect(classifyResponse(answer(status), 1).kind).toBe('fatal');
    expect(classifyResponse(answer(400, '{"error":"database is required"}'), 1).kind).toBe('fatal');
    expect(classifyResponse(answer(400, '{"error":"field type conflict"}'), 3)).toMatchObject({ kind: 'lines', allDropped: false });
    expect(classifyResponse(answer(400, '{"error":"partial write: … dropped=3"}'), 3)).toMatchObject({ kind: 'lines', allDropped: true });
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it('retries connection failures and timeouts, not TLS trouble or programming errors', () => {
    expect(classifyNetworkError(refused())).toBe('retry');
    expect(classifyNetworkError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('retry');
    expect(classifyNetworkError(new TypeError('fetch failed', { cause: Object.assign(new Error('wrong version number'), { code: 'EPROTO' }) }))).toBe('fatal');
    expect(classifyNetworkError(new TypeError('Invalid URL'))).toBe('fatal');
  });
});
