import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/core/errors.js';
import { classifyAwsError, FIREHOSE_MAX_BATCH_RECORDS, FIREHOSE_MAX_RECORD_BYTES, firehoseSinkConfig, parseFirehoseUrl } from '../../../../src/sinks/firehose/index.js';
import { userErrorOf } from '../../../support/failures.js';

describe('parseFirehoseUrl', () => {
  it('takes the delivery stream, region and packing', () => {
    expect(parseFirehoseUrl('firehose://page-views?region=eu-west-1&pack=true', '--sink', {})).toEqual({
      url: 'firehose://page-views?region=eu-west-1&pack=true',
      deliveryStream: 'page-views',
      region: 'eu-west-1',
      pack: true,
    });
  });

  it('falls back to AWS_REGION, and leaves the region to the SDK without one', () => {
    expect(parseFirehoseUrl('firehose://s', '--sink', { AWS_REGION: 'us-west-2' }).region).toBe('us-west-2');
    expect(parseFirehoseUrl('firehose://s', '--sink', { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    expect(parseFirehoseUrl('firehose://s', '--sink', {}).region).toBeUndefined();
  });

  it.each([
    ['firehose:/s', "--sink 'firehose:/s': write firehose://DELIVERY_STREAM[?region=REGION&pack=true]"],
    ['firehose://', "--sink 'firehose://': '' is not a Firehose delivery stream name (1 to 64 letters, digits, '_', '.', '-')"],
    ['firehose://a/b', "--sink 'firehose://a/b': write firehose://DELIVERY_STREAM[?region=REGION&pack=true]"],
    ['firehose://s?pack=yes', "--sink 'firehose://s?pack=yes': pack must be true or false, got 'yes'"],
    ['firehose://s?key=id', "--sink 'firehose://s?key=id': unknown parameter 'key'; use region, pack"],
    ['firehose://s?region=Europe', "--sink 'firehose://s?region=Europe': 'Europe' is not an AWS region name such as eu-west-1"],
  ])('refuses %s with one line naming the flag', (url, message) => {
    const error = userErrorOf(() => parseFirehoseUrl(url, '--sink', {}));
    expect(error.code).toBe(ErrorCode.BAD_URL);
    expect(error.message).toBe(message);
  });
});

describe('firehoseSinkConfig', () => {
  const endpoint = parseFirehoseUrl('firehose://s', '--sink', {});

  it('clamps batch and record sizes to the service limits', () => {
    const config = firehoseSinkConfig(endpoint, { env: {}, maxBatchRecords: 10_000, maxRecordBytes: 10_000_000 });
    expect(config.maxBatchRecords).toBe(FIREHOSE_MAX_BATCH_RECORDS);
    expect(config.maxRecordBytes).toBe(FIREHOSE_MAX_RECORD_BYTES);
    expect(firehoseSinkConfig(endpoint, { env: {}, maxBatchBytes: 1000 }).maxRecordBytes).toBe(1000);
  });

  it('takes the endpoint override from the option or SLUICE_AWS_ENDPOINT', () => {
    expect(firehoseSinkConfig(endpoint, { env: { SLUICE_AWS_ENDPOINT: 'http://127.0.0.1:5000/' } }).client.endpointUrl).toBe('http://127.0.0.1:5000');
    expect(firehoseSinkConfig(endpoint, { env: {} }).client.endpointUrl).toBeUndefined();
    expect(userErrorOf(() => firehoseSinkConfig(endpoint, { endpointUrl: '127.0.0.1:5000' })).code).toBe(ErrorCode.BAD_OPTION);
  });

  it('refuses sizes that are not whole numbers', () => {
    expect(userErrorOf(() => firehoseSinkConfig(endpoint, { env: {}, maxBatchRecords: 0 })).message).toBe('Firehose sink option maxBatchRecords must be a whole number ≥ 1, got 0');
  });
});

describe('classifyAwsError', () => {
  const named = (name: string, extra: object = {}): Error => Object.assign(new Error(name), { name, ...extra });

  it('retries throttling, 5xx, timeouts and dropped connections', () => {
    for (const err of [
      named('ServiceUnavailableException'),
      named('ThrottlingException'),
      named('LimitExceededException'),
      named('TimeoutError'),
      named('UnknownError', { $metadata: { httpStatusCode: 503 } }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    ]) {
      expect(classifyAwsError(err), err.name).toBe('retry');
    }
  });

  it('does not retry what a resend cannot fix', () => {
    for (const err of [
      named('ResourceNotFoundException', { $metadata: { httpStatusCode: 400 } }),
      named('AccessDeniedException'),
      named('InvalidArgumentException'),
      Object.assign(new Error('getaddrinfo ENOTFOUND firehose.xx-east-9.amazonaws.com'), { code: 'ENOTFOUND' }),
      'a string',
    ]) {
      expect(classifyAwsError(err)).toBe('fatal');
    }
  });
});
