import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../../src/core/errors.js';
import { PollingShardStream, type PollingClock } from '../../../../src/ingest/kinesis/polling.js';
import type { KinesisService, RecordsPage } from '../../../../src/ingest/kinesis/service.js';
import type { ShardPosition } from '../../../../src/ingest/kinesis/shard-stream.js';

// Polling GetRecords on a fake Kinesis: the per-shard call rate, backoff on throttling, a new
// iterator after the last delivered record when one expired, and the end of a closed shard.

function clock(): PollingClock & { slept: number[]; t: number } {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

const err = (name: string): Error => Object.assign(new Error(name), { name });
const page = (seqs: string[], next: string | undefined, behind = 0): RecordsPage => ({
  records: seqs.map((s) => ({ sequenceNumber: s, partitionKey: 'k', data: Buffer.from(s), arrival: 0 })),
  nextIterator: next,
  millisBehindLatest: behind,
  childShardIds: next === undefined ? ['child'] : [],
});

function fake(script: (RecordsPage | Error)[]): KinesisService & { iterators: ShardPosition[] } {
  const iterators: ShardPosition[] = [];
  return {
    iterators,
    describe: async () => ({ arn: 'arn', status: 'ACTIVE' }),
    listShards: async () => [],
    shardIterator: async (_shard, position) => {
      iterators.push(position);
      return `it-${iterators.length}`;
    },
    getRecords: async () => {
      const next = script.shift();
      if (next === undefined) throw new Error('script ran out');
      if (next instanceof Error) throw next;
      return next;
    },
    close: () => undefined,
  };
}

describe('polling shard stream', () => {
  it('spaces calls at least 200 ms apart (5 per second per shard) and waits the idle time at the tip', async () => {
    const c = clock();
    const stream = new PollingShardStream(fake([page(['1'], 'a', 10), page([], 'b', 0), page(['2'], 'c', 0)]), 's', { type: 'TRIM_HORIZON' }, { maxRecords: 100, idleMs: 1_000, stream: 'x', clock: c });
    expect((await stream.next()).records).toHaveLength(1);
    expect((await stream.next()).records).toHaveLength(0);
    expect((await stream.next()).records).toHaveLength(1);
    expect(c.slept).toEqual([200, 1_000]);
  });

  it('backs off on ProvisionedThroughputExceeded and goes on without losing its place', async () => {
    const c = clock();
    const service = fake([err('ProvisionedThroughputExceededException'), err('ProvisionedThroughputExceededException'), page(['1', '2'], 'n')]);
    const stream = new PollingShardStream(service, 's', { type: 'TRIM_HORIZON' }, { maxRecords: 100, idleMs: 1_000, stream: 'x', clock: c });
    const fetch = await stream.next();
    expect(fetch.records.map((r) => r.sequenceNumber)).toEqual(['1', '2']);
    expect(stream.stats.throttled).toBe(2);
    expect(c.slept).toHaveLength(2);
    expect(c.slept.every((ms) => ms > 0)).toBe(true);
    expect(service.iterators).toEqual([{ type: 'TRIM_HORIZON' }]);
  });

  it('renews an expired iterator right after the last record it delivered', async () => {
    const c = clock();
    const service = fake([page(['1', '2'], 'n'), err('ExpiredIteratorException'), page(['3'], 'm')]);
    const stream = new PollingShardStream(service, 's', { type: 'AT_TIMESTAMP', timestamp: 5 }, { maxRecords: 100, idleMs: 1_000, stream: 'x', clock: c });
    await stream.next();
    expect((await stream.next()).records.map((r) => r.sequenceNumber)).toEqual(['3']);
    expect(service.iterators).toEqual([{ type: 'AT_TIMESTAMP', timestamp: 5 }, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '2' }]);
    expect(stream.stats.expiredIterators).toBe(1);
  });

  it('ends a closed shard with its children, and fails clearly when the stream is gone', async () => {
    const stream = new PollingShardStream(fake([page(['9'], undefined)]), 's', { type: 'TRIM_HORIZON' }, { maxRecords: 100, idleMs: 1_000, stream: 'x', clock: clock() });
    expect((await stream.next()).ended).toEqual({ childShardIds: ['child'] });
    const gone = new PollingShardStream(fake([err('ResourceNotFoundException')]), 's', { type: 'TRIM_HORIZON' }, { maxRecords: 100, idleMs: 1_000, stream: 'clicks', clock: clock() });
    const failure = await gone.next().catch((e: unknown) => e);
    expect(isUserError(failure)).toBe(true);
    expect((failure as Error).message).toContain("kinesis stream 'clicks'");
  });
});
