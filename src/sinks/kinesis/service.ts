/**
 * The Kinesis sink's only calls to AWS: DescribeStreamSummary, ListShards and PutRecords through
 * `@aws-sdk/client-kinesis`, behind a narrow interface so the rest of the sink (and its unit
 * tests) needs no network. Errors are the SDK's own, unchanged, for `retry.ts` to classify; the
 * SDK's own retries are off, so every attempt goes through the sink's policy and counters.
 *
 * The client speaks HTTP/1.1 (`NodeHttpHandler`): with the SDK's default HTTP/2 handler, calls to
 * kinesis-local fail now and then with `ERR_HTTP2_ERROR` right after a 200 answer, and PutRecords
 * gains nothing from HTTP/2.
 */
import { DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsClientConfig } from '../../aws/client.js';
import type { AwsClientSettings } from './config.js';
import type { KinesisEntry } from './encoder.js';

/** What the sink needs to know about its stream before writing. */
export interface StreamSummary {
  /** `ACTIVE`, `UPDATING` (both take writes), `CREATING`, `DELETING`. */
  readonly status: string;
  readonly openShards: number | undefined;
}

/** An open shard and the range of 128-bit partition key hashes it takes. */
export interface ShardRange {
  readonly shardId: string;
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

/** What became of one record of a PutRecords call, by its place in the call. */
export type PutOutcome = { readonly shardId: string } | { readonly code: string; readonly message: string };

/**
 * What the sink needs from Kinesis. Rejections are the SDK's errors (their `name` says which:
 * ResourceNotFoundException, ProvisionedThroughputExceededException…).
 *
 * @example const service: KinesisSinkService = kinesisSinkService('results', config.client)
 * @see kinesisSinkService
 */
export interface KinesisSinkService {
  describe(): Promise<StreamSummary>;
  /** The stream's open shards (closed ones take no writes). */
  listShards(): Promise<ShardRange[]>;
  /** One PutRecords call; resolves with one outcome per record, in order. */
  putRecords(records: readonly KinesisEntry[]): Promise<readonly PutOutcome[]>;
  close(): void;
}

/**
 * A Kinesis client for `stream`. A loopback endpoint (kinesis-local) gets us-east-1 and dummy
 * credentials unless told otherwise; elsewhere the SDK resolves region and credentials as usual
 * (environment, profile, the ECS task role).
 *
 * @example const service = kinesisSinkService('results', config.client)
 * @see KinesisSinkService
 */
export function kinesisSinkService(stream: string, settings: AwsClientSettings): KinesisSinkService {
  const { requestHandler: timeouts, ...config } = awsClientConfig(settings);
  const client = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler(timeouts ?? {}) });
  const StreamName = stream;
  return {
    async describe() {
      const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary;
      return { status: summary?.StreamStatus ?? 'UNKNOWN', openShards: summary?.OpenShardCount };
    },
    async listShards() {
      const shards: ShardRange[] = [];
      let token: string | undefined;
      do {
        // NextToken and StreamName may not be given together
        const out = await client.send(new ListShardsCommand(token === undefined ? { StreamName } : { NextToken: token }));
        for (const shard of out.Shards ?? []) {
          const range = shard.HashKeyRange;
          if (shard.ShardId === undefined || range?.StartingHashKey === undefined || range.EndingHashKey === undefined) continue;
          if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) continue;
          shards.push({ shardId: shard.ShardId, startingHashKey: BigInt(range.StartingHashKey), endingHashKey: BigInt(range.EndingHashKey) });
        }
        token = out.NextToken;
      } while (token !== undefined);
      return shards;
    },
    async putRecords(records) {
      const out = await client.send(new PutRecordsCommand({ StreamName, Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })) }));
      const answers = out.Records ?? [];
      return records.map((_, i): PutOutcome => {
        const answer = answers[i];
        if (answer?.ErrorCode !== undefined) return { code: answer.ErrorCode, message: answer.ErrorMessage ?? '' };
        if (answer?.ShardId !== undefined) return { shardId: answer.ShardId };
        // no answer for this record: it cannot be known taken, so it is sent again (a duplicate beats a loss)
        return { code: 'NoAnswer', message: `PutRecords answered ${answers.length} of ${records.length} records (FailedRecordCount ${out.FailedRecordCount ?? '?'})` };
      });
    },
    close: () => client.destroy(),
  };
}
