/**
 * kinesis-local and dynalite for integration tests: a real local Kinesis and a DynamoDB (for lease
 * tables) per test file, and helpers that make streams, write records, read everything back,
 * reshard and look into a lease table.
 *
 * `useKinesis()` starts both in `beforeAll` with the same helpers as `sluice dev kinesis`
 * (src/dev/kinesis) and stops them in `afterAll`. Set SLUICE_TEST_KINESIS=http://127.0.0.1:PORT
 * and SLUICE_TEST_DYNAMODB=http://127.0.0.1:PORT to use ones you already run instead. Stream
 * names are random, so tests sharing a server never see each other's data.
 *
 * The clients speak HTTP/1.1: the SDK's default HTTP/2 handler fails now and then against
 * kinesis-local (see src/dev/kinesis/service.ts).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { localDynamoClient, localKinesisClient, startDynamoLocal, startKinesisLocal } from '../../src/dev/kinesis/index.js';
import { usePeer } from './peer.js';

// The AWS SDK warns once per process, on stderr, that its 2027 releases will need Node 22; tests
// print nothing else, so keep that notice out of their output (the CLI's output is not touched).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** The first start installs kinesis-local and dynalite with npm (seconds here; longer on a slow network). */
export const KINESIS_START_TIMEOUT_MS = 300_000;
/** How long {@link TestKinesis.createStream} and {@link TestKinesis.splitShard} wait for ACTIVE. */
const ACTIVE_TIMEOUT_MS = 30_000;
/** PutRecords takes at most 500 records per call. */
const PUT_BATCH = 500;
/** Attempts for the records of a PutRecords call that failed (throttled). */
const PUT_ATTEMPTS = 10;
const RETRY_MS = 200;

/** A record to put: data with its partition key (`key` or `partitionKey`, as the caller likes). */
export type TestRecord = ({ readonly key: string } | { readonly partitionKey: string }) & { readonly data: string | Uint8Array };

/** A record as GetRecords returned it. */
export interface ReadRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
}

export interface TestKinesis {
  /** kinesis-local's `http://127.0.0.1:PORT`; read it inside tests or hooks, not at collection time. */
  readonly endpoint: string;
  /** dynalite's `http://127.0.0.1:PORT`. */
  readonly dynamodbEndpoint: string;
  /** A Kinesis client for {@link endpoint} (HTTP/1.1, us-east-1, dummy credentials), shared and closed in afterAll. */
  kinesisClient(): KinesisClient;
  /** A DynamoDB client for {@link dynamodbEndpoint}, shared and closed in afterAll. */
  dynamoClient(): DynamoDBClient;
  /** Creates a stream (a random unique name unless given) and waits until it is ACTIVE; returns its name. */
  createStream(shards: number, name?: string): Promise<string>;
  /** Puts the records in order, 500 per call, retrying throttled ones; returns where each landed. */
  putRecords(stream: string, records: readonly TestRecord[]): Promise<{ readonly shardId: string; readonly sequenceNumber: string }[]>;
  /** Every record of every shard (open and closed), from TRIM_HORIZON to the tip, shard by shard in ListShards order. */
  readAll(stream: string): Promise<ReadRecord[]>;
  /** Splits an open shard at the middle of its hash range and waits until ACTIVE; returns the two child shard ids. */
  splitShard(stream: string, shardId: string): Promise<string[]>;
  /** Every item of a DynamoDB table (e.g. a KCL lease table named after the application), unmarshalled. */
  leaseTable(name: string): Promise<Record<string, unknown>[]>;
}

/**
 * Registers hooks that give the calling test file its own kinesis-local and dynalite.
 *
 * @example
 * const kinesis = useKinesis();
 * it('reads back', async () => {
 *   const stream = await kinesis.createStream(2);
 *   await kinesis.putRecords(stream, [{ key: 'a', data: 'hello' }]);
 *   expect((await kinesis.readAll(stream)).map((r) => r.data.toString())).toEqual(['hello']);
 * });
 */
export function useKinesis(): TestKinesis {
  const clients: { kinesis?: KinesisClient | undefined; dynamo?: DynamoDBClient | undefined } = {};
  const kinesisPeer = usePeer({
    given: process.env['SLUICE_TEST_KINESIS'],
    start: () => startKinesisLocal(),
    addressOf: (started) => started.endpoint,
    timeoutMs: KINESIS_START_TIMEOUT_MS,
    name: 'useKinesis(): kinesis-local',
    beforeStop: () => {
      clients.kinesis?.destroy();
      clients.kinesis = undefined;
    },
  });
  const dynamoPeer = usePeer({
    given: process.env['SLUICE_TEST_DYNAMODB'],
    start: () => startDynamoLocal(),
    addressOf: (started) => started.endpoint,
    timeoutMs: KINESIS_START_TIMEOUT_MS,
    name: 'useKinesis(): dynalite',
    beforeStop: () => {
      clients.dynamo?.destroy();
      clients.dynamo = undefined;
    },
  });
  const kinesis = (): KinesisClient => (clients.kinesis ??= localKinesisClient(kinesisPeer.address()));
  const dynamo = (): DynamoDBClient => (clients.dynamo ??= localDynamoClient(dynamoPeer.address()));

  const waitActive = async (stream: string): Promise<void> => {
    const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
    for (;;) {
      const { StreamDescriptionSummary: summary } = await kinesis().send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (summary?.StreamStatus === 'ACTIVE') return;
      if (Date.now() > deadline) throw new Error(`stream ${stream} is still ${summary?.StreamStatus ?? 'unknown'} after ${ACTIVE_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
  };

  return {
    get endpoint() {
      return kinesisPeer.address();
    },
    get dynamodbEndpoint() {
      return dynamoPeer.address();
    },
    kinesisClient: kinesis,
    dynamoClient: dynamo,
    async createStream(shards, name = `sluice-test-${randomUUID().slice(0, 8)}`) {
      await kinesis().send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
      await waitActive(name);
      return name;
    },
    async putRecords(stream, records) {
      const landed: { shardId: string; sequenceNumber: string }[] = [];
      for (let i = 0; i < records.length; i += PUT_BATCH) {
        landed.push(...(await putBatch(kinesis(), stream, records.slice(i, i + PUT_BATCH))));
      }
      return landed;
    },
    async readAll(stream) {
      const records: ReadRecord[] = [];
      for (const shard of await listShards(kinesis(), stream)) records.push(...(await readShard(kinesis(), stream, shard.ShardId ?? '')));
      return records;
    },
    async splitShard(stream, shardId) {
      const shard = (await listShards(kinesis(), stream)).find((s) => s.ShardId === shardId);
      if (shard?.HashKeyRange?.StartingHashKey === undefined || shard.HashKeyRange.EndingHashKey === undefined) throw new Error(`stream ${stream} has no shard ${shardId}`);
      const middle = (BigInt(shard.HashKeyRange.StartingHashKey) + BigInt(shard.HashKeyRange.EndingHashKey) + 1n) / 2n;
      await kinesis().send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: middle.toString() }));
      await waitActive(stream);
      return (await listShards(kinesis(), stream)).filter((s) => s.ParentShardId === shardId).map((s) => s.ShardId ?? '');
    },
    async leaseTable(name) {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamo().send(new ScanCommand({ TableName: name, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
        for (const item of page.Items ?? []) items.push(unmarshall(item));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return items;
    },
  };
}

async function putBatch(client: KinesisClient, stream: string, records: readonly TestRecord[]): Promise<{ shardId: string; sequenceNumber: string }[]> {
  const landed: ({ shardId: string; sequenceNumber: string } | undefined)[] = records.map(() => undefined);
  let pending = records.map((_, index) => index);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const entries: PutRecordsRequestEntry[] = pending.map((index) => {
      const record = records[index] as TestRecord;
      return { PartitionKey: 'key' in record ? record.key : record.partitionKey, Data: typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : record.data };
    });
    const answer = await client.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    const failed: number[] = [];
    (answer.Records ?? []).forEach((result, i) => {
      const index = pending[i] as number;
      if (result.ErrorCode === undefined && result.ShardId !== undefined && result.SequenceNumber !== undefined) landed[index] = { shardId: result.ShardId, sequenceNumber: result.SequenceNumber };
      else failed.push(index);
    });
    if (failed.length > 0 && attempt >= PUT_ATTEMPTS) {
      const first = answer.Records?.find((r) => r.ErrorCode !== undefined);
      throw new Error(`PutRecords to ${stream}: ${failed.length} records still failed after ${PUT_ATTEMPTS} attempts (${first?.ErrorCode ?? '?'}: ${first?.ErrorMessage ?? ''})`);
    }
    pending = failed;
    if (pending.length > 0) await sleep(RETRY_MS);
  }
  return landed as { shardId: string; sequenceNumber: string }[];
}

async function listShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListShardsCommand(token === undefined ? { StreamName: stream } : { NextToken: token }));
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return shards;
}

/** GetRecords from TRIM_HORIZON until a page is empty at the tip (or a closed shard ends). */
async function readShard(client: KinesisClient, stream: string, shardId: string): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  while (iterator !== undefined) {
    let page;
    try {
      page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    } catch (err) {
      // 5 GetRecords per second per shard, as Kinesis
      if ((err as { name?: string }).name !== 'ProvisionedThroughputExceededException') throw err;
      await sleep(RETRY_MS);
      continue;
    }
    for (const record of page.Records ?? []) {
      records.push({ shardId, sequenceNumber: record.SequenceNumber ?? '', partitionKey: record.PartitionKey ?? '', data: Buffer.from(record.Data ?? new Uint8Array()) });
    }
    if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
    iterator = page.NextShardIterator;
  }
  return records;
}

/** A DynamoDB item as plain values: S → string, N → number (string beyond 2^53), B → Buffer, sets → arrays. */
function unmarshall(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, valueOf(value)]));
}

function valueOf(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return number(value.N);
  if (value.B !== undefined) return Buffer.from(value.B);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.SS !== undefined) return [...value.SS];
  if (value.NS !== undefined) return value.NS.map(number);
  if (value.BS !== undefined) return value.BS.map((b) => Buffer.from(b));
  if (value.L !== undefined) return value.L.map(valueOf);
  if (value.M !== undefined) return unmarshall(value.M);
  return undefined;
}

function number(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) || !Number.isInteger(n) ? n : text;
}
