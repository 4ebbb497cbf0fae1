/**
 * A Kinesis lease table in DynamoDB with KCL's schema, so KCL workers and Sluice's native workers
 * can share it (and a fleet can move from one to the other): hash key `leaseKey` (the shard id),
 * `leaseOwner`, `leaseCounter`, `checkpoint` (a sequence number or TRIM_HORIZON / LATEST /
 * AT_TIMESTAMP / SHARD_END), `checkpointSubSequenceNumber`, `ownerSwitchesSinceCheckpoint`,
 * `parentShardId` (a string set), `childShardIds`, `startingHashKey`, `endingHashKey`. Sluice
 * keeps its operator state for the shard beside KCL's checkpoint, in `sluiceState` (gzip), which
 * KCL leaves alone.
 *
 * Every write is conditional on the lease counter (and owner) the writer last saw, as KCL's are:
 * renewing, taking and checkpointing all raise the counter, so a worker that lost a lease fails
 * its next write and can never overwrite the new owner's checkpoint.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsClientConfig } from '../../../aws/client.js';
import { ErrorCode, UserError, messageOf } from '../../../core/errors.js';
import { describeAwsError } from '../../../aws/errors.js';

/** KCL's checkpoint sentinels. */
export const SHARD_END = 'SHARD_END';
export const TRIM_HORIZON = 'TRIM_HORIZON';
export const LATEST = 'LATEST';
export const AT_TIMESTAMP = 'AT_TIMESTAMP';

/** One lease as the table holds it. */
export interface Lease {
  readonly key: string;
  readonly owner: string | undefined;
  readonly counter: number;
  readonly checkpoint: string | undefined;
  readonly subSequence: number;
  readonly ownerSwitches: number;
  readonly parents: readonly string[];
  readonly startingHashKey: string | undefined;
  readonly endingHashKey: string | undefined;
  /** Sluice's state for the shard (gzip'd checkpoint), when a Sluice worker saved one. */
  readonly state: Uint8Array | undefined;
}

/** A lease to create for a shard that has none yet. */
export interface NewLease {
  readonly key: string;
  readonly checkpoint: string;
  readonly parents: readonly string[];
  readonly startingHashKey: string;
  readonly endingHashKey: string;
}

/** What a checkpoint write sets. */
export interface LeaseCheckpoint {
  readonly checkpoint: string;
  readonly subSequence: number;
  /** Sluice's state; `null` removes it. */
  readonly state: Uint8Array | null;
}

/**
 * The lease table's operations. Conditional writes resolve `false` when the condition failed
 * (someone else changed the lease); other errors reject.
 */
export interface LeaseTable {
  readonly name: string;
  /** Creates the table (on-demand capacity) when it does not exist, and waits until it is ACTIVE. */
  ensure(): Promise<void>;
  list(): Promise<Lease[]>;
  get(key: string): Promise<Lease | undefined>;
  create(lease: NewLease): Promise<boolean>;
  /** Raises the counter, if `owner` still holds the lease at `counter`. */
  renew(key: string, owner: string, counter: number): Promise<boolean>;
  /** Makes `owner` the owner, if the lease is still at `counter`. */
  take(key: string, owner: string, counter: number, previousOwner: string | undefined): Promise<boolean>;
  /** Gives the lease up (no owner), if `owner` still holds it at `counter`. */
  evict(key: string, owner: string, counter: number): Promise<boolean>;
  /** Writes a checkpoint and raises the counter, if `owner` still holds the lease at `counter`. */
  checkpoint(key: string, owner: string, counter: number, checkpoint: LeaseCheckpoint): Promise<boolean>;
  close(): void;
}

/** Where the table is and how to reach it. */
export interface LeaseTableTarget {
  readonly table: string;
  readonly endpointUrl: string | undefined;
  readonly region: string | undefined;
}

/**
 * The lease table through `@aws-sdk/client-dynamodb` (HTTP/1.1, the SDK's retries off: the lease
 * coordinator retries on its own schedule).
 *
 * @example const table = dynamoLeaseTable({ table: 'page-views', endpointUrl: undefined, region: 'eu-west-1' })
 */
export function dynamoLeaseTable(target: LeaseTableTarget): LeaseTable {
  const base = awsClientConfig({ endpointUrl: target.endpointUrl, region: target.region, credentials: undefined });
  const client = new DynamoDBClient({ ...base, maxAttempts: 3, requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 10_000 }) });
  const TableName = target.table;
  const key = (leaseKey: string): Record<string, AttributeValue> => ({ leaseKey: { S: leaseKey } });
  const conditional = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw describe(err, TableName);
    }
  };
  return {
    name: TableName,
    async ensure() {
      try {
        const out = await client.send(new DescribeTableCommand({ TableName }));
        if (out.Table?.TableStatus === 'ACTIVE') return;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw describe(err, TableName);
        try {
          await client.send(
            new CreateTableCommand({
              TableName,
              KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
              AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
        } catch (created) {
          // another worker created it at the same moment
          if ((created as { name?: string }).name !== 'ResourceInUseException') throw describe(created, TableName);
        }
      }
      const deadline = Date.now() + 120_000;
      for (;;) {
        const out = await client.send(new DescribeTableCommand({ TableName })).catch((err: unknown) => {
          throw describe(err, TableName);
        });
        if (out.Table?.TableStatus === 'ACTIVE') return;
        if (Date.now() > deadline) throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `DynamoDB lease table '${TableName}' did not become ACTIVE within 2 minutes (status ${out.Table?.TableStatus ?? 'unknown'})`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async list() {
      const leases: Lease[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) })).catch((err: unknown) => {
          throw describe(err, TableName);
        });
        for (const item of out.Items ?? []) leases.push(fromItem(item));
        start = out.LastEvaluatedKey;
      } while (start !== undefined);
      return leases;
    },
    async get(leaseKey) {
      const out = await client.send(new GetItemCommand({ TableName, Key: key(leaseKey), ConsistentRead: true })).catch((err: unknown) => {
        throw describe(err, TableName);
      });
      return out.Item === undefined ? undefined : fromItem(out.Item);
    },
    create(lease) {
      return conditional(() =>
        client.send(
          new PutItemCommand({
            TableName,
            Item: {
              leaseKey: { S: lease.key },
              leaseCounter: { N: '0' },
              checkpoint: { S: lease.checkpoint },
              checkpointSubSequenceNumber: { N: '0' },
              ownerSwitchesSinceCheckpoint: { N: '0' },
              ...(lease.parents.length > 0 ? { parentShardId: { SS: [...lease.parents] } } : {}),
              startingHashKey: { S: lease.startingHashKey },
              endingHashKey: { S: lease.endingHashKey },
            },
            ConditionExpression: 'attribute_not_exists(leaseKey)',
          }),
        ),
      );
    },
    renew(leaseKey, owner, counter) {
      return conditional(() =>
        client.send(
          new UpdateItemCommand({
            TableName,
            Key: key(leaseKey),
            UpdateExpression: 'SET leaseCounter = :next',
            ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
            ExpressionAttributeValues: { ':next': { N: String(counter + 1) }, ':counter': { N: String(counter) }, ':owner': { S: owner } },
          }),
        ),
      );
    },
    take(leaseKey, owner, counter, previousOwner) {
      const switched = previousOwner !== undefined && previousOwner !== owner;
      return conditional(() =>
        client.send(
          new UpdateItemCommand({
            TableName,
            Key: key(leaseKey),
            UpdateExpression: `SET leaseCounter = :next, leaseOwner = :owner${switched ? ' ADD ownerSwitchesSinceCheckpoint :one' : ''} REMOVE checkpointOwner`,
            ConditionExpression: 'leaseCounter = :counter',
            ExpressionAttributeValues: { ':next': { N: String(counter + 1) }, ':counter': { N: String(counter) }, ':owner': { S: owner }, ...(switched ? { ':one': { N: '1' } } : {}) },
          }),
        ),
      );
    },
    evict(leaseKey, owner, counter) {
      return conditional(() =>
        client.send(
          new UpdateItemCommand({
            TableName,
            Key: key(leaseKey),
            UpdateExpression: 'SET leaseCounter = :next REMOVE leaseOwner',
            ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
            ExpressionAttributeValues: { ':next': { N: String(counter + 1) }, ':counter': { N: String(counter) }, ':owner': { S: owner } },
          }),
        ),
      );
    },
    checkpoint(leaseKey, owner, counter, update) {
      const values: Record<string, AttributeValue> = {
        ':next': { N: String(counter + 1) },
        ':counter': { N: String(counter) },
        ':owner': { S: owner },
        ':checkpoint': { S: update.checkpoint },
        ':sub': { N: String(update.subSequence) },
        ':zero': { N: '0' },
      };
      let expression = 'SET leaseCounter = :next, checkpoint = :checkpoint, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero';
      if (update.state === null) expression += ' REMOVE sluiceState';
      else {
        expression += ', sluiceState = :state';
        values[':state'] = { B: update.state };
      }
      return conditional(() =>
        client.send(
          new UpdateItemCommand({
            TableName,
            Key: key(leaseKey),
            UpdateExpression: expression,
            ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
            ExpressionAttributeValues: values,
          }),
        ),
      );
    },
    close() {
      client.destroy();
    },
  };
}

function fromItem(item: Record<string, AttributeValue>): Lease {
  return {
    key: item['leaseKey']?.S ?? '',
    owner: item['leaseOwner']?.S,
    counter: Number(item['leaseCounter']?.N ?? '0'),
    checkpoint: item['checkpoint']?.S,
    subSequence: Number(item['checkpointSubSequenceNumber']?.N ?? '0'),
    ownerSwitches: Number(item['ownerSwitchesSinceCheckpoint']?.N ?? '0'),
    parents: item['parentShardId']?.SS ?? [],
    startingHashKey: item['startingHashKey']?.S,
    endingHashKey: item['endingHashKey']?.S,
    state: item['sluiceState']?.B,
  };
}

/** A DynamoDB failure as one line an operator can act on. */
function describe(err: unknown, table: string): Error {
  const name = (err as { name?: string }).name ?? '';
  if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException') {
    return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `DynamoDB lease table '${table}' refused access (${name}): give the task role dynamodb:CreateTable, DescribeTable, Scan, GetItem, PutItem and UpdateItem on it`);
  }
  if (name === 'ResourceNotFoundException') return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `DynamoDB lease table '${table}' does not exist (deleted while running?)`);
  if ((err as { code?: string }).code === 'ECONNREFUSED') return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `DynamoDB for lease table '${table}' is not reachable: ${messageOf(err)} (set SLUICE_DYNAMODB_ENDPOINT or dynamodb-endpoint= for a local DynamoDB)`);
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, describeAwsError(err, { subject: `DynamoDB lease table '${table}'`, service: 'DynamoDB', regionNote: 'region= in the URL, AWS_REGION, SLUICE_DYNAMODB_ENDPOINT ' }), { cause: err });
}
