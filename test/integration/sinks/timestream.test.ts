import { describe, expect, it } from 'vitest';
import { ErrorCode, isUserError } from '../../../src/core/errors.js';
import {
  openTimestreamSink,
  parseTimestreamUrl,
  TimestreamSink,
  timestreamSinkConfig,
  type TimestreamSinkOptions,
  type WriteRequest,
} from '../../../src/sinks/timestream/index.js';
import { timestreamService } from '../../../src/sinks/timestream/service.js';
import { MOTO_CREDENTIALS, useMoto, type StoredTimestreamRecord } from '../../support/moto.js';

// The Timestream sink against a real moto server, which keeps every WriteRecords record as sent
// (without merging CommonAttributes, and appending rather than upserting) and shows them at
// /moto-api/data.json. The sink's real service is wrapped to also keep the calls it made, so a
// test can check both what went over the wire and what moto stored.

const moto = useMoto();

const PAGES = ['/', '/help', '/pricing'];
const MINUTE = 60_000;
const T0 = 1_793_536_140_000;

function result(page: string, windowStart: number, revision: number, count: number): Record<string, unknown> {
  return { id: `${page}@${windowStart}`, key: { page }, windowStart, windowEnd: windowStart + MINUTE, revision, count, avg_dwellMs: count * 100.5 };
}

/** One result per page per minute, for `minutes` minutes. */
function results(minutes: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let m = 0; m < minutes; m++) for (const page of PAGES) out.push(result(page, T0 + m * MINUTE, 0, m + 1));
  return out;
}

async function sinkFor(database: string, table: string, options: TimestreamSinkOptions = {}): Promise<{ sink: TimestreamSink; calls: WriteRequest[] }> {
  const endpoint = parseTimestreamUrl(`timestream://${database}/${table}`, '--sink', {});
  const config = timestreamSinkConfig(endpoint, { endpointUrl: moto.endpoint, credentials: MOTO_CREDENTIALS, ...options });
  const service = timestreamService(endpoint, config.client);
  const calls: WriteRequest[] = [];
  const sink = new TimestreamSink(config, {
    describe: () => service.describe(),
    writeRecords: (request) => {
      calls.push(request);
      return service.writeRecords(request);
    },
    close: () => service.close(),
  });
  await sink.open();
  return { sink, calls };
}

/** A sent record with its call's CommonAttributes merged in, as Timestream stores it. */
function merged(call: WriteRequest, i: number): { page: string | undefined; time: string | undefined; version: number | undefined; measures: Record<string, string> } {
  const record = call.records[i];
  const dimensions = [...(call.common.Dimensions ?? []), ...(record?.Dimensions ?? [])];
  return {
    page: dimensions.find((d) => d.Name === 'page')?.Value,
    time: record?.Time ?? call.common.Time,
    version: record?.Version,
    measures: Object.fromEntries((record?.MeasureValues ?? []).map((m) => [m.Name, `${m.Type}:${m.Value}`])),
  };
}

const page = (record: StoredTimestreamRecord | undefined): string | undefined => record?.Dimensions?.find((d) => d.Name === 'page')?.Value;

describe('Timestream sink on moto', () => {
  it('writes one multi-measure record per result, 100 per call, readable from moto', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const { sink, calls } = await sinkFor(database, table);
    const written = results(84); // 252 results: calls of 100, 100 and 52
    expect(await sink.write(written)).toBeUndefined();
    await sink.close();

    expect(calls.map((c) => c.records.length)).toEqual([100, 100, 52]);
    expect(sink.metrics()).toEqual({ records: 252, writeCalls: 3, retriedCalls: 0, rejected: 0 });
    for (const call of calls) expect(call.common).toMatchObject({ MeasureName: 'window', MeasureValueType: 'MULTI', TimeUnit: 'MILLISECONDS' });

    const sent = calls.flatMap((call) => call.records.map((_, i) => merged(call, i)));
    expect(sent).toEqual(
      written.map((r) => ({
        page: (r['key'] as { page: string }).page,
        time: String((r['windowEnd'] as number) - 1),
        version: 1,
        measures: { count: `DOUBLE:${String(r['count'])}`, avg_dwellMs: `DOUBLE:${String(r['avg_dwellMs'])}` },
      })),
    );

    // moto stored exactly the records of the calls, in order
    const stored = await moto.timestreamRecords(database, table);
    expect(stored).toEqual(calls.flatMap((c) => c.records));
    expect(stored.map(page)).toEqual(written.map((r) => (r['key'] as { page: string }).page));
  });

  it('moves what every record of a call shares into CommonAttributes: a closing window and its partition', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const { sink, calls } = await sinkFor(database, table);
    const written = PAGES.map((p, i) => ({ ...result(p, T0, 0, i + 1), partition: 'clicks-3' }));
    await sink.write(written);
    await sink.close();

    expect(calls).toHaveLength(1);
    const [call] = calls as [WriteRequest];
    expect(call.common).toEqual({
      MeasureName: 'window',
      MeasureValueType: 'MULTI',
      TimeUnit: 'MILLISECONDS',
      Dimensions: [{ Name: 'partition', Value: 'clicks-3', DimensionValueType: 'VARCHAR' }],
      Time: String(T0 + MINUTE - 1),
    });
    expect(call.records.map((r) => r.Dimensions)).toEqual(PAGES.map((p) => [{ Name: 'page', Value: p, DimensionValueType: 'VARCHAR' }]));
    expect(call.records.every((r) => r.Time === undefined)).toBe(true);
    // moto keeps the records as sent; Timestream merges the common part back into each
    expect(await moto.timestreamRecords(database, table)).toEqual(call.records);
  });

  it('writes a re-emitted result with a higher version, so Timestream upserts it', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const { sink } = await sinkFor(database, table);
    await sink.write([result('/help', T0, 0, 4)]);
    await sink.write([result('/help', T0, 1, 5)]); // a late event re-fired the window
    await sink.close();

    const stored = await moto.timestreamRecords(database, table);
    expect(stored).toHaveLength(2); // moto appends; Timestream keeps the higher version
    const [first, second] = stored;
    for (const record of stored) {
      expect(page(record)).toBe('/help');
      expect(record.Time).toBe(String(T0 + MINUTE - 1));
    }
    expect(first?.Version).toBe(1);
    expect(second?.Version).toBe(2);
    expect(second?.Version).toBeGreaterThan(first?.Version ?? Infinity);
    expect(second?.MeasureValues?.find((m) => m.Name === 'count')?.Value).toBe('5');
  });

  it('returns results the mapping cannot write as rejected, and writes the others', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const { sink } = await sinkFor(database, table, { mapping: { measures: [{ name: 'count', field: 'count', type: 'BIGINT' }] } });
    const good = result('/', T0, 0, 3);
    const fractional = { ...result('/help', T0, 0, 0), count: 2.5 };
    const outcome = await sink.write([good, fractional]);
    await sink.close();

    expect(outcome?.rejected).toEqual([{ record: fractional, code: ErrorCode.BAD_FIELD, reason: "cannot map to a Timestream record: measure 'count' is 2.5, not a whole number" }]);
    const stored = await moto.timestreamRecords(database, table);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.MeasureValues).toEqual([{ Name: 'count', Value: '3', Type: 'BIGINT' }]);
  });

  it('fails at open with one line naming a table that does not exist', async () => {
    const { database } = await moto.createTimestreamTable();
    const endpoint = parseTimestreamUrl(`timestream://${database}/no_such_table?region=us-east-1`, '--sink', {});
    const error = await openTimestreamSink(endpoint, { endpointUrl: moto.endpoint, credentials: MOTO_CREDENTIALS }).then(
      () => new Error('expected a failure'),
      (err: unknown) => err as Error,
    );
    expect(isUserError(error)).toBe(true);
    expect(error.message).toBe(
      `Timestream table '${database}.no_such_table' in us-east-1 does not exist (The table no_such_table does not exist.); create it first (Sluice does not create databases or tables)`,
    );
  });
});
