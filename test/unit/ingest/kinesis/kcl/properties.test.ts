import { describe, expect, it } from 'vitest';
import { parseKinesisUrl } from '../../../../../src/kinesis/endpoint.js';
import { kclProperties, logbackConfiguration } from '../../../../../src/ingest/kinesis/kcl/properties.js';
import { withCoordinates } from '../../../../../src/ingest/kinesis/kcl/jars.js';
import { checkKclRun } from '../../../../../src/ingest/kinesis/kcl/supervisor.js';
import { clickstreamPageViews } from '../../../../../src/pipelines/index.js';

const env = { SLUICE_KINESIS_ENDPOINT: 'http://127.0.0.1:4567', SLUICE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AWS_REGION: 'eu-west-1' };

function properties(url: string): Record<string, string> {
  const text = kclProperties(parseKinesisUrl(url, 'source', env), { executable: '/tmp/k/processor.sh', shutdownGraceMs: 20_000 });
  return Object.fromEntries(text.trim().split('\n').map((line) => line.split(' = ') as [string, string]));
}

describe('kclProperties', () => {
  it('configures the daemon from the URL and the endpoint overrides', () => {
    const p = properties('kinesis://clicks?coordinator=kcl&app=page-views&failover=20s&max-records=500&idle=250');
    expect(p).toMatchObject({
      executableName: '/tmp/k/processor.sh',
      streamName: 'clicks',
      applicationName: 'page-views',
      initialPositionInStream: 'TRIM_HORIZON',
      regionName: 'eu-west-1',
      kinesisEndpoint: 'http://127.0.0.1:4567',
      dynamoDBEndpoint: 'http://127.0.0.1:8000',
      metricsLevel: 'NONE',
      retrievalMode: 'POLLING',
      failoverTimeMillis: '20000',
      maxRecords: '500',
      idleTimeBetweenReadsInMillis: '250',
      callProcessRecordsEvenForEmptyRecordList: 'true',
      shutdownGraceMillis: '20000',
    });
    expect(p['processingLanguage']).toMatch(/^nodejs\//);
  });

  it('starts at LATEST or at a timestamp in epoch seconds', () => {
    expect(properties('kinesis://clicks?coordinator=kcl&app=views&start=latest')['initialPositionInStream']).toBe('LATEST');
    const at = properties('kinesis://clicks?coordinator=kcl&app=views&start=2026-11-01T12:00:00.750Z');
    expect(at['initialPositionInStream']).toBe('AT_TIMESTAMP');
    expect(at['initialPositionInStreamExtended']).toBe(String(Date.parse('2026-11-01T12:00:00Z') / 1000));
  });

  it('uses enhanced fan-out when a consumer is named', () => {
    const p = properties('kinesis://clicks?coordinator=kcl&app=views&consumer=views-efo');
    expect(p['retrievalMode']).toBe('FANOUT');
    expect(p['fanoutConfig.consumerName']).toBe('views-efo');
  });

  it('keeps the daemon log off stdout', () => {
    const xml = logbackConfiguration('/tmp/k/daemon.log');
    expect(xml).toContain('<file>/tmp/k/daemon.log</file>');
    expect(xml).not.toContain('System.out');
    expect(xml.match(/<target>System.err<\/target>/g)).toHaveLength(2);
  });
});

describe('withCoordinates', () => {
  it("gives aws-kcl's pom the coordinates Maven needs, once", () => {
    const pom = '<project><modelVersion>4.0.0</modelVersion><dependencies/></project>';
    const fixed = withCoordinates(pom);
    expect(fixed).toContain('<modelVersion>4.0.0</modelVersion><groupId>sluice</groupId><artifactId>kcl-jars</artifactId><version>0</version><packaging>pom</packaging>');
    expect(withCoordinates(fixed)).toBe(fixed);
  });
});

describe('checkKclRun', () => {
  it('refuses stdout outputs, which would corrupt the protocol', () => {
    expect(() => checkKclRun(clickstreamPageViews, { checkpoint: 'file:/tmp/ck', sink: ['stdout:'] })).toThrow(/stdout carries the MultiLangDaemon's protocol; write results to stderr: or a file/);
    expect(() => checkKclRun(clickstreamPageViews, { checkpoint: 'file:/tmp/ck', sink: ['file:/tmp/out.jsonl'], deadLetter: 'dlq:stdout:' })).toThrow(/--dead-letter/);
    expect(() => checkKclRun(clickstreamPageViews, { checkpoint: 'file:/tmp/ck', sink: ['stderr:'] })).not.toThrow();
  });

  it('needs a checkpoint store', () => {
    expect(() => checkKclRun(clickstreamPageViews, { sink: ['stderr:'] })).toThrow(/KCL mode needs --checkpoint file:DIR/);
  });
});
