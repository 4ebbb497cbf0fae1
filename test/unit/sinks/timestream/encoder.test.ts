import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/core/errors.js';
import { resolveMapping, timestreamEncoder, type TimestreamMapping } from '../../../../src/sinks/timestream/index.js';

// The mapping from a window result to one multi-measure Timestream record.

const RESULT = {
  id: 'c9c310eeac7bd0e7a6d39c16523559e7',
  key: { page: '/help' },
  windowStart: 1_793_536_140_000,
  windowEnd: 1_793_536_200_000,
  revision: 0,
  count: 4,
  avg_dwellMs: 4258.75,
  p95_dwellMs: 3395.5499454802093,
  distinct_userId: 4,
};

const encode = (record: unknown, mapping: TimestreamMapping = {}) => timestreamEncoder(resolveMapping(mapping))(record);
const vc = (Name: string, Value: string) => ({ Name, Value, DimensionValueType: 'VARCHAR' });
const double = (Name: string, value: number) => ({ Name, Value: String(value), Type: 'DOUBLE' });

describe('timestreamEncoder, default mapping', () => {
  it('maps a window result: time windowEnd − 1, version revision + 1, the key as dimensions, every number as a DOUBLE measure', () => {
    expect(encode(RESULT)).toEqual({
      time: '1793536199999',
      version: 1,
      dimensions: [vc('page', '/help')],
      measures: [double('count', 4), double('avg_dwellMs', 4258.75), double('p95_dwellMs', 3395.5499454802093), double('distinct_userId', 4)],
      bytes: 8 + 'window'.length + 'page/help'.length + ('count'.length + 'avg_dwellMs'.length + 'p95_dwellMs'.length + 'distinct_userId'.length) + 4 * 8,
    });
  });

  it('gives a re-fired window a higher version', () => {
    expect(encode({ ...RESULT, revision: 2 })).toMatchObject({ version: 3, time: '1793536199999' });
  });

  it('flattens a key of several fields into dimensions and adds the partition of per-partition results', () => {
    const result = { ...RESULT, key: { 'vehicle.id': 'v-17', region: 'eu', depot: { site: 4 } }, partition: 'telemetry-2' };
    expect(encode(result)).toMatchObject({
      dimensions: [vc('vehicle.id', 'v-17'), vc('region', 'eu'), vc('depot.site', '4'), vc('partition', 'telemetry-2')],
    });
  });

  it('makes a scalar key the dimension `key`, and leaves out null key fields', () => {
    expect(encode({ ...RESULT, key: 'user-9' })).toMatchObject({ dimensions: [vc('key', 'user-9')] });
    expect(encode({ ...RESULT, key: { page: '/a', ref: null } })).toMatchObject({ dimensions: [vc('page', '/a')] });
  });

  it('leaves non-numeric and non-finite aggregates out of the default measures', () => {
    const result = { ...RESULT, note: 'x', flag: true, empty: Number.NaN, supersedes: ['a'] };
    const point = encode(result);
    expect('measures' in point ? point.measures.map((m) => m.Name) : point).toEqual(['count', 'avg_dwellMs', 'p95_dwellMs', 'distinct_userId']);
  });
});

describe('timestreamEncoder, explicit mapping', () => {
  it('takes time, dimensions, renamed and typed measures and the measure name from the mapping', () => {
    const mapping: TimestreamMapping = {
      time: 'windowStart',
      dimensions: ['key.page'],
      measures: ['count', { name: 'p95', field: 'p95_dwellMs' }, { name: 'users', field: 'distinct_userId', type: 'BIGINT' }],
      measureName: 'page_views',
    };
    expect(encode(RESULT, mapping)).toMatchObject({
      time: '1793536140000',
      dimensions: [vc('page', '/help')],
      measures: [double('count', 4), double('p95', 3395.5499454802093), { Name: 'users', Value: '4', Type: 'BIGINT' }],
    });
  });

  it('reads ISO-8601 and digit-string times', () => {
    expect(encode({ ...RESULT, at: '2026-11-22T05:00:00.000Z' }, { time: 'at' })).toMatchObject({ time: String(Date.parse('2026-11-22T05:00:00.000Z')) });
    expect(encode({ ...RESULT, at: '1700000000000' }, { time: 'at' })).toMatchObject({ time: '1700000000000' });
  });

  it('types booleans and strings by their value, and leaves out a null measure', () => {
    const result = { ...RESULT, converted: true, top: '/pricing', missing: null };
    expect(encode(result, { measures: ['converted', 'top', 'missing', 'count'] })).toMatchObject({
      measures: [{ Name: 'converted', Value: 'true', Type: 'BOOLEAN' }, { Name: 'top', Value: '/pricing', Type: 'VARCHAR' }, double('count', 4)],
    });
  });
});

describe('timestreamEncoder, results it cannot map', () => {
  it.each([
    ['no time', { ...RESULT, windowEnd: undefined }, {}, ErrorCode.MISSING_TIME, "no 'windowEnd' to take the time from; name a time field in the mapping"],
    ['a bad time', { ...RESULT, at: 'yesterday' }, { time: 'at' }, ErrorCode.BAD_TIME, 'time field \'at\' is "yesterday", not epoch milliseconds or ISO-8601'],
    ['no dimension', { ...RESULT, key: null }, {}, ErrorCode.MISSING_KEY, 'no dimension: none of the fields key, partition has a value'],
    ['no numeric field', { id: 'x', key: 'k', windowStart: 0, windowEnd: 1, revision: 0, top: '/a' }, {}, ErrorCode.BAD_FIELD, 'no numeric field to write as a measure'],
    ['a value of the wrong type', { ...RESULT, count: 2.5 }, { measures: [{ name: 'count', field: 'count', type: 'BIGINT' }] }, ErrorCode.BAD_FIELD, "measure 'count' is 2.5, not a whole number"],
    ['a name used twice', { ...RESULT, key: { count: 'x' } }, {}, ErrorCode.BAD_FIELD, "'count' would be two columns (as a dimension and a measure, or twice); rename one in the mapping"],
    ['a reserved name', { ...RESULT, key: { time: 'x' } }, {}, ErrorCode.BAD_FIELD, "dimension 'time' is a name Timestream keeps for itself"],
  ] as const)('rejects a result with %s', (_what, record, mapping, code, reason) => {
    expect(encode(record, mapping)).toEqual({ code, reason });
  });

  it('rejects a record over 2 KB and one with more than 128 dimensions', () => {
    expect(encode({ ...RESULT, key: { page: 'x'.repeat(2100) } })).toMatchObject({ code: ErrorCode.RECORD_TOO_LARGE, reason: expect.stringMatching(/^\d+ bytes as a Timestream record, over its 2048-byte limit$/) });
    const wide = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`d${i}`, 'v']));
    expect(encode({ ...RESULT, key: wide })).toEqual({ code: ErrorCode.BAD_FIELD, reason: "129 dimensions, over Timestream's 128" });
  });
});

describe('resolveMapping', () => {
  it.each([
    [{ dimensions: [] }, 'give at least one dimension field'],
    [{ measures: [] }, 'give at least one measure, or none to take every numeric field'],
    [{ measures: ['a', { name: 'a', field: 'b' }] }, "measure 'a' is named twice"],
    [{ measureName: 'measure_value' }, "measure name 'measure_value' is a name Timestream keeps for itself"],
    [{ time: 'a..b' }, "time 'a..b' is not a field name or dotted path"],
    [{ measures: [{ name: 'a:b', field: 'a' }] }, "measure 'a:b' contains ':', which Timestream refuses"],
  ] as const)('refuses %j', (mapping, message) => {
    expect(() => resolveMapping(mapping as TimestreamMapping)).toThrow(message);
  });
});
