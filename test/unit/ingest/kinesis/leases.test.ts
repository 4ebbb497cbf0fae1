import { describe, expect, it } from 'vitest';
import { SHARD_END } from '../../../../src/checkpoint/stores/dynamodb/lease-table.js';
import { LeaseCoordinator, type LeaseEvents } from '../../../../src/ingest/kinesis/leases.js';
import { localLeaseTable } from '../../../../src/ingest/kinesis/local-leases.js';
import type { ShardInfo } from '../../../../src/ingest/kinesis/service.js';

// The lease protocol (KCL's rules) on the in-process lease table: fair shares, expiry and
// stealing, fencing of a worker that lost its lease, and children waiting for their parents.

const MAX = (1n << 128n) - 1n;

function shard(id: string, parents: string[] = [], range: [bigint, bigint] = [0n, MAX]): ShardInfo {
  return {
    shardId: id,
    parentShardId: parents[0],
    adjacentParentShardId: parents[1],
    startingHashKey: range[0].toString(),
    endingHashKey: range[1].toString(),
    endingSequenceNumber: undefined,
  };
}

function events(): { events: LeaseEvents; acquired: string[]; lost: string[] } {
  const acquired: string[] = [];
  const lost: string[] = [];
  return {
    acquired,
    lost,
    events: {
      acquired: (leases) => acquired.push(...leases.map((l) => l.key)),
      lost: (keys) => lost.push(...keys),
      failed: (err) => {
        throw err;
      },
    },
  };
}

describe('LeaseCoordinator', () => {
  it('shares four shards fairly between two workers and steals from a worker above its share', async () => {
    const table = localLeaseTable(undefined);
    const shards = ['s0', 's1', 's2', 's3'].map((id) => shard(id));
    let clock = 0;
    const a = new LeaseCoordinator(table, async () => shards, { owner: 'a', failoverMs: 1_000, start: { kind: 'trim_horizon' }, now: () => clock, schedule: false });
    const ea = events();
    await a.start(ea.events);
    expect(ea.acquired.sort()).toEqual(['s0', 's1', 's2', 's3']);
    const b = new LeaseCoordinator(table, async () => shards, { owner: 'b', failoverMs: 1_000, start: { kind: 'trim_horizon' }, now: () => clock, schedule: false });
    const eb = events();
    await b.start(eb.events);
    // b holds nothing and nothing is expired: it steals one per round
    expect(eb.acquired).toHaveLength(1);
    clock += 10;
    await b.takeRound();
    expect(eb.acquired).toHaveLength(2);
    await b.takeRound();
    expect(eb.acquired).toHaveLength(2);
    // a finds out at its next renewal and reports the two stolen leases lost
    await a.renewRound();
    expect(ea.lost.sort()).toEqual([...eb.acquired].sort());
    expect(a.heldKeys()).toHaveLength(2);
  });

  it('fences a worker that lost its lease: its checkpoint writes nothing', async () => {
    const table = localLeaseTable(undefined);
    let clock = 0;
    const shards = [shard('s0')];
    const a = new LeaseCoordinator(table, async () => shards, { owner: 'a', failoverMs: 1_000, start: { kind: 'trim_horizon' }, now: () => clock, schedule: false });
    const ea = events();
    await a.start(ea.events);
    expect(await a.checkpoint('s0', { checkpoint: '100', subSequence: 0, state: null })).toBe(true);
    // a stops renewing (a zombie: paused, partitioned); b sees the counter still after the failover time
    const b = new LeaseCoordinator(table, async () => shards, { owner: 'b', failoverMs: 1_000, start: { kind: 'trim_horizon' }, now: () => clock, schedule: false });
    const eb = events();
    await b.start(eb.events);
    expect(eb.acquired).toEqual([]);
    clock += 1_001;
    await b.takeRound();
    expect(eb.acquired).toEqual(['s0']);
    expect(await b.checkpoint('s0', { checkpoint: '200', subSequence: 0, state: null })).toBe(true);
    // the zombie wakes up and checkpoints an older position: refused, and it learns it lost the lease
    expect(await a.checkpoint('s0', { checkpoint: '150', subSequence: 0, state: null })).toBe(false);
    expect(ea.lost).toEqual(['s0']);
    expect((await table.get('s0'))?.checkpoint).toBe('200');
    expect((await table.get('s0'))?.owner).toBe('b');
  });

  it('starts a child shard only once every parent is checkpointed SHARD_END', async () => {
    const table = localLeaseTable(undefined);
    const half = MAX / 2n;
    const shards = [shard('p'), shard('c1', ['p'], [0n, half]), shard('c2', ['p'], [half + 1n, MAX])];
    const a = new LeaseCoordinator(table, async () => shards, { owner: 'a', failoverMs: 1_000, start: { kind: 'latest' }, now: () => 0, schedule: false });
    const ea = events();
    await a.start(ea.events);
    expect(ea.acquired).toEqual(['p']);
    // a new parent without ancestors starts where the URL says; children from their beginning
    expect((await table.get('p'))?.checkpoint).toBe('LATEST');
    expect((await table.get('c1'))?.checkpoint).toBe('TRIM_HORIZON');
    expect((await table.get('c1'))?.parents).toEqual(['p']);
    await a.takeRound();
    expect(ea.acquired).toEqual(['p']);
    expect(await a.checkpoint('p', { checkpoint: SHARD_END, subSequence: 0, state: null })).toBe(true);
    await a.release(['p']);
    await a.takeRound();
    expect(ea.acquired.sort()).toEqual(['c1', 'c2', 'p']);
  });
});
