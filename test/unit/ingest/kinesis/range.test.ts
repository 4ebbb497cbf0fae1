import { describe, expect, it } from 'vitest';
import type { PartitionReader } from '../../../../src/core/connectors.js';
import { count, definePipeline, tumbling } from '../../../../src/index.js';
import { BoundedShardStream, kinesisRangeSource, kinesisShardSpans, type ArrivalRange, type ShardSpan } from '../../../../src/ingest/kinesis/range.js';
import type { PollingClock } from '../../../../src/ingest/kinesis/polling.js';
import type { KinesisService, RecordsPage, ShardInfo } from '../../../../src/ingest/kinesis/service.js';
import type { ShardFetch, ShardPosition, ShardStream } from '../../../../src/ingest/kinesis/shard-stream.js';
import { parseKinesisUrl } from '../../../../src/kinesis/endpoint.js';
import { runPipeline } from '../../../../src/runtime/run.js';
import { CollectSink, runMemory } from '../../../support/run-memory.js';

// The bounded Kinesis source of `sluice backfill` on a fake Kinesis: which shards a time range
// selects and from where, where each shard's partition ends (a record at or after the end, a
// closed shard's end, an open shard's tip), resuming from a checkpoint, and combined results
// across a split giving the windows one partition with the same events gives.

const endpoint = parseKinesisUrl('kinesis://clicks?max-records=3', 'source', {});

/** A virtual clock: polling waits (200 ms between calls) cost no real time. */
const clock = (): PollingClock => {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  };
};

interface FakeRecord {
  readonly seq: string;
  readonly arrival: number;
  readonly data: string;
}

interface FakeShard {
  readonly id: string;
  readonly parent?: string;
  readonly closed?: boolean;
  readonly children?: readonly string[];
  readonly records: readonly FakeRecord[];
}

let nextSeq = 1000;
/** Records arriving at `arrivals`, with ever higher sequence numbers (all of one length). */
function records(arrivals: readonly number[], data: (i: number) => string = (i) => `r${i}`): FakeRecord[] {
  return arrivals.map((arrival, i) => ({ seq: String(nextSeq++).padStart(20, '0'), arrival, data: data(i) }));
}

/** Kinesis over `shards`; `early` makes AT_TIMESTAMP land that many records early (it is approximate). */
function fakeKinesis(shards: readonly FakeShard[], early = 0): KinesisService & { positions: Map<string, ShardPosition[]>; calls: Map<string, number>; closed: boolean } {
  const byId = new Map(shards.map((s) => [s.id, s]));
  const positions = new Map<string, ShardPosition[]>();
  const calls = new Map<string, number>();
  const fake = {
    positions,
    calls,
    closed: false,
    describe: async () => ({ arn: 'arn', status: 'ACTIVE' }),
    listShards: async (): Promise<ShardInfo[]> =>
      shards.map((s) => ({
        shardId: s.id,
        parentShardId: s.parent,
        adjacentParentShardId: undefined,
        startingHashKey: '0',
        endingHashKey: '1',
        endingSequenceNumber: s.closed === true ? (s.records.at(-1)?.seq ?? '0') : undefined,
      })),
    shardIterator: async (shardId: string, position: ShardPosition) => {
      const shard = byId.get(shardId);
      if (shard === undefined) throw Object.assign(new Error('no shard'), { name: 'ResourceNotFoundException' });
      positions.set(shardId, [...(positions.get(shardId) ?? []), position]);
      const rs = shard.records;
      let index: number;
      if (position.type === 'TRIM_HORIZON') index = 0;
      else if (position.type === 'AT_TIMESTAMP') {
        const at = rs.findIndex((r) => r.arrival >= position.timestamp);
        index = Math.max(0, (at === -1 ? rs.length : at) - early);
      } else if (position.type === 'AT_SEQUENCE_NUMBER') index = rs.findIndex((r) => r.seq === position.sequenceNumber);
      else if (position.type === 'AFTER_SEQUENCE_NUMBER') index = rs.findIndex((r) => r.seq === position.sequenceNumber) + 1;
      else index = rs.length;
      return `${shardId}@${index}`;
    },
    getRecords: async (iterator: string, limit: number): Promise<RecordsPage> => {
      const [shardId, at] = iterator.split('@') as [string, string];
      calls.set(shardId, (calls.get(shardId) ?? 0) + 1);
      const shard = byId.get(shardId) as FakeShard;
      const from = Number(at);
      const page = shard.records.slice(from, from + limit);
      const next = from + page.length;
      const end = shard.closed === true && next >= shard.records.length;
      const tip = shard.records.at(-1)?.arrival ?? 0;
      return {
        records: page.map((r) => ({ sequenceNumber: r.seq, partitionKey: 'p', data: Buffer.from(r.data), arrival: r.arrival })),
        nextIterator: end ? undefined : `${shardId}@${next}`,
        millisBehindLatest: next < shard.records.length ? tip - (page.at(-1)?.arrival ?? 0) + 1 : 0,
        childShardIds: end ? [...(shard.children ?? [])] : [],
      };
    },
    close: () => {
      fake.closed = true;
    },
  };
  return fake;
}

/** Everything a reader hands over until its end, as data strings. */
async function drain(reader: PartitionReader): Promise<string[]> {
  const out: string[] = [];
  for (let batch = await reader.read(); batch !== null; batch = await reader.read()) {
    for (const env of batch) out.push(Buffer.from(env.raw as Uint8Array).toString());
  }
  return out;
}

async function readAll(service: KinesisService, range: ArrivalRange, resume?: ReadonlyMap<string, Record<string, unknown>>): Promise<{ spans: ShardSpan[]; read: Record<string, string[]> }> {
  const spans = await kinesisShardSpans(endpoint, range, { service, clock: clock(), now: () => 1e12 });
  const source = kinesisRangeSource(endpoint, spans, range, { service, clock: clock() });
  const readers = await source.open(resume as never);
  const read: Record<string, string[]> = {};
  for (const reader of readers) read[reader.partition] = await drain(reader);
  await source.close();
  return { spans, read };
}

describe('kinesis range: which shards and from where', () => {
  it('keeps shards with a record that arrived in [start, end), starting each at its first such record', async () => {
    const before = { id: 'shard-before', closed: true, records: records([100, 200, 300]) };
    const inside = { id: 'shard-inside', records: records([300, 1000, 1500, 2500]) };
    const after = { id: 'shard-after', records: records([2000, 2100]) };
    const service = fakeKinesis([before, inside, after]);
    const spans = await kinesisShardSpans(endpoint, { start: 1000, end: 2000 }, { service, clock: clock(), now: () => 1e12 });
    expect(spans).toEqual([{ shardId: 'shard-inside', parentShardId: undefined, adjacentParentShardId: undefined, closed: false, first: inside.records[1]?.seq }]);
    expect(service.positions.get('shard-inside')).toEqual([{ type: 'AT_TIMESTAMP', timestamp: 1000 }]);
    // the probe does not close a service it was given: the source goes on with it
    expect(service.closed).toBe(false);
  });

  it('skips records AT_TIMESTAMP returns from before the start (it is approximate)', async () => {
    const shard = { id: 's', records: records([500, 900, 1000, 1100]) };
    const { spans, read } = await readAll(fakeKinesis([shard], 2), { start: 1000, end: null });
    expect(spans.map((s) => s.first)).toEqual([shard.records[2]?.seq]);
    expect(read).toEqual({ 'clicks/s': ['r2', 'r3'] });
  });

  it('a range with no open start reads from TRIM_HORIZON; a start in the future selects nothing', async () => {
    const shard = { id: 's', records: records([10, 20]) };
    const service = fakeKinesis([shard]);
    expect((await kinesisShardSpans(endpoint, { start: null, end: 15 }, { service, clock: clock() })).map((s) => s.shardId)).toEqual(['s']);
    expect(service.positions.get('s')).toEqual([{ type: 'TRIM_HORIZON' }]);
    expect(await kinesisShardSpans(endpoint, { start: 5_000, end: null }, { service, clock: clock(), now: () => 4_000 })).toEqual([]);
  });

  it('a stream that does not exist is a one-line UserError naming it', async () => {
    const service = fakeKinesis([]);
    service.listShards = async () => Promise.reject(Object.assign(new Error('Stream clicks under account 0 not found.'), { name: 'ResourceNotFoundException' }));
    await expect(kinesisShardSpans(endpoint, { start: 0, end: 1 }, { service })).rejects.toThrow(/^kinesis stream 'clicks' does not exist: check the name and region/);
  });
});

describe('kinesis range: where each partition ends', () => {
  it('at the first record that arrived at or after the end, excluded, without reading further', async () => {
    // max-records=3: the record past the end comes in the second page, the third is never fetched
    const shard = { id: 's', records: records([1000, 1100, 1200, 1300, 2000, 2100, 2200, 2300, 2400]) };
    const service = fakeKinesis([shard]);
    const { read } = await readAll(service, { start: 1000, end: 2000 });
    expect(read).toEqual({ 'clicks/s': ['r0', 'r1', 'r2', 'r3'] });
    // one probe call, then two pages of the reader
    expect(service.calls.get('s')).toBe(3);
  });

  it('at the end of a closed shard, and at the tip of an open one (an empty page at MillisBehindLatest 0)', async () => {
    const parent = { id: 'parent', closed: true, children: ['child'], records: records([1000, 1100, 1200, 1300]) };
    const child = { id: 'child', parent: 'parent', records: records([1400, 1500], (i) => `c${i}`) };
    const { spans, read } = await readAll(fakeKinesis([parent, child]), { start: 1000, end: 5000 });
    expect(spans.map((s) => [s.shardId, s.closed, s.parentShardId])).toEqual([
      ['parent', true, undefined],
      ['child', false, 'parent'],
    ]);
    expect(read).toEqual({ 'clicks/parent': ['r0', 'r1', 'r2', 'r3'], 'clicks/child': ['c0', 'c1'] });
  });

  it('a bounded stream passes a closed shard\'s children on, and ends once', async () => {
    const fetches: ShardFetch[] = [
      { records: [{ sequenceNumber: '1', partitionKey: 'p', data: Buffer.from('a'), arrival: 10 }], millisBehindLatest: 5, ended: undefined },
      { records: [], millisBehindLatest: 0, ended: { childShardIds: ['x', 'y'] } },
    ];
    let closed = 0;
    const inner: ShardStream = { shardId: 's', next: async () => fetches.shift() as ShardFetch, close: async () => void closed++ };
    const bounded = new BoundedShardStream(inner, { start: null, end: null });
    expect((await bounded.next()).ended).toBeUndefined();
    expect((await bounded.next()).ended).toEqual({ childShardIds: ['x', 'y'] });
    expect(closed).toBe(1);
  });
});

describe('kinesis range: resuming and results', () => {
  it('resumes AT the checkpointed record and skips what the checkpoint covers', async () => {
    const shard = { id: 's', records: records([1000, 1100, 1200, 1300]) };
    const service = fakeKinesis([shard]);
    const resume = new Map([['clicks/s', { shard: 's', sequence: shard.records[1]?.seq, sub: 0 }]]);
    const { read } = await readAll(service, { start: 1000, end: 2000 }, resume);
    expect(read).toEqual({ 'clicks/s': ['r2', 'r3'] });
    expect(service.positions.get('s')?.at(-1)).toEqual({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: shard.records[1]?.seq });
  });

  it('combines windows across a split: a key in the parent and a child gives one complete window, as one partition would', async () => {
    const definition = definePipeline('agg', (s) =>
      s
        .parseJson()
        .withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' })
        .keyBy('k')
        .window({ assign: tumbling('1m'), aggregate: { n: count() } }),
    );
    const event = (k: string, ts: number): string => JSON.stringify({ k, ts });
    // key a's minute [0, 60 s) has two events in the parent and two in a child; a@0 arrived before the range
    const parentEvents = [event('a', 1_000), event('b', 2_000), event('a', 30_000)];
    const childEvents = [event('a', 40_000), event('b', 50_000), event('a', 59_000), event('a', 61_000)];
    const before = [event('a', 0)];
    const parent = { id: 'parent', closed: true, children: ['child'], records: records([500, 1000, 1100, 1200], (i) => [...before, ...parentEvents][i] as string) };
    const child = { id: 'child', parent: 'parent', records: records([1300, 1400, 1500, 1600], (i) => childEvents[i] as string) };
    const service = fakeKinesis([parent, child]);
    const range = { start: 1000, end: 5000 };
    const source = kinesisRangeSource(endpoint, await kinesisShardSpans(endpoint, range, { service, clock: clock(), now: () => 1e12 }), range, { service, clock: clock() });
    // fixed partitions: the run combines results (a source with `listen` would get keyed ones)
    expect(source.listen).toBeUndefined();
    const results = new CollectSink<{ id: string }>();
    await runPipeline({ definition, source, sinks: [results as CollectSink], deadLetter: new CollectSink() });
    const one = await runMemory(definition, { all: [...parentEvents, ...childEvents] });
    const sorted = (lines: readonly string[]): string[] => [...lines].sort();
    expect(sorted(results.lines())).toEqual(sorted(one.results));
    // one result for a's first minute, with all four events: none per shard
    expect(results.records.filter((r) => JSON.stringify(r).includes('"windowStart":0,') && JSON.stringify(r).includes('"k":"a"'))).toEqual([expect.objectContaining({ n: 4, revision: 0 })]);
    expect(results.records).toHaveLength(3);
    // what keyed results (the live source's, without its hand-over of state) would make of it
    const keyed = new CollectSink<{ id: string }>();
    const again = kinesisRangeSource(endpoint, await kinesisShardSpans(endpoint, range, { service, clock: clock(), now: () => 1e12 }), range, { service, clock: clock() });
    await runPipeline({ definition, source: again, sinks: [keyed as CollectSink], deadLetter: new CollectSink(), results: 'keyed' });
    expect(sorted(keyed.lines())).not.toEqual(sorted(one.results));
  });
});
