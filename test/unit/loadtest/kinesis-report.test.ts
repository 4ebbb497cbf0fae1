import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/loadtest/target.js';
import { kinesisReport } from '../../../src/loadtest/kinesis-report.js';
import { isSustained, kinesisSizingInput, recommendFrom } from '../../../src/loadtest/recommend.js';
import type { StepResult } from '../../../src/loadtest/report.js';
import type { PutCounts } from '../../../src/loadtest/service.js';
import { sizeStream } from '../../../src/loadtest/sizing.js';

const latency = { count: 0, p50: 5, p90: 8, p99: 20, p999: 30, max: 40, mean: 6 };

function step(k: number, rate: number, puts: PutCounts): StepResult {
  const base = {
    step: k, targetRate: rate, durationMs: 2000, intended: 2 * rate, sent: 2 * rate, acked: 2 * rate, failed: 0, throttled: 0, firstError: null,
    putRate: rate, maxSendDelayMs: 1, meanValueBytes: 500, meanKeyBytes: 8, read: 2 * rate, readRate: rate, lagEnd: 0, lagMax: 10,
    latency: { ...latency, count: 2 * rate }, cpuCores: 0.1, rssMaxMb: 100, heapMaxMb: 50, puts,
  };
  return { ...base, sustained: isSustained(base), overBudget: [] };
}

const puts = (user: number, records: number, byShard: Record<string, number>): PutCounts => ({
  putCalls: 5, kinesisRecords: records, aggregatedRecords: records === user ? 0 : records, userRecords: user, throttled: 3, retried: 3, putUnits: records, kinesisBytes: records * 5000, byShard,
});

describe('kinesisReport', () => {
  const steps = [step(0, 500, puts(1000, 100, { 'shardId-0': 500, 'shardId-1': 500 })), step(1, 1000, puts(2000, 200, { 'shardId-0': 1500, 'shardId-1': 500 }))];
  const report = kinesisReport({
    stream: 'load',
    aggregate: true,
    shards: 2,
    steps,
    behindMax: new Map([['load/shardId-0', 120]]),
    readByPartition: new Map([['load/shardId-0', [500, 1500]], ['load/shardId-1', [500, 500]]]),
  });

  it('adds up the steps and lays out each shard as put and as read', () => {
    expect(report.puts).toMatchObject({ putCalls: 10, kinesisRecords: 300, userRecords: 3000, throttled: 6, retried: 6, byShard: { 'shardId-0': 2000, 'shardId-1': 1000 } });
    expect(report.shardLoad).toEqual([
      { shard: 'shardId-0', put: [500, 1500], read: [500, 1500], millisBehindMax: 120 },
      { shard: 'shardId-1', put: [500, 500], read: [500, 500], millisBehindMax: null },
    ]);
  });

  it('measures aggregation from all puts and the shard skew at the highest step', () => {
    expect(report.measured).toEqual({ userRecordsPerRecord: 10, recordBytes: 5000, putUnitsPerUserRecord: 0.1, hotShardFactor: 1.5, hotShardRate: 750, atRate: 1000, shards: 2 });
  });

  it('the recommendation sizes Kinesis from the measured figures, with a shard for every task', () => {
    expect(kinesisSizingInput(1000, 508, report.measured)).toEqual({ rate: 100, recordSize: 5000, peakFactor: 1.5 });
    const { recommendation: r, sizing } = recommendFrom({ steps, targetRate: 20_000, recordBytes: 508, kinesis: report.measured });
    // 2,000 Kinesis records/s of 5,000 B, the busiest shard at 1.5×: 3 MB/s at peak binds on bytes in
    expect(sizing.input).toMatchObject({ rate: 2000, recordSize: 5000, peakFactor: 1.5 });
    expect(sizing.shards).toBe(sizeStream({ rate: 2000, recordSize: 5000, peakFactor: 1.5 }).shards);
    expect(r.partitions).toBeNull();
    expect(r.kinesisShards).toBe(Math.max(sizing.shards, r.tasks ?? 0));
    expect(r.explanation.join('\n')).toContain("Kinesis, from this run's puts: 10.0 user records per aggregated Kinesis record of 5,000 B");
    // the same steps without Kinesis figures: the abstract model, records spread evenly
    const plain = recommendFrom({ steps, targetRate: 20_000, recordBytes: 508 });
    expect(plain.sizing.input).toMatchObject({ rate: 20_000, recordSize: 508, peakFactor: 1 });
    expect(plain.recommendation.partitions).toBe(2 * (plain.recommendation.tasks ?? 0));
  });
});

describe('parseTarget', () => {
  it('a Kafka topic', () => {
    const target = parseTarget('kafka://127.0.0.1:9092/load', {});
    expect(target.kind).toBe('kafka');
  });

  it('a Kinesis stream: read as a source, aggregate= taken as --aggregate, the endpoint from the environment', () => {
    const target = parseTarget('kinesis://clicks?aggregate=true&consumer=lt&idle=200ms', { SLUICE_KINESIS_ENDPOINT: 'http://127.0.0.1:4567' });
    expect(target).toMatchObject({ kind: 'kinesis', url: 'kinesis://clicks?aggregate=true&consumer=lt&idle=200ms', aggregate: true });
    if (target.kind !== 'kinesis') throw new Error('not kinesis');
    expect(target.endpoint).toMatchObject({ stream: 'clicks', consumer: 'lt', idleMs: 200, endpointUrl: 'http://127.0.0.1:4567', app: undefined });
    expect(parseTarget('kinesis://clicks', {})).toMatchObject({ aggregate: false });
  });

  it.each([
    ['kinesis://clicks?app=x', "'app' is chosen by the load test"],
    ['kinesis://clicks?coordinator=kcl', "'coordinator' is chosen by the load test"],
    ['kinesis://clicks?max-records=0', 'max-records must be a whole number from 1 to 10000'],
    ['redis://x', 'write kafka://BROKER[,BROKER]/TOPIC or kinesis://STREAM'],
  ])('%s → one line naming --target', (url, expected) => {
    expect(() => parseTarget(url, {})).toThrow(expected);
  });
});
