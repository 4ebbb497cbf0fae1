/**
 * The Firehose sink's only calls to AWS: DescribeDeliveryStream and PutRecordBatch through
 * `@aws-sdk/client-firehose`, behind a narrow interface so the rest of the sink (and its unit
 * tests) needs no network. Errors are the SDK's own, unchanged, for `retry.ts` to classify; the
 * SDK's own retries are off, so every attempt goes through the sink's policy and counters.
 */
import { DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { awsClientConfig } from '../../aws/client.js';
import type { AwsClientSettings, FirehoseEndpoint } from './config.js';

/** A record of a PutRecordBatch call that Firehose did not take, by its place in the call. */
export interface FailedPut {
  readonly index: number;
  /** Firehose's per-record ErrorCode, e.g. `ServiceUnavailableException` or `InternalFailure`. */
  readonly code: string;
  readonly message: string;
}

/** What the sink needs to know about its delivery stream before writing. */
export interface DeliveryStreamInfo {
  /** `ACTIVE`, `CREATING`, `DELETING`… */
  readonly status: string | undefined;
  /** `DirectPut` takes PutRecordBatch; a stream fed by Kinesis or MSK refuses it. */
  readonly type: string | undefined;
}

/**
 * What the sink needs from Firehose. Rejections are the SDK's errors (their `name` says which:
 * ResourceNotFoundException, ServiceUnavailableException…).
 *
 * @example const service: FirehoseService = firehoseService(endpoint, config.client)
 * @see firehoseService
 */
export interface FirehoseService {
  describe(): Promise<DeliveryStreamInfo>;
  /** One PutRecordBatch call; resolves with the records it refused (none when FailedPutCount is 0). */
  putRecordBatch(records: readonly Uint8Array[]): Promise<readonly FailedPut[]>;
  close(): void;
}

/**
 * A Firehose client for the endpoint's delivery stream. A loopback endpoint (moto) gets
 * us-east-1 and dummy credentials unless told otherwise; elsewhere the SDK resolves region and
 * credentials as usual (environment, profile, container role).
 *
 * @example const service = firehoseService(parseFirehoseUrl('firehose://results', '--sink'), config.client)
 * @see FirehoseService
 */
export function firehoseService(endpoint: FirehoseEndpoint, settings: AwsClientSettings): FirehoseService {
  const client = new FirehoseClient(awsClientConfig(settings));
  const name = endpoint.deliveryStream;
  return {
    async describe() {
      const out = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name, Limit: 1 }));
      const description = out.DeliveryStreamDescription;
      return { status: description?.DeliveryStreamStatus, type: description?.DeliveryStreamType };
    },
    async putRecordBatch(records) {
      const out = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((data) => ({ Data: data })) }));
      if ((out.FailedPutCount ?? 0) === 0) return [];
      const failed: FailedPut[] = [];
      (out.RequestResponses ?? []).forEach((response, index) => {
        if (response.ErrorCode !== undefined) failed.push({ index, code: response.ErrorCode, message: response.ErrorMessage ?? '' });
      });
      // a count without per-record codes cannot say which were taken: send them all again
      // (a duplicate beats a loss, and results carry their id)
      return failed.length > 0 ? failed : records.map((_, index) => ({ index, code: 'FailedPutCount', message: `${out.FailedPutCount} records failed` }));
    },
    close: () => client.destroy(),
  };
}
