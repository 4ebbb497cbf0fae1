import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/core/errors.js';
import { parseTimestreamUrl, TIMESTREAM_MAX_BATCH_RECORDS, timestreamSinkConfig } from '../../../../src/sinks/timestream/index.js';
import { userErrorOf } from '../../../support/failures.js';

describe('parseTimestreamUrl', () => {
  it('takes database, table, region and a mapping', () => {
    expect(parseTimestreamUrl('timestream://metrics/page_views?region=eu-west-1&dimensions=key.page&measures=count,p95:p95_dwellMs&time=windowStart&measure-name=views', '--sink', {})).toEqual({
      url: 'timestream://metrics/page_views?region=eu-west-1&dimensions=key.page&measures=count,p95:p95_dwellMs&time=windowStart&measure-name=views',
      database: 'metrics',
      table: 'page_views',
      region: 'eu-west-1',
      mapping: { time: 'windowStart', dimensions: ['key.page'], measures: ['count', { name: 'p95', field: 'p95_dwellMs' }], measureName: 'views' },
    });
  });

  it('falls back to AWS_REGION and to the default mapping', () => {
    expect(parseTimestreamUrl('timestream://metrics/views', '--sink', { AWS_REGION: 'us-east-1' })).toMatchObject({ region: 'us-east-1', mapping: {} });
  });

  it.each([
    ['timestream://metrics', "--sink 'timestream://metrics': write timestream://DATABASE/TABLE[?region=REGION]"],
    ['timestream://m/views', "--sink 'timestream://m/views': 'm' is not a Timestream database name (3 to 256 letters, digits, '_', '.', '-')"],
    ['timestream://metrics/a/b', "--sink 'timestream://metrics/a/b': write timestream://DATABASE/TABLE[?region=REGION]"],
    ['timestream://metrics/views?key=id', "--sink 'timestream://metrics/views?key=id': unknown parameter 'key'; use region, time, dimensions, measures, measure-name"],
    ['timestream://metrics/views?measures=a,a', "--sink 'timestream://metrics/views?measures=a,a': measure 'a' is named twice"],
    ['timestream://metrics/views?region=moon', "--sink 'timestream://metrics/views?region=moon': 'moon' is not an AWS region name such as eu-west-1"],
  ])('refuses %s with one line naming the flag', (url, message) => {
    const error = userErrorOf(() => parseTimestreamUrl(url, '--sink', {}));
    expect(error.code).toBe(ErrorCode.BAD_URL);
    expect(error.message).toBe(message);
  });
});

describe('timestreamSinkConfig', () => {
  const endpoint = parseTimestreamUrl('timestream://metrics/views?measures=count', '--sink', {});

  it('lets the options override the URL mapping field by field, and clamps the batch size', () => {
    const config = timestreamSinkConfig(endpoint, { env: {}, mapping: { measureName: 'views' }, maxBatchRecords: 500 });
    expect(config.mapping).toEqual({ time: undefined, dimensions: ['key', 'partition'], measures: [{ name: 'count', field: 'count' }], measureName: 'views' });
    expect(config.maxBatchRecords).toBe(TIMESTREAM_MAX_BATCH_RECORDS);
  });

  it('refuses a bad mapping in the options with one line', () => {
    const error = userErrorOf(() => timestreamSinkConfig(endpoint, { env: {}, mapping: { dimensions: ['key..page'] } }));
    expect(error.code).toBe(ErrorCode.BAD_OPTION);
    expect(error.message).toBe("Timestream sink mapping: dimension 'key..page' is not a field name or dotted path");
  });
});
