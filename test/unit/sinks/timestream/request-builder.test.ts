import { describe, expect, it } from 'vitest';
import { buildWriteRequests, TIMESTREAM_MAX_BATCH_RECORDS, type IndexedPoint, type TimestreamPoint } from '../../../../src/sinks/timestream/index.js';

// Splitting into WriteRecords calls of at most 100 and sharing common parts.

const dim = (Name: string, Value: string) => ({ Name, Value, DimensionValueType: 'VARCHAR' as const });

function point(page: string, time: number, extra: { region?: string; version?: number } = {}): TimestreamPoint {
  return {
    time: String(time),
    version: extra.version ?? 1,
    dimensions: [...(extra.region === undefined ? [] : [dim('region', extra.region)]), dim('page', page)],
    measures: [{ Name: 'count', Value: '1', Type: 'DOUBLE' }],
    bytes: 40,
  };
}

const indexed = (points: TimestreamPoint[], offset = 0): IndexedPoint[] => points.map((p, i) => ({ index: i + offset, point: p }));
const OPTIONS = { maxBatchRecords: TIMESTREAM_MAX_BATCH_RECORDS, measureName: 'window' };

describe('buildWriteRequests', () => {
  it('splits at 100 records per call, in order, remembering where each record came from', () => {
    const points = indexed(Array.from({ length: 250 }, (_, i) => point(`/p${i}`, 1000 + i)), 7);
    const requests = buildWriteRequests(points, OPTIONS);
    expect(requests.map((r) => r.records.length)).toEqual([100, 100, 50]);
    expect(requests.flatMap((r) => r.sources)).toEqual(points.map((p) => p.index));
    expect(requests.flatMap((r) => r.records.map((rec) => rec.Dimensions?.[0]?.Value))).toEqual(points.map((p) => p.point.dimensions[0]?.Value));
  });

  it('always shares the time unit, measure name and MULTI type; keeps time, version and dimensions that differ on each record', () => {
    const [request] = buildWriteRequests(indexed([point('/a', 1000), point('/b', 2000, { version: 3 })]), OPTIONS);
    expect(request?.common).toEqual({ MeasureName: 'window', MeasureValueType: 'MULTI', TimeUnit: 'MILLISECONDS' });
    expect(request?.records).toEqual([
      { Dimensions: [dim('page', '/a')], Time: '1000', Version: 1, MeasureValues: [{ Name: 'count', Value: '1', Type: 'DOUBLE' }] },
      { Dimensions: [dim('page', '/b')], Time: '2000', Version: 3, MeasureValues: [{ Name: 'count', Value: '1', Type: 'DOUBLE' }] },
    ]);
  });

  it('moves dimensions and a time that every record has into CommonAttributes', () => {
    const [request] = buildWriteRequests(indexed([point('/a', 1000, { region: 'eu' }), point('/b', 1000, { region: 'eu' }), point('/c', 1000, { region: 'eu' })]), OPTIONS);
    expect(request?.common).toEqual({ MeasureName: 'window', MeasureValueType: 'MULTI', TimeUnit: 'MILLISECONDS', Dimensions: [dim('region', 'eu')], Time: '1000' });
    expect(request?.records.map((r) => [r.Dimensions, r.Time])).toEqual([
      [[dim('page', '/a')], undefined],
      [[dim('page', '/b')], undefined],
      [[dim('page', '/c')], undefined],
    ]);
  });

  it('shares nothing of a lone record but the fixed parts, so it keeps its dimensions', () => {
    const [request] = buildWriteRequests(indexed([point('/a', 1000, { region: 'eu' })]), OPTIONS);
    expect(request?.common.Dimensions).toBeUndefined();
    expect(request?.records[0]).toMatchObject({ Dimensions: [dim('region', 'eu'), dim('page', '/a')], Time: '1000' });
  });

  it('keeps a dimension whose value differs in one record on every record', () => {
    const [request] = buildWriteRequests(indexed([point('/a', 1000, { region: 'eu' }), point('/b', 1000, { region: 'us' })]), OPTIONS);
    expect(request?.common.Dimensions).toBeUndefined();
    expect(request?.records.map((r) => r.Dimensions?.length)).toEqual([2, 2]);
  });
});
