/**
 * The local Kinesis and DynamoDB peers (src/dev/kinesis, test/support/kinesis.ts): what the
 * Kinesis source, sink and lease-table tests rely on them for.
 */
import { createServer } from 'node:net';
import { CreateTableCommand, GetItemCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { localKinesisClient, startDynamoLocal, startKinesisLocal } from '../../../src/dev/kinesis/index.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis } from '../../support/kinesis.js';

const kinesis = useKinesis();

/** Resolves true when 127.0.0.1:`port` can be bound (nothing listens there). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe('kinesis-local', () => {
  it('takes records into a 2-shard stream and gives every one back, in order per shard', async () => {
    const stream = await kinesis.createStream(2);
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i % 7}`, data: `record-${i}` }));
    const landed = await kinesis.putRecords(stream, records);
    expect(new Set(landed.map((l) => l.shardId)).size, 'seven keys over two shards').toBe(2);

    const read = await kinesis.readAll(stream);
    expect(read.map((r) => r.data.toString('utf8')).sort()).toEqual(records.map((r) => r.data).sort());
    for (const record of read) {
      const i = Number(record.data.toString('utf8').slice('record-'.length));
      expect(record.partitionKey).toBe(records[i]?.key);
      expect({ shardId: record.shardId, sequenceNumber: record.sequenceNumber }).toEqual(landed[i]);
    }
    // per shard, records come back in the order they were put
    for (const shard of new Set(read.map((r) => r.shardId))) {
      const order = read.filter((r) => r.shardId === shard).map((r) => Number(r.data.toString('utf8').slice('record-'.length)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('splits a shard: the parent closes, two children take its hash range, and records keep coming', async () => {
    const stream = await kinesis.createStream(2);
    await kinesis.putRecords(stream, [{ key: 'before', data: 'before-split' }]);
    const [first] = await kinesis.readAll(stream);
    const parent = first?.shardId ?? '';
    const children = await kinesis.splitShard(stream, parent);
    expect(children).toHaveLength(2);

    const { Shards: shards = [] } = await kinesis.kinesisClient().send(new ListShardsCommand({ StreamName: stream }));
    expect(shards).toHaveLength(4);
    const closed = shards.find((s) => s.ShardId === parent);
    if (closed === undefined) throw new Error(`ListShards lost the parent ${parent}`);
    expect(closed.SequenceNumberRange?.EndingSequenceNumber, 'the parent is closed').toBeDefined();
    const kids = shards.filter((s) => s.ParentShardId === parent);
    expect(kids.map((s) => s.ShardId).sort()).toEqual([...children].sort());
    // the children cover exactly the parent's range, split in the middle
    const range = (s: (typeof shards)[number]): [bigint, bigint] => [BigInt(s.HashKeyRange?.StartingHashKey ?? -1), BigInt(s.HashKeyRange?.EndingHashKey ?? -1)];
    const [low, high] = kids.map(range).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const [start, end] = range(closed);
    expect(low?.[0]).toBe(start);
    expect(high?.[1]).toBe(end);
    expect((low?.[1] ?? 0n) + 1n).toBe(high?.[0]);

    await kinesis.putRecords(stream, [{ partitionKey: 'before', data: 'after-split' }]);
    const read = await kinesis.readAll(stream);
    expect(read.map((r) => r.data.toString('utf8')).sort()).toEqual(['after-split', 'before-split']);
    expect(children).toContain(read.find((r) => r.data.toString('utf8') === 'after-split')?.shardId);
  });

  it('creates the streams it is given at start-up, ACTIVE, and frees its port on stop()', async () => {
    const local = await startKinesisLocal({ streams: { 'start-a': 1, 'start-b': 3 } });
    const client = localKinesisClient(local.endpoint);
    try {
      expect(local.endpoint).toBe(`http://127.0.0.1:${local.port}`);
      expect((await client.send(new ListStreamsCommand({}))).StreamNames?.sort()).toEqual(['start-a', 'start-b']);
      expect((await client.send(new ListShardsCommand({ StreamName: 'start-b' }))).Shards).toHaveLength(3);
    } finally {
      client.destroy();
      await local.stop();
    }
    expect(await portFree(local.port)).toBe(true);
    await local.stop(); // twice is fine
  }, KINESIS_START_TIMEOUT_MS);

  it('refuses a port that is taken, naming it', async () => {
    await expect(startKinesisLocal({ port: Number(new URL(kinesis.endpoint).port) })).rejects.toThrow(/kinesis-local on 127\.0\.0\.1:\d+/);
  });
});

describe('dynalite', () => {
  it('creates a table, puts an item and gets it back', async () => {
    const dynamo = kinesis.dynamoClient();
    const table = `sluice-test-${Date.now()}`;
    await dynamo.send(
      new CreateTableCommand({ TableName: table, KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }),
    );
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 1 }, { TableName: table });
    await dynamo.send(new PutItemCommand({ TableName: table, Item: { leaseKey: { S: 'shardId-000000000000' }, checkpoint: { S: '4960' }, leaseCounter: { N: '3' } } }));
    const { Item: item } = await dynamo.send(new GetItemCommand({ TableName: table, Key: { leaseKey: { S: 'shardId-000000000000' } }, ConsistentRead: true }));
    expect(item?.['checkpoint']).toEqual({ S: '4960' });
    expect(await kinesis.leaseTable(table)).toEqual([{ leaseKey: 'shardId-000000000000', checkpoint: '4960', leaseCounter: 3 }]);
  });

  it('frees its port on stop()', async () => {
    const local = await startDynamoLocal();
    expect(local.endpoint).toBe(`http://127.0.0.1:${local.port}`);
    expect(await portFree(local.port)).toBe(false);
    await local.stop();
    expect(await portFree(local.port)).toBe(true);
  }, KINESIS_START_TIMEOUT_MS);
});
