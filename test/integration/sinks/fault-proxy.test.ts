import { DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, type PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/core/errors.js';
import { PUT_RECORD_BATCH_TARGET, startFaultProxy, type FaultProxy } from '../../../src/dev/fault-proxy/index.js';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto, type TestDeliveryStream } from '../../support/moto.js';

// The fault proxy itself, between the real AWS SDK and a real moto server: what a client sees of
// each injected fault (the error name and status the SDK reports), what the peer received (S3
// objects written by moto's Firehose), and the proxy's counters.

const moto = useMoto();
let proxy: FaultProxy;
let firehose: FirehoseClient;
let s3: S3Client;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: moto.endpoint });
  // no SDK retries: every attempt is one request the test can account for
  const config = { endpoint: proxy.url, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 1 };
  firehose = new FirehoseClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
});
afterAll(async () => {
  firehose?.destroy();
  s3?.destroy();
  await proxy?.stop();
});
afterEach(() => {
  proxy.setPlan({});
  proxy.resetStats();
});

const lines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `{"id":"r${from + i}","n":${from + i}}`);

function put(stream: TestDeliveryStream, records: readonly string[]): Promise<PutRecordBatchCommandOutput> {
  return firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream.name, Records: records.map((line) => ({ Data: Buffer.from(`${line}\n`) })) }));
}

/** The error a call failed with: its name, HTTP status and socket code. */
async function failure(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; code: string | undefined; message: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e as { name: string; code?: string; message: string; $metadata?: { httpStatusCode?: number } },
  );
  if (err === undefined) throw new Error('expected the call to fail');
  return { name: err.name, status: err.$metadata?.httpStatusCode, code: err.code, message: err.message };
}

/** Every line moto's Firehose delivered for the stream: objects in key order (not call order), lines in call order. */
async function delivered(stream: TestDeliveryStream): Promise<string[]> {
  return (await moto.readObjects(stream.bucket, stream.prefix)).flatMap((o) => o.body.split('\n').filter((l) => l !== ''));
}

describe('fault proxy in front of moto', () => {
  it('passes requests through unchanged when healthy', async () => {
    const stream = await moto.createDeliveryStream();
    const out = await put(stream, lines(0, 3));
    expect(out.FailedPutCount).toBe(0);
    expect(out.RequestResponses?.every((r) => typeof r.RecordId === 'string')).toBe(true);
    expect(await delivered(stream)).toEqual(lines(0, 3));
    expect(proxy.stats()).toMatchObject({ requests: 1, matched: 1, forwarded: 1, throttled: 0, errors: 0, dropped: 0, byOperation: { [PUT_RECORD_BATCH_TARGET]: 1 } });
  });

  it('throttles the first calls with a ThrottlingException the SDK names, and sends nothing on', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ match: { target: PUT_RECORD_BATCH_TARGET }, throttleFirst: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await failure(put(stream, lines(i, 1)));
      expect(err).toMatchObject({ name: 'ThrottlingException', status: 400 });
      expect(err.message).toMatch(/^Rate exceeded/);
    }
    expect((await put(stream, lines(2, 1))).FailedPutCount).toBe(0);
    expect(await delivered(stream)).toEqual(lines(2, 1));
    expect(proxy.stats()).toMatchObject({ matched: 3, throttled: 2, forwarded: 1 });
  });

  it('answers as Firehose itself throttles when told to (ServiceUnavailableException, 500)', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ throttleFirst: 1, throttleAs: { status: 500, code: 'ServiceUnavailableException', message: 'Slow down.' } });
    expect(await failure(put(stream, lines(0, 1)))).toMatchObject({ name: 'ServiceUnavailableException', status: 500, message: 'Slow down.' });
  });

  it('fails calls with 5xx, and leaves unmatched calls alone', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ match: { target: PUT_RECORD_BATCH_TARGET }, errorFirst: 1 });
    // DescribeDeliveryStream is another target: not matched, not counted
    const description = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream.name }));
    expect(description.DeliveryStreamDescription?.DeliveryStreamName).toBe(stream.name);
    expect(await failure(put(stream, lines(0, 1)))).toMatchObject({ name: 'ServiceUnavailableException', status: 503 });
    expect(proxy.stats()).toMatchObject({ requests: 2, matched: 1, errors: 1, forwarded: 1 });
  });

  it('drops connections before the peer sees the call: the client gets a reset, nothing lands', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ dropEvery: 2 });
    expect((await put(stream, lines(0, 1))).FailedPutCount).toBe(0);
    const err = await failure(put(stream, lines(1, 1)));
    // a reset, or a broken pipe when the client was still sending
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code);
    expect((await put(stream, lines(2, 1))).FailedPutCount).toBe(0);
    expect((await delivered(stream)).sort()).toEqual([...lines(0, 1), ...lines(2, 1)]);
    expect(proxy.stats()).toMatchObject({ dropped: 1, droppedAfterForward: 0, forwarded: 2 });
  });

  it('drops connections after the peer took the call: the client gets a reset, the records landed', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ dropEvery: 1, dropAt: 'response' });
    expect((await failure(put(stream, lines(0, 2)))).code).toBe('ECONNRESET');
    expect(await delivered(stream)).toEqual(lines(0, 2));
    expect(proxy.stats()).toMatchObject({ dropped: 1, droppedAfterForward: 1, forwarded: 1 });
  });

  it('fails PutRecordBatch partly: refused records get ServiceUnavailableException, the rest land once', async () => {
    const stream = await moto.createDeliveryStream();
    const plan = { partialFirehose: { everyCall: 1, failFraction: 0.4 }, seed: 3 };
    proxy.setPlan(plan);
    const sent = lines(0, 10);
    const out = await put(stream, sent);
    const responses = out.RequestResponses ?? [];
    expect(responses).toHaveLength(10);
    expect(out.FailedPutCount).toBe(4);
    const refused = responses.flatMap((r, i) => (r.ErrorCode === undefined ? [] : [i]));
    expect(refused).toHaveLength(4);
    for (const i of refused) expect(responses[i]).toMatchObject({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: expect.stringMatching(/^Slow down\./) });
    for (const [i, r] of responses.entries()) if (!refused.includes(i)) expect(r.RecordId).toMatch(/\S/);
    // the peer got exactly the records answered with a RecordId, in order
    expect(await delivered(stream)).toEqual(sent.filter((_, i) => !refused.includes(i)));
    expect(proxy.stats()).toMatchObject({ partialCalls: 1, refusedRecords: 4, forwardedRecords: 6 });

    // resending only the refused ones completes the batch, nothing twice
    proxy.setPlan({});
    const again = await put(stream, refused.map((i) => sent[i] as string));
    expect(again.FailedPutCount).toBe(0);
    expect((await delivered(stream)).sort()).toEqual([...sent].sort());

    // the same seed refuses the same records
    proxy.setPlan(plan);
    const repeat = await put(await moto.createDeliveryStream(), sent);
    expect((repeat.RequestResponses ?? []).flatMap((r, i) => (r.ErrorCode === undefined ? [] : [i]))).toEqual(refused);
  });

  it('throttles S3 with 503 SlowDown in S3 XML, which the SDK names', async () => {
    const stream = await moto.createDeliveryStream();
    await put(stream, lines(0, 1));
    const [object] = await moto.readObjects(stream.bucket, stream.prefix);
    if (object === undefined) throw new Error('no object');
    proxy.setPlan({ throttleFirst: 1 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: stream.bucket, Key: object.key })))).toMatchObject({ name: 'SlowDown', status: 503 });
    proxy.setPlan({ errorFirst: 1 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: stream.bucket, Key: object.key })))).toMatchObject({ name: 'InternalError', status: 500 });
    const body = await (await s3.send(new GetObjectCommand({ Bucket: stream.bucket, Key: object.key }))).Body?.transformToString('utf8');
    expect(body).toBe(`${lines(0, 1)[0]}\n`);
  });

  it('delays forwarded calls and counts them', async () => {
    const stream = await moto.createDeliveryStream();
    proxy.setPlan({ latencyMs: 30, jitterMs: 20 });
    await put(stream, lines(0, 1));
    await put(stream, lines(1, 1));
    expect(proxy.stats()).toMatchObject({ delayed: 2, forwarded: 2 });
    expect((await delivered(stream)).sort()).toEqual(lines(0, 2));
  });

  it('answers 502 when the peer is not there, and refuses bad targets and plans', async () => {
    const lonely = await startFaultProxy({ target: `http://127.0.0.1:${proxy.port}` });
    const orphan = await startFaultProxy({ target: lonely.url });
    await lonely.stop();
    try {
      const response = await fetch(orphan.url, { method: 'POST', body: '{}' });
      expect(response.status).toBe(502);
      expect(await response.text()).toMatch(/^the fault proxy could not reach http:\/\/127\.0\.0\.1:\d+: /);
      expect(orphan.stats().peerFailures).toBe(1);
    } finally {
      await orphan.stop();
    }
    const refused = async (start: Promise<unknown>): Promise<unknown> => start.then(() => undefined, (err: unknown) => err);
    const badTarget = await refused(startFaultProxy({ target: 'https://127.0.0.1:1' }));
    expect(isUserError(badTarget) && (badTarget as Error).message).toBe("fault proxy target 'https://127.0.0.1:1' must be an http:// URL (the proxy does not speak TLS)");
    const badPlan = await refused(startFaultProxy({ target: moto.endpoint, plan: { errorRate: 3 } }));
    expect(isUserError(badPlan) && (badPlan as Error).message).toBe('fault proxy plan: errorRate must be between 0 and 1, got 3');
    expect(() => proxy.setPlan({ dropEvery: 0 })).toThrow('dropEvery must be a whole number ≥ 1, got 0');
  });

  it('closes its port on stop', async () => {
    const extra = await startFaultProxy({ target: moto.endpoint });
    await extra.stop();
    await extra.stop();
    const err = await fetch(extra.url).then(
      () => undefined,
      (e: unknown) => e as { cause?: { code?: string } },
    );
    expect(err?.cause?.code).toBe('ECONNREFUSED');
  });
});
