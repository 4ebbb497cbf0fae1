import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/errors.js';
import { SUBSCRIBE_MIN_INTERVAL_MS, classifyFanOutError, openFanOutShard, type ConsumerInfo, type FanOutClock, type FanOutService, type SubscriptionEvent } from '../../../../src/ingest/kinesis/fanout/index.js';
import type { SubscribeRequest } from '../../../../src/ingest/kinesis/fanout/service.js';
import type { ShardPosition } from '../../../../src/ingest/kinesis/shard-stream.js';
import type { ShardFetch } from '../../../../src/ingest/kinesis/shard-stream.js';

/** Virtual time: `sleep` moves the clock on at once and records how long it was asked to wait. */
function virtualClock(start = 1_000_000): FanOutClock & { sleeps: number[]; advance(ms: number): void } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      // a macrotask, so a loop of waits cannot starve the test of its turn
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

function awsError(name: string, message = name): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

let seq = 1000;
function event(records: number, more: Partial<SubscriptionEvent> = {}): SubscriptionEvent {
  const list = Array.from({ length: records }, () => {
    seq++;
    return { sequenceNumber: String(seq), partitionKey: `k${seq}`, data: new TextEncoder().encode(`v${seq}`), arrival: 5 };
  });
  return { records: list, continuationSequenceNumber: list.at(-1)?.sequenceNumber ?? String(seq), millisBehindLatest: 0, childShardIds: undefined, ...more };
}

/** What one SubscribeToShard call of the fake does: throw at once, or yield a script of steps. */
type Step = SubscriptionEvent | { error: Error } | 'end' | 'hang';
type Script = { reject: Error } | readonly Step[];

/**
 * A FanOutService whose subscriptions follow scripts, one per call (the last repeats), recording
 * every request and how many events each subscription's consumer pulled.
 */
function fakeService(scripts: readonly Script[], ends: (readonly string[] | undefined)[] = []): FanOutService & { requests: SubscribeRequest[]; pulls: number[]; probes: string[]; positions(): ShardPosition[] } {
  const requests: SubscribeRequest[] = [];
  const probes: string[] = [];
  const pulls: number[] = [];
  return {
    requests,
    pulls,
    probes,
    shardEnd: async (streamArn, shardId, after) => {
      probes.push(`${streamArn} ${shardId} ${after}`);
      return ends.shift();
    },
    positions: () => requests.map((r) => r.position),
    streamArn: async () => 'arn:aws:kinesis:us-east-1:000000000000:stream/clicks',
    describeConsumer: async () => undefined,
    registerConsumer: async (): Promise<ConsumerInfo> => ({ arn: 'x', status: 'ACTIVE' }),
    close: () => undefined,
    async subscribe(request) {
      const index = requests.length;
      requests.push(request);
      pulls.push(0);
      const script = scripts[Math.min(index, scripts.length - 1)]!;
      if ('reject' in script) throw script.reject;
      let step = 0;
      return {
        next: () => {
          pulls[index]!++;
          const s = script[step++] ?? 'end';
          if (request.signal.aborted) return Promise.reject(awsError('AbortError'));
          if (s === 'end') return Promise.resolve({ done: true, value: undefined });
          if (s === 'hang') {
            return new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(awsError('AbortError')), { once: true }));
          }
          if ('error' in s) return Promise.reject(s.error);
          return Promise.resolve({ done: false, value: s });
        },
      };
    },
  };
}

const CONSUMER_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/clicks/consumer/page-views:1700000000';

const SHARD = 'shardId-000000000000';

async function take(stream: { next(): Promise<ShardFetch> }, n: number): Promise<ShardFetch[]> {
  const out: ShardFetch[] = [];
  for (let i = 0; i < n; i++) out.push(await stream.next());
  return out;
}

const seqs = (fetches: readonly ShardFetch[]): string[] => fetches.flatMap((f) => f.records.map((r) => r.sequenceNumber));

describe('FanOutShardStream', () => {
  it('delivers each event as one fetch and subscribes from the opening position', async () => {
    const e1 = event(3, { millisBehindLatest: 1200 });
    const e2 = event(0, { millisBehindLatest: 0 });
    const service = fakeService([[e1, e2, 'hang']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'AT_TIMESTAMP', timestamp: 42 }, { clock: virtualClock() });
    const [f1, f2] = await take(stream, 2);
    expect(f1).toEqual({ records: e1.records, millisBehindLatest: 1200, ended: undefined });
    expect(f2).toEqual({ records: [], millisBehindLatest: 0, ended: undefined });
    expect(service.requests.map((r) => [r.consumerArn, r.shardId, r.position])).toEqual([[CONSUMER_ARN, SHARD, { type: 'AT_TIMESTAMP', timestamp: 42 }]]);
    await stream.close();
  });

  it('re-subscribes AFTER_SEQUENCE_NUMBER the last continuation when a subscription ends, losing and repeating nothing', async () => {
    const a = [event(2), event(2, { continuationSequenceNumber: '7777' })];
    const b = [event(3), event(1)];
    const service = fakeService([[...a, 'end'], [...b, 'hang']]);
    const clock = virtualClock();
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock });
    const fetches = await take(stream, 4);
    expect(seqs(fetches)).toEqual([...a, ...b].flatMap((e) => e.records.map((r) => r.sequenceNumber)));
    expect(service.positions()).toEqual([{ type: 'TRIM_HORIZON' }, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '7777' }]);
    expect(stream.stats()).toMatchObject({ subscriptions: 2, resubscriptions: 1, expiredSubscriptions: 1, events: 4, records: 8 });
    await stream.close();
  });

  it('keeps at least a second between SubscribeToShard calls of the shard', async () => {
    const service = fakeService([['end']]);
    const clock = virtualClock();
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'LATEST' }, { clock });
    const pending = stream.next();
    // let it subscribe a few times (each subscription ends at once)
    for (let i = 0; i < 50 && service.requests.length < 4; i++) await new Promise((r) => setImmediate(r));
    await stream.close();
    await expect(pending).resolves.toEqual({ records: [], millisBehindLatest: undefined, ended: undefined });
    expect(service.requests.length).toBeGreaterThanOrEqual(4);
    expect(clock.sleeps.slice(0, 3)).toEqual([SUBSCRIBE_MIN_INTERVAL_MS, SUBSCRIBE_MIN_INTERVAL_MS, SUBSCRIBE_MIN_INTERVAL_MS]);
    // the position stays the opening one while no event came
    expect(new Set(service.positions().map((p) => p.type))).toEqual(new Set(['LATEST']));
  });

  it('retries ResourceInUse, throttling and connection errors from the last delivered position, with growing waits', async () => {
    const first = event(2, { continuationSequenceNumber: '500' });
    const after = event(1);
    const service = fakeService([
      [first, { error: awsError('Error', 'read ECONNRESET') }],
      { reject: awsError('ResourceInUseException') },
      { reject: awsError('ResourceInUseException') },
      { reject: awsError('LimitExceededException') },
      [{ error: awsError('InternalFailureException') }],
      [after, 'hang'],
    ]);
    const clock = virtualClock();
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock, initialDelayMs: 1_000, maxDelayMs: 8_000 });
    const fetches = await take(stream, 2);
    expect(seqs(fetches)).toEqual([...first.records, ...after.records].map((r) => r.sequenceNumber));
    expect(service.positions().slice(1)).toEqual(Array(5).fill({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '500' }));
    expect(stream.stats()).toMatchObject({ inUseRetries: 2, throttledRetries: 1, otherRetries: 2, lastError: 'InternalFailureException: InternalFailureException' });
    // every wait is at least the per-shard subscribe interval, and they never exceed the cap
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(5);
    for (const ms of clock.sleeps) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(8_000);
    }
    await stream.close();
  });

  it('ends with the child shards when an event has ChildShards and no continuation', async () => {
    const last = event(2, { continuationSequenceNumber: undefined, childShardIds: ['shardId-000000000002', 'shardId-000000000003'] });
    const service = fakeService([[event(1), last, 'hang']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    const [, end] = await take(stream, 2);
    expect(end).toEqual({ records: last.records, millisBehindLatest: 0, ended: { childShardIds: ['shardId-000000000002', 'shardId-000000000003'] } });
    // the subscription is let go at once
    expect(service.requests[0]!.signal.aborted).toBe(true);
  });

  it('does not end on ChildShards while a continuation is still given', async () => {
    const service = fakeService([[event(1, { childShardIds: ['shardId-000000000002'] }), 'hang']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    expect((await stream.next()).ended).toBeUndefined();
    await stream.close();
  });

  it('pulls one event from the subscription per next(), however many are ready (backpressure)', async () => {
    const ready = Array.from({ length: 100 }, () => event(5));
    const service = fakeService([ready]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    await take(stream, 3);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(service.pulls).toEqual([3]);
    await stream.close();
  });

  it.each(['ResourceNotFoundException', 'AccessDeniedException', 'KMSAccessDeniedException'])('rejects next() with a UserError naming the stream and consumer on %s, and keeps rejecting', async (name) => {
    const service = fakeService([[event(1), { error: awsError(name, 'nope') }]]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    await stream.next();
    const err = await stream.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain("Kinesis stream 'clicks', consumer 'page-views', shardId-000000000000");
    expect((err as Error).message).toContain(`${name}: nope`);
    await expect(stream.next()).rejects.toBe(err);
    expect(service.requests).toHaveLength(1);
  });

  it('a fatal error when subscribing rejects too', async () => {
    const service = fakeService([{ reject: awsError('ResourceNotFoundException', 'Consumer not found') }]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    await expect(stream.next()).rejects.toThrow(/consumer 'page-views'.*ResourceNotFoundException: Consumer not found/);
  });

  it('close() resolves a pending next() with an empty fetch and aborts the subscription', async () => {
    const service = fakeService([['hang']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    const pending = stream.next();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await stream.close();
    await expect(pending).resolves.toEqual({ records: [], millisBehindLatest: undefined, ended: undefined });
    expect(service.requests[0]!.signal.aborted).toBe(true);
    await expect(stream.next()).resolves.toEqual({ records: [], millisBehindLatest: undefined, ended: undefined });
  });

  it('interruptSubscription() re-subscribes after the last delivered event without counting an error', async () => {
    const a = event(2, { continuationSequenceNumber: '900' });
    const b = event(2);
    const service = fakeService([[a, event(9), 'hang'], [b, 'hang']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    const [f1] = await take(stream, 1);
    stream.interruptSubscription();
    const [f2] = await take(stream, 1);
    // the event that was ready on the old subscription but not asked for is not delivered
    expect(seqs([f1!, f2!])).toEqual([...a.records, ...b.records].map((r) => r.sequenceNumber));
    expect(service.positions()[1]).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '900' });
    expect(stream.stats()).toMatchObject({ resubscriptions: 1, otherRetries: 0, inUseRetries: 0 });
    await stream.close();
  });
});

describe('FanOutShardStream end probe (kinesis-local sends no ChildShards)', () => {
  const tip = (continuationSequenceNumber: string): SubscriptionEvent => event(0, { continuationSequenceNumber, millisBehindLatest: 0 });

  it('is off by default', async () => {
    const service = fakeService([[event(2), tip('1'), tip('1'), 'hang']], [['shardId-000000000009']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock() });
    const fetches = await take(stream, 3);
    expect(fetches.map((f) => f.ended)).toEqual([undefined, undefined, undefined]);
    expect(service.probes).toEqual([]);
    await stream.close();
  });

  it('ends the shard with the children GetRecords names once an empty event at the tip finds it closed', async () => {
    const full = event(3, { continuationSequenceNumber: '4242', millisBehindLatest: 0 });
    const service = fakeService([[full, tip('4242'), 'hang']], [['shardId-000000000001', 'shardId-000000000002']]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'TRIM_HORIZON' }, { clock: virtualClock(), endProbeIntervalMs: 10_000 });
    const [first, last] = await take(stream, 2);
    // an event with records is never taken for the end
    expect(first!.ended).toBeUndefined();
    expect(last).toEqual({ records: [], millisBehindLatest: 0, ended: { childShardIds: ['shardId-000000000001', 'shardId-000000000002'] } });
    expect(service.probes).toEqual([`arn:aws:kinesis:us-east-1:000000000000:stream/clicks ${SHARD} 4242`]);
    expect(service.requests[0]!.signal.aborted).toBe(true);
  });

  it('asks at most once per interval while the shard stays open', async () => {
    const clock = virtualClock();
    const service = fakeService([[tip('1'), tip('1'), tip('1'), 'hang']], [undefined, undefined]);
    const stream = openFanOutShard(service, CONSUMER_ARN, SHARD, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '1' }, { clock, endProbeIntervalMs: 10_000 });
    await stream.next();
    clock.advance(5_000);
    await stream.next();
    clock.advance(5_000);
    const third = await stream.next();
    expect(third.ended).toBeUndefined();
    expect(service.probes).toHaveLength(2);
    expect(stream.stats().endProbes).toBe(2);
    await stream.close();
  });
});

describe('classifyFanOutError', () => {
  it('sorts errors into fatal, in-use, throttled and retry', () => {
    expect(classifyFanOutError(awsError('ResourceNotFoundException'))).toBe('fatal');
    expect(classifyFanOutError(Object.assign(awsError('SomethingNew'), { $metadata: { httpStatusCode: 403 } }))).toBe('fatal');
    expect(classifyFanOutError(awsError('ResourceInUseException'))).toBe('in-use');
    expect(classifyFanOutError(awsError('LimitExceededException'))).toBe('throttled');
    expect(classifyFanOutError(awsError('InternalFailureException'))).toBe('retry');
    expect(classifyFanOutError(new Error('ERR_HTTP2_STREAM_ERROR'))).toBe('retry');
  });
});
