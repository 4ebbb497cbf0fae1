import { describe, expect, it } from 'vitest';
import { checkpointResource, plannedScheme, sinkResource, sourceResource } from '../../../src/config/index.js';

describe('sourceResource', () => {
  it('names files, generators and Kafka topics read through a group', () => {
    expect(sourceResource('file:///data/*.jsonl', {}, 'SLUICE_SOURCE')).toEqual({ kind: 'file', path: '/data/*.jsonl' });
    expect(sourceResource('generator:telemetry?rate=10', {}, 'SLUICE_SOURCE')).toEqual({ kind: 'generator', workload: 'telemetry' });
    expect(sourceResource('kafka://b:9092/t?group=g', {}, 'SLUICE_SOURCE')).toMatchObject({ kind: 'kafka', topic: 't', group: 'g', auth: 'none', region: undefined });
  });

  it('reads the Kinesis source with its own parser: stream, region, application (app=), coordinator, fan-out consumer', () => {
    expect(sourceResource('kinesis://s?region=eu-west-1&app=app-1&coordinator=kcl&consumer=c&start=latest', {}, 'X')).toEqual({
      kind: 'kinesis',
      stream: 's',
      region: 'eu-west-1',
      application: 'app-1',
      coordinator: 'kcl',
      consumer: 'c',
    });
    expect(sourceResource('kinesis://s', { AWS_REGION: 'us-east-1' }, 'X')).toEqual({ kind: 'kinesis', stream: 's', region: 'us-east-1', application: undefined, coordinator: 'native', consumer: undefined });
    // the deployment's old spelling is the source's unknown parameter, not a silent single task
    expect(() => sourceResource('kinesis://s?application=app-1', {}, 'X')).toThrow(/^X 'kinesis:\/\/s\?application=app-1': unknown parameter 'application'; use .*\bapp\b/);
    expect(() => sourceResource('kinesis://s?region=mars', {}, 'X')).toThrow("X 'kinesis://s?region=mars': 'mars' is not an AWS region name such as eu-west-1");
    expect(() => sourceResource('kinesis://bad name', {}, 'X')).toThrow(/is not a Kinesis stream name/);
    expect(() => sourceResource('kinesis://s?app=ab', {}, 'X')).toThrow(/app 'ab' names the DynamoDB lease table/);
    expect(() => sourceResource('kinesis://s?coordinator=kcl', {}, 'X')).toThrow(/coordinator=kcl needs the application name/);
    expect(() => sourceResource('kinesis://s?aggregate=true', {}, 'X')).toThrow(/'aggregate' is for writing to Kinesis/);
  });
});

describe('sinkResource', () => {
  it('takes dlq: off and names the delivery stream', () => {
    expect(sinkResource('dlq:firehose://dead?region=eu-west-1', {}, 'SLUICE_DEAD_LETTER')).toEqual({ kind: 'firehose', deliveryStream: 'dead', region: 'eu-west-1' });
  });

  it('names the Kinesis stream a kinesis:// sink writes to, with the sink parser\'s checks', () => {
    expect(sinkResource('kinesis://page-views?aggregate=true&region=eu-west-1', {}, 'SLUICE_SINKS')).toEqual({ kind: 'kinesis-sink', stream: 'page-views', region: 'eu-west-1' });
    expect(() => sinkResource('kinesis://page-views?app=x', {}, 'SLUICE_SINKS')).toThrow(/'app' is for reading from Kinesis/);
  });

  it('names a collection for OpenSearch Serverless and nothing AWS for basic auth', () => {
    expect(sinkResource('opensearch://abc123.eu-west-1.aoss.amazonaws.com/i?auth=sigv4&service=aoss&region=eu-west-1', {}, 'S')).toEqual({
      kind: 'opensearch',
      host: 'abc123.eu-west-1.aoss.amazonaws.com',
      auth: 'sigv4',
      service: 'aoss',
      region: 'eu-west-1',
    });
    expect(sinkResource('opensearch://os.internal:9200/i', {}, 'S')).toMatchObject({ auth: 'none' });
  });

  it('refuses stdout: with an address', () => {
    expect(() => sinkResource('stdout:x', {}, 'SLUICE_SINKS')).toThrow("SLUICE_SINKS 'stdout:x': stdout: takes no address; write stdout:");
  });
});

describe('checkpointResource', () => {
  it('reads file directories and the planned DynamoDB and S3 stores', () => {
    expect(checkpointResource('file:ck', {}, 'C')).toEqual({ kind: 'file', dir: 'ck' });
    expect(checkpointResource('dynamodb://sluice-checkpoints', { AWS_REGION: 'eu-west-1' }, 'C')).toEqual({ kind: 'dynamodb', table: 'sluice-checkpoints', region: 'eu-west-1' });
    expect(checkpointResource('s3://state-bucket/sluice/ck/', {}, 'C')).toEqual({ kind: 's3', bucket: 'state-bucket', prefix: 'sluice/ck', region: undefined });
    expect(checkpointResource('s3://state-bucket', {}, 'C')).toEqual({ kind: 's3', bucket: 'state-bucket', prefix: '', region: undefined });
  });

  it('refuses what would become a wildcard or a bad name', () => {
    expect(() => checkpointResource('s3://state-bucket/ck/*', {}, 'C')).toThrow("C 's3://state-bucket/ck/*': the prefix 'ck/*' may not hold * or ?");
    expect(() => checkpointResource('dynamodb://t', {}, 'C')).toThrow(/'t' is not a DynamoDB table name/);
    expect(() => checkpointResource('file:', {}, 'C')).toThrow("C 'file:' has no path; write file:PATH");
  });

  it('knows which schemes are still to come', () => {
    expect(plannedScheme('kinesis://s')).toBeUndefined();
    expect(plannedScheme('dynamodb://t')).toBe('the DynamoDB checkpoint store');
    expect(plannedScheme('kafka://b:1/t')).toBeUndefined();
  });
});
