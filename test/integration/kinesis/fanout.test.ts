import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsumer, openFanOutShard, type FanOutShardStream } from '../../../src/ingest/kinesis/fanout/index.js';
import { fanOutService, type FanOutService } from '../../../src/ingest/kinesis/fanout/service.js';
import type { ShardFetch, ShardRecord } from '../../../src/ingest/kinesis/shard-stream.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis, type ReadRecord } from '../../support/kinesis.js';

const kinesis = useKinesis();

/** Long enough for kinesis-local (one event per second, ~1–3 s to free a cancelled subscription). */
const READ_DEADLINE_MS = 60_000;

interface Seen {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: string;
}

const seen = (r: ShardRecord | ReadRecord): Seen => ({ sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, data: Buffer.from(r.data).toString('utf8') });

/** Fetches until `total` records came (failing after the deadline), calling `after` on each fetch. */
async function readUntil(shard: FanOutShardStream, into: ShardRecord[], total: number, after: (fetch: ShardFetch) => void = () => undefined): Promise<void> {
  const deadline = Date.now() + READ_DEADLINE_MS;
  while (into.length < total) {
    if (Date.now() > deadline) throw new Error(`${shard.shardId}: ${into.length} of ${total} records after ${READ_DEADLINE_MS / 1000} s (${JSON.stringify(shard.stats())})`);
    const fetch = await shard.next();
    into.push(...fetch.records);
    after(fetch);
  }
}

describe('enhanced fan-out (SubscribeToShard) on kinesis-local', () => {
  let service: FanOutService;

  beforeAll(() => {
    service = fanOutService({ endpointUrl: kinesis.endpoint, region: undefined, credentials: undefined });
  }, KINESIS_START_TIMEOUT_MS);

  afterAll(() => service?.close());

  it('reads exactly what GetRecords reads from a 2-shard stream, across re-subscriptions mid-stream', async () => {
    const stream = await kinesis.createStream(2);
    const records = Array.from({ length: 300 }, (_, i) => ({ key: `user-${i % 37}`, data: `event-${i}` }));
    const landedFirst = await kinesis.putRecords(stream, records.slice(0, 150));
    const consumer = await ensureConsumer(service, { streamArn: await service.streamArn(stream), consumerName: 'fanout-parity' });
    expect(consumer.status).toBe('ACTIVE');
    // registering again finds the same consumer
    expect((await ensureConsumer(service, { streamArn: await service.streamArn(stream), consumerName: 'fanout-parity' })).arn).toBe(consumer.arn);

    const shardIds = ((await kinesis.kinesisClient().send(new ListShardsCommand({ StreamName: stream }))).Shards ?? []).map((s) => s.ShardId ?? '');
    expect(shardIds).toHaveLength(2);
    const shards = shardIds.map((id) => openFanOutShard(service, consumer.arn, id, { type: 'TRIM_HORIZON' }));
    const got = shardIds.map((): ShardRecord[] => []);
    try {
      // phase 1: what was there before subscribing
      await Promise.all(shards.map((shard, i) => readUntil(shard, got[i]!, landedFirst.filter((l) => l.shardId === shard.shardId).length)));
      // end every subscription between records, as Kinesis does every 5 minutes
      for (const shard of shards) shard.interruptSubscription();
      const landedSecond = await kinesis.putRecords(stream, records.slice(150));
      const landed = [...landedFirst, ...landedSecond];
      // phase 2: records written while (re)subscribing; every fetch with records ends its subscription again
      await Promise.all(shards.map((shard, i) => readUntil(shard, got[i]!, landed.filter((l) => l.shardId === shard.shardId).length, (fetch) => {
        if (fetch.records.length > 0) shard.interruptSubscription();
      })));
      // and nothing more comes: no record was repeated after the re-subscriptions
      for (const [i, shard] of shards.entries()) {
        const extra = await shard.next();
        expect(extra.records, shard.shardId).toEqual([]);
        expect(extra.ended).toBeUndefined();
        expect(got[i]!.length).toBe(landed.filter((l) => l.shardId === shard.shardId).length);
        expect(shard.stats().resubscriptions).toBeGreaterThanOrEqual(1);
      }

      const polled = await kinesis.readAll(stream);
      expect(polled).toHaveLength(300);
      for (const [i, id] of shardIds.entries()) {
        expect(got[i]!.map(seen), id).toEqual(polled.filter((r) => r.shardId === id).map(seen));
      }
      expect(got.flat().every((r) => typeof r.arrival === 'number')).toBe(true);
    } finally {
      await Promise.all(shards.map((s) => s.close()));
    }
  });

  it('ends a split parent with its child shard ids once every record of it was delivered', async () => {
    const stream = await kinesis.createStream(1);
    const before = await kinesis.putRecords(stream, Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, data: `before-${i}` })));
    const parent = before[0]!.shardId;
    const children = await kinesis.splitShard(stream, parent);
    expect(children).toHaveLength(2);
    await kinesis.putRecords(stream, Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, data: `after-${i}` })));

    const consumer = await ensureConsumer(service, { streamArn: await service.streamArn(stream), consumerName: 'fanout-split' });
    // kinesis-local never marks the end of a shard in the event stream (AWS does, with ChildShards
    // and no ContinuationSequenceNumber): the end probe asks GetRecords instead
    const shard = openFanOutShard(service, consumer.arn, parent, { type: 'TRIM_HORIZON' }, { endProbeIntervalMs: 1_000 });
    const got: ShardRecord[] = [];
    let ended: ShardFetch['ended'];
    const deadline = Date.now() + READ_DEADLINE_MS;
    try {
      while (ended === undefined) {
        if (Date.now() > deadline) throw new Error(`${parent} did not end (${JSON.stringify(shard.stats())})`);
        const fetch = await shard.next();
        got.push(...fetch.records);
        ended = fetch.ended;
      }
    } finally {
      await shard.close();
    }
    expect([...ended.childShardIds].sort()).toEqual([...children].sort());
    const polled = (await kinesis.readAll(stream)).filter((r) => r.shardId === parent);
    expect(polled).toHaveLength(60);
    expect(got.map(seen)).toEqual(polled.map(seen));
  });

  it('rejects with a UserError naming the stream and consumer when the consumer does not exist', async () => {
    const stream = await kinesis.createStream(1);
    const streamArn = await service.streamArn(stream);
    const shard = openFanOutShard(service, `${streamArn}/consumer/nobody:1700000000`, 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    try {
      await expect(shard.next()).rejects.toThrow(new RegExp(`Kinesis stream '${stream}', consumer 'nobody', shardId-000000000000: ResourceNotFoundException`));
    } finally {
      await shard.close();
    }
  });
});

describe('SubscribeToShard transport backpressure', () => {
  // A stand-in server that pushes SubscribeToShardEvent frames over h2c as fast as the client takes
  // them: how many it gets out tells how far the reader reads ahead of next().
  it('reads the HTTP/2 stream no faster than next() asks', async () => {
    const codec = new EventStreamCodec(
      (bytes) => Buffer.from(bytes).toString('utf8'),
      (text) => new Uint8Array(Buffer.from(text, 'utf8')),
    );
    const frame = (n: number): Uint8Array => {
      const body = {
        Records: [{ SequenceNumber: String(n), PartitionKey: `k${n}`, Data: Buffer.alloc(4096, n % 256).toString('base64'), ApproximateArrivalTimestamp: 1.7e9 }],
        ContinuationSequenceNumber: String(n),
        MillisBehindLatest: 1000,
      };
      return codec.encode({
        headers: {
          ':message-type': { type: 'string', value: 'event' },
          ':event-type': { type: 'string', value: 'SubscribeToShardEvent' },
          ':content-type': { type: 'string', value: 'application/json' },
        },
        body: new Uint8Array(Buffer.from(JSON.stringify(body), 'utf8')),
      });
    };
    const TOTAL = 2_000; // ~11 MB of frames
    let written = 0;
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream' });
      const pump = (): void => {
        while (written < TOTAL && !stream.destroyed) {
          written++;
          if (!stream.write(frame(written))) {
            stream.once('drain', pump);
            return;
          }
        }
        if (written >= TOTAL) stream.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const local = fanOutService({ endpointUrl, region: undefined, credentials: undefined });
    const shard = openFanOutShard(local, 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    try {
      const first = await shard.next();
      expect(first.records.map((r) => r.sequenceNumber)).toEqual(['1']);
      await sleep(500);
      const early = written;
      // the HTTP/2 windows (64 KiB per stream by default) and the stream's buffer hold a few dozen
      // 5.5 KB frames; unbounded reading would have taken all of them by now
      expect(early).toBeLessThan(100);
      const more: string[] = [];
      for (let i = 0; i < 200; i++) more.push(...(await shard.next()).records.map((r) => r.sequenceNumber));
      expect(more).toEqual(Array.from({ length: 200 }, (_, i) => String(i + 2)));
      await sleep(200);
      expect(written).toBeGreaterThan(early);
      expect(written).toBeLessThan(400);
    } finally {
      await shard.close();
      local.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
