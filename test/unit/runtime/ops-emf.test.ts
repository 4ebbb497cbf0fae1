import { describe, expect, it } from 'vitest';
import { EMF_METRICS, EmfPublisher, onEcs } from '../../../src/runtime/ops/emf.js';
import { fakeView, partition, type FakeRun } from './ops-fakes.js';

interface EmfDocument {
  readonly _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  readonly [field: string]: unknown;
}

// CloudWatch (and the library) refuse timestamps far from now: a fixed, recent one
const AT = Date.now();

function publisher(state: FakeRun | undefined, lines: string[]): EmfPublisher {
  const view = state === undefined ? undefined : fakeView(state);
  return new EmfPublisher({ pipeline: 'page-views', view: () => view, write: (line) => lines.push(line), now: () => AT });
}

describe('CloudWatch EMF', () => {
  it('is on only where ECS says so', () => {
    expect(onEcs({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' })).toBe(true);
    expect(onEcs({})).toBe(false);
    expect(onEcs({ ECS_CONTAINER_METADATA_URI_V4: '' })).toBe(false);
  });

  it('writes one document per flush: counts since the last flush, lag now, per Pipeline', async () => {
    const state: FakeRun = {
      counters: { events_in: 1000, results_out: 40, dead_lettered: 2, late: 1 },
      lastCheckpoint: 3,
      membership: { joined: true, assigned: 2, topicPartitions: 2 },
      partitions: [
        partition('clicks/0', { watermark: 1_799_999_000_000, backlog: { records: 120, waitingSince: undefined } }),
        partition('clicks/1', { backlog: { records: 30, waitingSince: undefined } }),
      ],
    };
    const lines: string[] = [];
    const emf = publisher(state, lines);
    await emf.flush();
    state.counters = { events_in: 1600, results_out: 55, dead_lettered: 2, late: 1 };
    state.partitions = [partition('clicks/0', { backlog: { records: 0, waitingSince: undefined } })];
    await emf.flush();

    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((line) => JSON.parse(line) as EmfDocument) as [EmfDocument, EmfDocument];
    const directive = first._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Sluice');
    expect(directive?.Dimensions).toEqual([['Pipeline']]);
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual([...EMF_METRICS].sort());
    expect(directive?.Metrics.every((m) => m.Unit === 'Count')).toBe(true);
    expect(first._aws.Timestamp).toBe(AT);
    expect(first).toMatchObject({ Pipeline: 'page-views', EventsIn: 1000, ResultsOut: 40, DeadLettered: 2, Late: 1, Lag: 150, MaxPartitionLag: 120, AssignedPartitions: 2 });
    expect(first['partitionLag']).toEqual({ 'clicks/0': 120, 'clicks/1': 30 });
    expect(first['partitionWatermark']).toEqual({ 'clicks/0': 1_799_999_000_000 });
    expect(first['lastCheckpoint']).toBe(3);
    // the second interval counts only what happened in it
    expect(second).toMatchObject({ EventsIn: 600, ResultsOut: 15, DeadLettered: 0, Late: 0, Lag: 0, MaxPartitionLag: 0, AssignedPartitions: 1 });
    expect(second['partitionLag']).toEqual({ 'clicks/0': 0 });
  });

  it('reports no lag for sources that cannot tell it, and nothing before the run starts', async () => {
    const lines: string[] = [];
    await publisher(undefined, lines).flush();
    expect(lines).toEqual([]);

    await publisher({ counters: { events_in: 5 }, partitions: [partition('a.jsonl')] }, lines).flush();
    const doc = JSON.parse(lines[0] ?? '{}') as EmfDocument;
    expect(doc['EventsIn']).toBe(5);
    expect('Lag' in doc).toBe(false);
    expect(doc._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).not.toContain('Lag');
  });

  it('flushes the last interval when stopped', async () => {
    const lines: string[] = [];
    const emf = publisher({ counters: { events_in: 7 } }, lines);
    emf.start(3_600_000);
    await emf.stop();
    expect(lines.map((line) => (JSON.parse(line) as EmfDocument)['EventsIn'])).toEqual([7]);
  });
});

describe('CloudWatch EMF failures', () => {
  it('never disturb the run: a document that cannot be written is dropped', async () => {
    const emf = new EmfPublisher({ pipeline: 'p', view: () => fakeView({}), write: () => {
      throw new Error('stderr closed');
    } });
    await expect(emf.flush()).rejects.toThrow('stderr closed');
    await expect(emf.stop()).resolves.toBeUndefined();
  });
});
