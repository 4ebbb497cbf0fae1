/**
 * The Kinesis source's only calls to Kinesis for polling: DescribeStreamSummary, ListShards,
 * GetShardIterator and GetRecords through `@aws-sdk/client-kinesis`, behind a narrow interface
 * so the shard readers and the lease coordinator (and their unit tests) need no network. Errors
 * are the SDK's own (their `name` says which), for the callers to classify; the SDK's retries are
 * off, so every attempt goes through Sluice's own backoff.
 *
 * The client speaks HTTP/1.1: the SDK's default HTTP/2 handler fails intermittently against
 * kinesis-local right after a 200, and nothing here streams.
 */
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsClientConfig } from '../../aws/client.js';
import type { KinesisEndpoint } from '../../kinesis/endpoint.js';
import type { ShardPosition, ShardRecord } from './shard-stream.js';

/** One shard as ListShards describes it. */
export interface ShardInfo {
  readonly shardId: string;
  /** The shard it was split from, or the first of the two it was merged from. */
  readonly parentShardId: string | undefined;
  /** The second parent of a merge. */
  readonly adjacentParentShardId: string | undefined;
  /** Inclusive hash key range, decimal strings (0 … 2^128 − 1). */
  readonly startingHashKey: string;
  readonly endingHashKey: string;
  /** Set once the shard is closed (split or merged): its last sequence number. */
  readonly endingSequenceNumber: string | undefined;
}

/** What one GetRecords call returned. */
export interface RecordsPage {
  readonly records: readonly ShardRecord[];
  /** Undefined once the shard is closed and fully read. */
  readonly nextIterator: string | undefined;
  readonly millisBehindLatest: number | undefined;
  /** The closed shard's children, on the page that ends it. */
  readonly childShardIds: readonly string[];
}

/** What the Kinesis source needs from Kinesis when it polls. */
export interface KinesisService {
  /** The stream's ARN and status (ACTIVE, UPDATING, CREATING, DELETING). */
  describe(): Promise<{ readonly arn: string; readonly status: string }>;
  /** Every shard the stream still has (open, and closed ones within retention), in ListShards order. */
  listShards(): Promise<ShardInfo[]>;
  shardIterator(shardId: string, position: ShardPosition): Promise<string>;
  getRecords(iterator: string, limit: number): Promise<RecordsPage>;
  close(): void;
}

/**
 * A Kinesis client for the endpoint's stream. A loopback endpoint (kinesis-local) gets us-east-1
 * and dummy credentials unless told otherwise; elsewhere the SDK resolves region and credentials
 * as usual (environment, profile, the ECS task role).
 *
 * @example const service = kinesisService(parseKinesisUrl('kinesis://clicks', 'source'))
 */
export function kinesisService(endpoint: KinesisEndpoint, requestTimeoutMs = 30_000): KinesisService {
  const base = awsClientConfig({ endpointUrl: endpoint.endpointUrl, region: endpoint.region, credentials: undefined });
  const client = new KinesisClient({ ...base, requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: requestTimeoutMs }) });
  const StreamName = endpoint.stream;
  return {
    async describe() {
      const out = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
      const summary = out.StreamDescriptionSummary;
      return { arn: summary?.StreamARN ?? '', status: summary?.StreamStatus ?? 'UNKNOWN' };
    },
    async listShards() {
      const shards: ShardInfo[] = [];
      let token: string | undefined;
      do {
        // NextToken and StreamName may not be given together
        const out = await client.send(new ListShardsCommand(token === undefined ? { StreamName } : { NextToken: token }));
        for (const shard of out.Shards ?? []) {
          shards.push({
            shardId: shard.ShardId ?? '',
            parentShardId: shard.ParentShardId ?? undefined,
            adjacentParentShardId: shard.AdjacentParentShardId ?? undefined,
            startingHashKey: shard.HashKeyRange?.StartingHashKey ?? '0',
            endingHashKey: shard.HashKeyRange?.EndingHashKey ?? '0',
            endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber ?? undefined,
          });
        }
        token = out.NextToken ?? undefined;
      } while (token !== undefined);
      return shards;
    },
    async shardIterator(shardId, position) {
      const type: ShardIteratorType = position.type;
      const out = await client.send(
        new GetShardIteratorCommand({
          StreamName,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(position.type === 'AT_TIMESTAMP' ? { Timestamp: new Date(position.timestamp) } : {}),
          ...(position.type === 'AT_SEQUENCE_NUMBER' || position.type === 'AFTER_SEQUENCE_NUMBER' ? { StartingSequenceNumber: position.sequenceNumber } : {}),
        }),
      );
      if (out.ShardIterator === undefined) throw new Error(`GetShardIterator returned no iterator for ${shardId}`);
      return out.ShardIterator;
    },
    async getRecords(iterator, limit) {
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      return {
        records: (out.Records ?? []).map((r) => ({
          sequenceNumber: r.SequenceNumber ?? '',
          partitionKey: r.PartitionKey ?? '',
          data: r.Data ?? new Uint8Array(0),
          arrival: r.ApproximateArrivalTimestamp?.getTime(),
        })),
        nextIterator: out.NextShardIterator ?? undefined,
        millisBehindLatest: out.MillisBehindLatest,
        childShardIds: (out.ChildShards ?? []).map((c) => c.ShardId ?? '').filter((id) => id !== ''),
      };
    },
    close() {
      client.destroy();
    },
  };
}
