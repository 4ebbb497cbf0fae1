/**
 * moto for integration tests: a real moto server per test file, and helpers that make the AWS
 * resources a sink writes to (a Firehose delivery stream into an S3 bucket, a Timestream table)
 * and read back what landed there.
 *
 * `useMoto()` starts the server in `beforeAll` with the same helper as src/dev/moto and stops it
 * in `afterAll`. Set SLUICE_TEST_MOTO=http://127.0.0.1:PORT to point the tests at a moto server you
 * already run instead. Names are random, so tests sharing a server never see each other's data.
 */
import { randomUUID } from 'node:crypto';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateDatabaseCommand, CreateTableCommand, TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { motoState, startMoto } from '../../src/dev/moto/index.js';
import { usePeer } from './peer.js';

// The AWS SDK warns once per process, on stderr, that its 2027 releases will need Node 22; tests
// print nothing else, so keep that notice out of their output (the CLI's output is not touched).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** The first start installs moto with pip (about a minute and a half here, longer on a slow network). */
export const MOTO_START_TIMEOUT_MS = 600_000;

/** moto takes any credentials; these are what the helpers and the tests' sinks use. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;
export const MOTO_REGION = 'us-east-1';

/** A delivery stream writing to an S3 bucket (ExtendedS3 destination) under `prefix`. */
export interface TestDeliveryStream {
  readonly name: string;
  readonly bucket: string;
  /** Ends with '/'; moto writes objects under `prefix/YYYY/MM/DD/HH/`. */
  readonly prefix: string;
}

/** A record as moto's Timestream keeps it: what the call sent for it, without CommonAttributes. */
export interface StoredTimestreamRecord {
  readonly Dimensions?: readonly { readonly Name: string; readonly Value: string }[];
  readonly Time?: string;
  readonly Version?: number;
  readonly MeasureValues?: readonly { readonly Name: string; readonly Value: string; readonly Type: string }[];
}

export interface TestMoto {
  /** `http://127.0.0.1:PORT`; read it inside tests or hooks, not at collection time. */
  readonly endpoint: string;
  /** Creates a bucket and a delivery stream into it (ExtendedS3, prefix `results/<random>/`). */
  createDeliveryStream(): Promise<TestDeliveryStream>;
  /** Every object under `prefix`, keys in order, bodies as text. */
  readObjects(bucket: string, prefix: string): Promise<{ readonly key: string; readonly body: string }[]>;
  /** Creates a database and a table in it; returns their names. */
  createTimestreamTable(): Promise<{ readonly database: string; readonly table: string }>;
  /** The records moto's Timestream holds for a table, in the order they were written. */
  timestreamRecords(database: string, table: string): Promise<StoredTimestreamRecord[]>;
}

/**
 * Registers hooks that give the calling test file its own moto server.
 *
 * @example
 * const moto = useMoto();
 * it('delivers', async () => {
 *   const stream = await moto.createDeliveryStream();
 *   // write with a sink whose endpointUrl is moto.endpoint, then:
 *   const objects = await moto.readObjects(stream.bucket, stream.prefix);
 * });
 */
export function useMoto(): TestMoto {
  const clients: { s3?: S3Client; firehose?: FirehoseClient; timestream?: TimestreamWriteClient } = {};
  const server = usePeer({
    given: process.env['SLUICE_TEST_MOTO'],
    start: () => startMoto(),
    addressOf: (started) => started.endpoint,
    timeoutMs: MOTO_START_TIMEOUT_MS,
    name: 'useMoto(): moto',
    beforeStop: () => {
      clients.s3?.destroy();
      clients.firehose?.destroy();
      clients.timestream?.destroy();
    },
  });
  const address = (): string => server.address();
  const config = () => ({ endpoint: address(), region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  const s3 = (): S3Client => (clients.s3 ??= new S3Client({ ...config(), forcePathStyle: true }));
  const firehose = (): FirehoseClient => (clients.firehose ??= new FirehoseClient(config()));
  const timestream = (): TimestreamWriteClient => (clients.timestream ??= new TimestreamWriteClient(config()));

  return {
    get endpoint() {
      return address();
    },
    async createDeliveryStream() {
      const id = randomUUID().slice(0, 8);
      const stream = { name: `sluice-test-${id}`, bucket: `sluice-test-${id}`, prefix: `results/${id}/` };
      await s3().send(new CreateBucketCommand({ Bucket: stream.bucket }));
      await firehose().send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: stream.name,
          DeliveryStreamType: 'DirectPut',
          ExtendedS3DestinationConfiguration: {
            BucketARN: `arn:aws:s3:::${stream.bucket}`,
            RoleARN: 'arn:aws:iam::123456789012:role/sluice-test-firehose',
            Prefix: stream.prefix,
            BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
          },
        }),
      );
      return stream;
    },
    async readObjects(bucket, prefix) {
      const objects: { key: string; body: string }[] = [];
      let token: string | undefined;
      do {
        const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined) continue;
          const object = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: item.Key }));
          objects.push({ key: item.Key, body: (await object.Body?.transformToString('utf8')) ?? '' });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async createTimestreamTable() {
      const id = randomUUID().slice(0, 8);
      const names = { database: `sluice_test_${id}`, table: `results_${id}` };
      await timestream().send(new CreateDatabaseCommand({ DatabaseName: names.database }));
      await timestream().send(new CreateTableCommand({ DatabaseName: names.database, TableName: names.table }));
      return names;
    },
    async timestreamRecords(database, table) {
      const state = await motoState(address());
      const tables = (state['timestreamwrite']?.['TimestreamTable'] ?? []) as { db_name?: string; name?: string; records?: StoredTimestreamRecord[] }[];
      const found = tables.find((t) => t.db_name === database && t.name === table);
      if (found === undefined) throw new Error(`moto has no Timestream table ${database}.${table}`);
      return found.records ?? [];
    },
  };
}
