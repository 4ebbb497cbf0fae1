import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/errors.js';
import { ensureConsumer, type ConsumerInfo, type FanOutClock, type FanOutService } from '../../../../src/ingest/kinesis/fanout/index.js';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/clicks';

/** Virtual time: `sleep` moves the clock on at once and records how long it was asked to wait. */
function virtualClock(): FanOutClock & { sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/** A service whose consumer answers follow `describes` (the last repeats) and whose registration does `register`. */
function consumerService(describes: readonly (ConsumerInfo | undefined | Error)[], register: () => Promise<ConsumerInfo>): FanOutService & { calls: string[] } {
  const calls: string[] = [];
  let i = 0;
  return {
    streamArn: async () => STREAM_ARN,
    subscribe: () => Promise.reject(new Error('not in these tests')),
    shardEnd: () => Promise.reject(new Error('not in these tests')),
    close: () => undefined,
    calls,
    describeConsumer: async (arn, name) => {
      calls.push(`describe ${arn} ${name}`);
      const answer = describes[Math.min(i++, describes.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
    registerConsumer: async (arn, name) => {
      calls.push(`register ${arn} ${name}`);
      return register();
    },
  };
}

const creating = { arn: 'arn:c', status: 'CREATING' };
const active = { arn: 'arn:c', status: 'ACTIVE' };

describe('ensureConsumer', () => {
  it('returns an ACTIVE consumer without registering it', async () => {
    const service = consumerService([active], async () => active);
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() })).resolves.toEqual(active);
    expect(service.calls).toEqual([`describe ${STREAM_ARN} page-views`]);
  });

  it('registers an absent consumer and waits until it is ACTIVE', async () => {
    const service = consumerService([undefined, creating, creating, active], async () => creating);
    const clock = virtualClock();
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock, pollMs: 500 })).resolves.toEqual(active);
    expect(service.calls.filter((c) => c.startsWith('register'))).toEqual([`register ${STREAM_ARN} page-views`]);
    expect(clock.sleeps).toEqual([500, 500, 500]);
  });

  it('waits for a consumer another worker is registering at the same time (ResourceInUse)', async () => {
    const service = consumerService([undefined, creating, active], async () => {
      throw awsError('ResourceInUseException');
    });
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() })).resolves.toEqual(active);
  });

  it('gives up with a UserError naming the consumer and the stream when it never becomes ACTIVE', async () => {
    const service = consumerService([creating], async () => creating);
    const err = await ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock(), timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^Kinesis consumer 'page-views' of stream 'clicks': still CREATING after 10 s/);
  });

  it('explains the 20-consumer limit when LimitExceeded persists', async () => {
    const service = consumerService([undefined], async () => {
      throw awsError('LimitExceededException', 'consumer limit exceeded');
    });
    const err = await ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain("Kinesis consumer 'page-views' of stream 'clicks': cannot be registered: the stream has reached the limit of 20");
    expect(service.calls.filter((c) => c.startsWith('register'))).toHaveLength(4);
  });

  it('rides out a throttled registration', async () => {
    let n = 0;
    const service = consumerService([undefined, undefined, active], async () => {
      if (n++ === 0) throw awsError('LimitExceededException');
      return creating;
    });
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() })).resolves.toEqual(active);
  });

  it('does not take throttled DescribeStreamConsumer calls for the consumer limit', async () => {
    const throttled = awsError('LimitExceededException', 'Rate exceeded');
    const service = consumerService([throttled, throttled, throttled, throttled, throttled, active], async () => creating);
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() })).resolves.toEqual(active);
    expect(service.calls.filter((c) => c.startsWith('register'))).toEqual([]);
  });

  it('names a missing stream', async () => {
    const service = consumerService([undefined], async () => {
      throw awsError('ResourceNotFoundException', 'Stream clicks under account 0 not found');
    });
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock() })).rejects.toThrow("Kinesis consumer 'page-views' of stream 'clicks': the stream does not exist");
  });

  it('does not wait forever when Kinesis does not answer', async () => {
    const service = consumerService([awsError('TimeoutError', 'socket hang up')], async () => creating);
    await expect(ensureConsumer(service, { streamArn: STREAM_ARN, consumerName: 'page-views', clock: virtualClock(), timeoutMs: 5_000 })).rejects.toThrow(/Kinesis did not answer \(socket hang up\)/);
  });
});
