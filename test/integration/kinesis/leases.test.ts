import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dynamoLeaseTable, type LeaseTable } from '../../../src/checkpoint/stores/dynamodb/lease-table.js';
import { LeaseCoordinator, type LeaseEvents } from '../../../src/ingest/kinesis/leases.js';
import type { ShardInfo } from '../../../src/ingest/kinesis/service.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis } from '../../support/kinesis.js';

// The lease table on a real DynamoDB (dynalite): KCL's schema, and its conditional writes fencing
// a zombie worker — one that stopped renewing, lost its lease, and then wakes up to checkpoint.

const kinesis = useKinesis();
const tables: LeaseTable[] = [];
afterAll(() => {
  for (const table of tables) table.close();
}, KINESIS_START_TIMEOUT_MS);

const MAX = ((1n << 128n) - 1n).toString();
const shards: ShardInfo[] = [{ shardId: 'shardId-000000000000', parentShardId: undefined, adjacentParentShardId: undefined, startingHashKey: '0', endingHashKey: MAX, endingSequenceNumber: undefined }];

function worker(table: LeaseTable, owner: string, clock: { t: number }): { coordinator: LeaseCoordinator; acquired: string[]; lost: string[] } {
  const acquired: string[] = [];
  const lost: string[] = [];
  const events: LeaseEvents = {
    acquired: (leases) => acquired.push(...leases.map((l) => l.key)),
    lost: (keys) => lost.push(...keys),
    failed: (err) => {
      throw err;
    },
  };
  const coordinator = new LeaseCoordinator(table, async () => shards, { owner, failoverMs: 1_000, start: { kind: 'trim_horizon' }, now: () => clock.t, schedule: false });
  void coordinator.start(events);
  return { coordinator, acquired, lost };
}

describe('DynamoDB lease table (KCL schema) on dynalite', () => {
  it('creates the table and leases as KCL does, and fences a zombie worker', async () => {
    const name = `leases-${randomUUID().slice(0, 8)}`;
    const table = dynamoLeaseTable({ table: name, endpointUrl: kinesis.dynamodbEndpoint, region: 'us-east-1' });
    tables.push(table);
    await table.ensure();
    const clock = { t: 0 };
    const a = worker(table, 'worker-a', clock);
    await a.coordinator.takeRound();
    expect(a.acquired).toEqual(['shardId-000000000000']);
    expect(await a.coordinator.checkpoint('shardId-000000000000', { checkpoint: '1000', subSequence: 3, state: new Uint8Array([1, 2, 3]) })).toBe(true);
    const [item] = await kinesis.leaseTable(name);
    expect(item).toMatchObject({ leaseKey: 'shardId-000000000000', leaseOwner: 'worker-a', checkpoint: '1000', checkpointSubSequenceNumber: 3, ownerSwitchesSinceCheckpoint: 0, startingHashKey: '0', endingHashKey: MAX });
    expect(typeof item?.['leaseCounter']).toBe('number');

    // worker-a stops renewing; worker-b sees the counter unchanged for the failover time and takes it
    const b = worker(table, 'worker-b', clock);
    await b.coordinator.takeRound();
    expect(b.acquired).toEqual([]);
    clock.t += 1_001;
    await b.coordinator.takeRound();
    expect(b.acquired).toEqual(['shardId-000000000000']);
    expect(await b.coordinator.checkpoint('shardId-000000000000', { checkpoint: '2000', subSequence: 0, state: null })).toBe(true);

    // the zombie wakes up: its checkpoint and renewal are refused by DynamoDB's conditions
    expect(await a.coordinator.checkpoint('shardId-000000000000', { checkpoint: '1500', subSequence: 0, state: new Uint8Array([9]) })).toBe(false);
    expect(a.lost).toEqual(['shardId-000000000000']);
    const [after] = await kinesis.leaseTable(name);
    expect(after).toMatchObject({ leaseOwner: 'worker-b', checkpoint: '2000', ownerSwitchesSinceCheckpoint: 0 });
    expect(after?.['sluiceState']).toBeUndefined();

    // a graceful stop gives the lease back at once
    await b.coordinator.release(['shardId-000000000000']);
    const [released] = await kinesis.leaseTable(name);
    expect(released?.['leaseOwner']).toBeUndefined();
  });
});
