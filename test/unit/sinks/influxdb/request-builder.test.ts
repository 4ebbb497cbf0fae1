import { describe, expect, it } from 'vitest';
import { influxLineEncoder, type InfluxLine } from '../../../../src/sinks/influxdb/encoder.js';
import { parseInfluxUrl } from '../../../../src/sinks/influxdb/endpoint.js';
import { buildBatches, writeRequest } from '../../../../src/sinks/influxdb/request-builder.js';

const encode = influxLineEncoder('m');

/** A line of exactly `bytes` (newline included), named by its tag. */
function sized(name: string, bytes: number): InfluxLine {
  const base = encode({ key: name, windowStart: 0, pad: '' });
  if (!('line' in base)) throw new Error('refused');
  const outcome = encode({ key: name, windowStart: 0, pad: 'x'.repeat(bytes - base.line.bytes) });
  if (!('line' in outcome)) throw new Error('refused');
  expect(outcome.line.bytes).toBe(bytes);
  return outcome.line;
}

const lines = (count: number, bytes = 100): InfluxLine[] => Array.from({ length: count }, (_, n) => sized(`r${n}`, bytes));
const names = (batches: InfluxLine[][]): string[][] => batches.map((b) => b.map((l) => /key=(\w+)/.exec(l.text)?.[1] ?? '?'));

describe('buildBatches', () => {
  it('sends everything in one request when it fits, and nothing for no lines', () => {
    const input = lines(5);
    expect(buildBatches(input, { maxBatchLines: 100, maxBatchBytes: 10_000 })).toEqual([input]);
    expect(buildBatches([], { maxBatchLines: 100, maxBatchBytes: 10_000 })).toEqual([]);
  });

  it('splits by line count, keeping order', () => {
    expect(names(buildBatches(lines(5), { maxBatchLines: 2, maxBatchBytes: 10_000 }))).toEqual([['r0', 'r1'], ['r2', 'r3'], ['r4']]);
  });

  it('splits by bytes, counting each newline, and fills a request exactly to the limit', () => {
    expect(names(buildBatches(lines(5), { maxBatchLines: 100, maxBatchBytes: 200 }))).toEqual([['r0', 'r1'], ['r2', 'r3'], ['r4']]);
    expect(names(buildBatches(lines(5), { maxBatchLines: 100, maxBatchBytes: 199 }))).toEqual([['r0'], ['r1'], ['r2'], ['r3'], ['r4']]);
  });

  it('sends a line over the byte limit alone rather than dropping it', () => {
    const input = [sized('small', 100), sized('huge', 1_000), sized('after', 100)];
    expect(names(buildBatches(input, { maxBatchLines: 100, maxBatchBytes: 300 }))).toEqual([['small'], ['huge'], ['after']]);
  });
});

describe('writeRequest', () => {
  const line = sized('a', 50);

  it('writes to /api/v2/write with org, bucket, ms precision and the token (v2, the default)', () => {
    const endpoint = parseInfluxUrl('influxdb://db.internal:8086/metrics?org=acme&tls=true', '--sink', { SLUICE_INFLUXDB_TOKEN: 'tok-123' });
    const request = writeRequest(endpoint, [line, line]);
    expect(request).toMatchObject({ method: 'POST', path: '/api/v2/write', query: { org: 'acme', bucket: 'metrics', precision: 'ms' } });
    expect(request.headers['authorization']).toBe('Token tok-123');
    expect(request.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(request.body).toBe(`${line.text}\n${line.text}\n`);
  });

  it('writes to /write with db and ms precision, with basic authentication when a user is set (v1)', () => {
    const open = writeRequest(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', {}), [line]);
    expect(open).toMatchObject({ path: '/write', query: { db: 'sluice', precision: 'ms' } });
    expect(open.headers['authorization']).toBeUndefined();
    const env = { SLUICE_INFLUXDB_USERNAME: 'writer', SLUICE_INFLUXDB_PASSWORD: 'p@ss:word' };
    const authed = writeRequest(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', env), [line]);
    expect(authed.headers['authorization']).toBe(`Basic ${Buffer.from('writer:p@ss:word').toString('base64')}`);
    expect(authed.query).not.toHaveProperty('p');
  });

  it('sends an empty body for no lines (the start-up check)', () => {
    expect(writeRequest(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', {}), []).body).toBe('');
  });
});
