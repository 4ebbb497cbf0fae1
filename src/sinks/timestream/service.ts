/**
 * The Timestream sink's only calls to AWS: DescribeTable and WriteRecords through
 * `@aws-sdk/client-timestream-write`, behind a narrow interface so the rest of the sink (and its
 * unit tests) needs no network. Errors are the SDK's own, unchanged, for `retry.ts` to classify,
 * except RejectedRecordsException, which is an answer (some records refused for good), not a
 * failure of the call. The SDK's own retries are off, so every attempt goes through the sink's
 * policy.
 */
import { DescribeTableCommand, TimestreamWriteClient, WriteRecordsCommand } from '@aws-sdk/client-timestream-write';
import { awsClientConfig } from '../../aws/client.js';
import type { AwsClientSettings, TimestreamEndpoint } from './config.js';
import type { WriteRequest } from './request-builder.js';

/** A record of a WriteRecords call that Timestream refused, by its place in the call. */
export interface RejectedPoint {
  readonly index: number;
  /** Timestream's words, e.g. why a record lies outside the memory store's retention. */
  readonly reason: string;
  /** The version Timestream already has when it refused a lower or equal one with other values. */
  readonly existingVersion: number | undefined;
}

/**
 * What the sink needs from Timestream. Rejections are the SDK's errors (their `name` says which:
 * ResourceNotFoundException, ThrottlingException…).
 *
 * @example const service: TimestreamService = timestreamService(endpoint, config.client)
 * @see timestreamService
 */
export interface TimestreamService {
  /** DescribeTable: rejects with ResourceNotFoundException when the database or table is missing. */
  describe(): Promise<void>;
  /**
   * One WriteRecords call; resolves with the records Timestream refused (RejectedRecords). The
   * other records of the call are written: Timestream takes or refuses each record on its own.
   */
  writeRecords(request: WriteRequest): Promise<readonly RejectedPoint[]>;
  close(): void;
}

/**
 * A Timestream Write client for the endpoint's table. With an endpoint override (moto) the
 * client uses it as is, which skips endpoint discovery; a loopback one also gets us-east-1 and
 * dummy credentials unless told otherwise. Elsewhere the SDK discovers the ingest endpoint
 * (timestream:DescribeEndpoints) and resolves region and credentials as usual.
 *
 * @example const service = timestreamService(parseTimestreamUrl('timestream://metrics/views', '--sink'), config.client)
 * @see TimestreamService
 */
export function timestreamService(endpoint: TimestreamEndpoint, settings: AwsClientSettings): TimestreamService {
  const client = new TimestreamWriteClient(awsClientConfig(settings));
  const names = { DatabaseName: endpoint.database, TableName: endpoint.table };
  return {
    async describe() {
      await client.send(new DescribeTableCommand(names));
    },
    async writeRecords(request) {
      try {
        await client.send(new WriteRecordsCommand({ ...names, CommonAttributes: request.common, Records: [...request.records] }));
        return [];
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'RejectedRecordsException') throw err;
        const rejected = (err as { RejectedRecords?: { RecordIndex?: number; Reason?: string; ExistingVersion?: number }[] }).RejectedRecords ?? [];
        return rejected.map((r) => ({ index: r.RecordIndex ?? -1, reason: r.Reason ?? (err as Error).message, existingVersion: r.ExistingVersion }));
      }
    },
    close: () => client.destroy(),
  };
}
