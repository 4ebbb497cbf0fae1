import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Sink, WriteResult } from '../../../src/core/connectors.js';
import type { DeadLetter } from '../../../src/core/context.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { openInfluxSink, parseInfluxUrl, type InfluxSinkOptions } from '../../../src/sinks/influxdb/index.js';
import { count, reduce } from '../../../src/windows/aggregates/index.js';
import { tumbling } from '../../../src/windows/assigners.js';
import { useInfluxDB } from '../../support/influxdb.js';
import { CollectSink } from '../../support/run-memory.js';
import { oneLineUserErrorOf } from '../../support/failures.js';

// The InfluxDB sink against a real server: Debian's influxd 1.6 through the v1 API, started by
// the test itself (installed with apt-get on first use). Points are read back with InfluxQL.

const influx = useInfluxDB();
const FAST: InfluxSinkOptions = { retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50 } };

const sinkUrl = (db: string, params = ''): string => `influxdb://${influx.address}/${db}?api=v1${params}`;
const open = async (db: string, options: InfluxSinkOptions = FAST, params = ''): Promise<Sink> => openInfluxSink(parseInfluxUrl(sinkUrl(db, params), '--sink', {}), options);

const result = (page: string, windowStart: number, fields: Record<string, unknown>, revision = 0): Record<string, unknown> => ({
  id: `${page}@${windowStart}`,
  key: { page },
  windowStart,
  windowEnd: windowStart + 60_000,
  revision,
  ...fields,
});

/** Every point of `measurement` as `{ tags…, time, fields… }`, ordered by tags then time. */
async function points(db: string, measurement = 'sluice'): Promise<Record<string, unknown>[]> {
  const series = await influx.select(db, `SELECT * FROM "${measurement}" GROUP BY *`);
  const out: Record<string, unknown>[] = [];
  for (const s of series) {
    for (const row of s.values) {
      const point: Record<string, unknown> = { ...s.tags };
      s.columns.forEach((column, i) => {
        if (row[i] !== null) point[column] = row[i];
      });
      out.push(point);
    }
  }
  return out;
}

async function fieldTypes(db: string, measurement = 'sluice'): Promise<Record<string, unknown>> {
  const [series] = await influx.select(db, `SHOW FIELD KEYS FROM "${measurement}"`);
  return Object.fromEntries((series?.values ?? []).map(([name, type]) => [String(name), type]));
}

const rejectedIds = (out: void | WriteResult): unknown[] => (out === undefined ? [] : out.rejected.map((r) => (r.record as { id: unknown }).id));

describe('InfluxDB sink on a real influxd (v1 API)', () => {
  it('stores one point per result: key tags, float aggregates, integer revision, time = windowStart', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db);
    const out = await sink.write([result('/home', 60_000, { count: 4, avg_ms: 4258.75 }), result('/help', 60_000, { count: 1, avg_ms: 12 }), result('/home', 120_000, { count: 2, avg_ms: 3 })]);
    await sink.close();
    expect(out).toBeUndefined();
    expect(await points(db)).toEqual([
      { page: '/help', time: 60_000, count: 1, avg_ms: 12, revision: 0, windowEnd: 120_000, id: '/help@60000' },
      { page: '/home', time: 60_000, count: 4, avg_ms: 4258.75, revision: 0, windowEnd: 120_000, id: '/home@60000' },
      { page: '/home', time: 120_000, count: 2, avg_ms: 3, revision: 0, windowEnd: 180_000, id: '/home@120000' },
    ]);
    expect(await fieldTypes(db)).toEqual({ avg_ms: 'float', count: 'float', id: 'string', revision: 'integer', windowEnd: 'integer' });
  });

  it('overwrites a point when its window is re-emitted with a higher revision (count unchanged, revision updated)', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db);
    await sink.write([result('/home', 60_000, { count: 4 }), result('/help', 60_000, { count: 1 })]);
    await sink.write([result('/home', 60_000, { count: 5 }, 1)]);
    // the same result again, as after a restart from a checkpoint: still one point
    await sink.write([result('/home', 60_000, { count: 5 }, 1)]);
    await sink.close();
    const [total] = await influx.select(db, 'SELECT count("revision") FROM "sluice"');
    expect(total?.values[0]?.[1]).toBe(2);
    expect((await points(db)).find((p) => p['page'] === '/home')).toMatchObject({ time: 60_000, count: 5, revision: 1 });
  });

  it('keeps the last revision when both revisions and a refused result share one batch', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db);
    await sink.write([result('/seed', 0, { count: 1 })]);
    const out = await sink.write([result('/home', 60_000, { count: 4 }), result('/bad', 60_000, { count: 'many' }), result('/home', 60_000, { count: 6 }, 1)]);
    await sink.close();
    expect(rejectedIds(out)).toEqual(['/bad@60000']);
    expect((await points(db)).find((p) => p['page'] === '/home')).toMatchObject({ count: 6, revision: 1 });
  });

  it('refuses a result whose field conflicts with the stored type, with InfluxDB\'s reason, and stores the others', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db);
    await sink.write([result('/seed', 0, { count: 1 })]); // count is now a float field
    const batch = Array.from({ length: 12 }, (_, i) => result(`/p${i}`, 60_000, { count: i === 7 ? 'many' : i }));
    const out = await sink.write(batch);
    await sink.close();
    expect(out?.rejected).toEqual([
      {
        record: batch[7],
        code: ErrorCode.BAD_FIELD,
        reason: 'partial write: field type conflict: input field "count" on measurement "sluice" is type string, already exists as type float dropped=1',
      },
    ]);
    const stored = await points(db);
    expect(stored.map((p) => p['page']).sort()).toEqual(['/p0', '/p1', '/p10', '/p11', '/p2', '/p3', '/p4', '/p5', '/p6', '/p8', '/p9', '/seed']);
    expect(await fieldTypes(db)).toMatchObject({ count: 'float' });
  });

  it('finds conflicting results among new fields of one batch, which influxd refuses whole', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db);
    const out = await sink.write([result('/a', 0, { n: 1 }), result('/b', 0, { n: 'x' }), result('/c', 0, { n: 2 }), result('/d', 0, { n: true })]);
    await sink.close();
    expect(rejectedIds(out)).toEqual(['/b@0', '/d@0']);
    expect(out?.rejected.every((r) => /field type conflict/.test(r.reason))).toBe(true);
    expect((await points(db)).map((p) => [p['page'], p['n']])).toEqual([
      ['/a', 1],
      ['/c', 2],
    ]);
  });

  it('reads back names and strings that need escaping exactly as they were', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db, { ...FAST, measurement: 'page views,v2' });
    const key = { 'the page': 'a=b, c', path: 'C:\\dir', lang: 'zh-漢字' };
    const note = 'say "hi"\\ and\nbye';
    expect(await sink.write([{ id: 'x', key, windowStart: 0, windowEnd: 1, revision: 0, note, 'p95 dwell,ms': 1.5, ok: true }])).toBeUndefined();
    await sink.close();
    const [series] = await influx.select(db, 'SELECT * FROM "page views,v2" GROUP BY *');
    expect(series?.tags).toEqual(key);
    const row = Object.fromEntries(series?.columns.map((c, i) => [c, series.values[0]?.[i]]) ?? []);
    expect(row).toMatchObject({ note, 'p95 dwell,ms': 1.5, ok: true, id: 'x' });
  });

  it('fails to open on an unknown database with one line that says how to create it', async () => {
    const err = await oneLineUserErrorOf(open('no_such_db'));
    expect(err.code).toBe(ErrorCode.UNWRITABLE_OUTPUT);
    expect(err.message).toBe(
      `InfluxDB database 'no_such_db' does not exist on ${influx.address} (HTTP 404: database not found: "no_such_db"); create it first (CREATE DATABASE "no_such_db")`,
    );
  });

  it('suggests api=v1 when the v2 API is asked of a 1.x server', async () => {
    const endpoint = parseInfluxUrl(`influxdb://${influx.address}/x?org=o`, '--sink', { SLUICE_INFLUXDB_TOKEN: 't' });
    expect((await oneLineUserErrorOf(openInfluxSink(endpoint, FAST))).message).toMatch(/has no \/api\/v2\/write \(HTTP 404: .*\); an InfluxDB 1\.x server needs \?api=v1$/);
  });

  it('fails to open, after its retries, on a port where nothing listens', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const endpoint = parseInfluxUrl(`influxdb://127.0.0.1:${port}/x?api=v1`, '--sink', {});
    expect((await oneLineUserErrorOf(openInfluxSink(endpoint, FAST))).message).toBe(
      `InfluxDB at 127.0.0.1:${port} is unreachable: connect ECONNREFUSED 127.0.0.1:${port} (gave up after 3 attempts); check the host and port, and tls=true for a TLS endpoint`,
    );
  });

  it('hands refused results to the run\'s dead-letter output, with InfluxDB\'s reason', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db, { ...FAST, measurement: 'views' });
    // keys with more than 2 events label themselves 'many': a string where the others are numbers
    const label = reduce<number, number | string>({ create: () => 0, add: (n) => n + 1, result: (n) => (n > 2 ? 'many' : n) });
    const definition = definePipeline('views', (s) =>
      s.parseJson<{ page: string; ts: number }>().withWatermarks({ time: 'ts' }).keyBy('page').window({ assign: tumbling('1m'), aggregate: { views: count(), label } }),
    );
    const events = ['/a', '/b', '/b', '/b', '/c'].map((page, i) => JSON.stringify({ page, ts: 1_000 + i }));
    const deadLetters = new CollectSink<DeadLetter>();
    await runPipeline({ definition, source: memorySource({ partitions: { p0: events } }), sinks: [sink], deadLetter: deadLetters });
    expect(deadLetters.records).toHaveLength(1);
    expect(deadLetters.records[0]).toMatchObject({ pipeline: 'views', code: ErrorCode.BAD_FIELD, reason: expect.stringMatching(/field type conflict: input field "label"/) });
    expect(JSON.parse(deadLetters.records[0]?.raw ?? '{}')).toMatchObject({ key: { page: '/b' }, views: 3, label: 'many' });
    expect((await points(db, 'views')).map((p) => [p['page'], p['views'], p['label']])).toEqual([
      ['/a', 1, 1],
      ['/c', 1, 1],
    ]);
  });
});
