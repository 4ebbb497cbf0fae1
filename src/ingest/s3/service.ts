/**
 * The S3 source's only calls to AWS: ListObjectsV2 and GetObject through `@aws-sdk/client-s3`,
 * behind a narrow interface so the rest of the source needs no network. The endpoint override
 * (`SLUICE_AWS_ENDPOINT`, moto in tests) and region come from the shared AWS settings.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from '../../aws/client.js';
import type { AwsClientSettings } from '../../aws/config.js';

/** An object a listing found. */
export interface S3Object {
  readonly key: string;
  readonly size: number;
}

/** What the S3 source needs from S3. Errors are the SDK's own. */
export interface S3Service {
  /** Every object under `prefix`, in key order. */
  list(bucket: string, prefix: string): Promise<S3Object[]>;
  /** The whole body of an object; for small objects (`sluice diff`), see {@link S3Service.stream}. */
  get(bucket: string, key: string): Promise<Buffer>;
  /**
   * The body of an object as it arrives, for objects too large to hold (a backfill's Firehose
   * objects). Resolves once S3 answered; the caller reads on demand and destroys it when done.
   */
  stream(bucket: string, key: string): Promise<Readable>;
  close(): void;
}

/** The service over a real client (S3, or moto through the endpoint override). */
export function s3Service(settings: AwsClientSettings): S3Service {
  // path-style addressing: moto and other local endpoints have no per-bucket DNS names
  const client = new S3Client({ ...awsClientConfig({ ...settings, requestTimeoutMs: settings.requestTimeoutMs }), forcePathStyle: settings.endpointUrl !== undefined, maxAttempts: 3 });
  return {
    async list(bucket, prefix) {
      const out: S3Object[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const item of page.Contents ?? []) if (item.Key !== undefined) out.push({ key: item.Key, size: item.Size ?? 0 });
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async get(bucket, key) {
      const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (reply.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await reply.Body.transformToByteArray());
    },
    async stream(bucket, key) {
      const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = reply.Body;
      if (body === undefined) return Readable.from([]);
      // in Node the SDK answers with the HTTP response itself; a web stream only elsewhere
      if (body instanceof Readable) return body;
      return Readable.fromWeb(body.transformToWebStream() as WebReadableStream<Uint8Array>);
    },
    close() {
      client.destroy();
    },
  };
}
