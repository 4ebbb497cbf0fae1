import { describe, expect, it } from 'vitest';
import { drive, epochNow, type DriverMessage, type DriverPlan, type StepSendStats } from '../../../src/loadtest/driver.js';
import type { LoadProducer, LoadRecord } from '../../../src/loadtest/service.js';
import { readStamp } from '../../../src/loadtest/stamp.js';

const plan: DriverPlan = {
  workload: 'clickstream',
  seed: 3,
  recordSize: 400,
  keyField: 'page',
  steps: [
    { rate: 200, durationMs: 300 },
    { rate: 400, durationMs: 300 },
  ],
};

/** A producer whose broker answers after `delayMs`, or refuses with `error`. */
function fakeProducer(options: { delayMs: number; error?: string }): LoadProducer & { batches: LoadRecord[][] } {
  const batches: LoadRecord[][] = [];
  let inFlight = 0;
  return {
    partitions: 3,
    batches,
    async send(records) {
      // the driver never has two requests in flight: the idempotent producer's order depends on it
      expect(inFlight).toBe(0);
      inFlight++;
      batches.push([...records]);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      inFlight--;
      if (options.error !== undefined) throw new Error(options.error);
    },
    close: async () => undefined,
  };
}

async function run(producer: LoadProducer): Promise<{ steps: StepSendStats[]; messages: DriverMessage[] }> {
  const messages: DriverMessage[] = [];
  await drive({ plan, producer, startAt: epochNow() + 20, emit: (m) => messages.push(m) });
  const steps = messages.flatMap((m) => (m.type === 'step' ? [m.stats] : []));
  return { steps, messages };
}

describe('drive', () => {
  it('sends every scheduled record once, stamped with its step and the moment it was due', async () => {
    const producer = fakeProducer({ delayMs: 1 });
    const { steps } = await run(producer);
    // 200/s × 0.3 s = 60 records, then 400/s × 0.3 s = 120
    expect(steps.map((s) => [s.step, s.intended, s.sent, s.acked, s.failed])).toEqual([
      [0, 60, 60, 60, 0],
      [1, 120, 120, 120, 0],
    ]);
    const records = producer.batches.flat();
    expect(records).toHaveLength(180);
    const stamps = records.map((r) => readStamp(r.value));
    expect(stamps.filter((s) => s?.step === 0)).toHaveLength(60);
    expect(stamps.filter((s) => s?.step === 1)).toHaveLength(120);
    // due times are the schedule's: 5 ms apart in step 0, 2.5 ms apart in step 1, step 1 starting 300 ms after step 0
    const due = stamps.map((s) => s?.sentAt ?? Number.NaN);
    expect(due[1]! - due[0]!).toBeCloseTo(5, 2);
    expect(due[61]! - due[60]!).toBeCloseTo(2.5, 2);
    expect(due[60]! - due[0]!).toBeCloseTo(300, 2);
    // padded to the plan's record size, keyed by the page
    expect(records.every((r) => Buffer.byteLength(r.value) === 400)).toBe(true);
    expect(records.every((r) => r.key === (JSON.parse(r.value) as { page: string }).page)).toBe(true);
    expect(steps.every((s) => s.valueBytes === s.acked * 400)).toBe(true);
  });

  it('keeps to the schedule when the broker is slow: records wait and go out together', async () => {
    const producer = fakeProducer({ delayMs: 60 });
    const { steps } = await run(producer);
    expect(steps.map((s) => s.acked)).toEqual([60, 120]);
    // one request at a time, each carrying what came due meanwhile: far fewer requests than records
    expect(producer.batches.length).toBeLessThan(60);
    expect(Math.max(...producer.batches.map((b) => b.length))).toBeGreaterThan(1);
    // and the wait is reported, not hidden
    expect(Math.max(...steps.map((s) => s.maxSendDelayMs))).toBeGreaterThan(0);
  });

  it('counts refused sends, and throttling apart, with the first reason', async () => {
    const { steps, messages } = await run(fakeProducer({ delayMs: 1, error: 'THROTTLING_QUOTA_EXCEEDED: slow down' }));
    expect(steps.map((s) => [s.sent, s.acked, s.failed, s.throttled])).toEqual([
      [60, 0, 60, 60],
      [120, 0, 120, 120],
    ]);
    expect(steps[0]?.firstError).toBe('THROTTLING_QUOTA_EXCEEDED: slow down');
    const last = messages.filter((m) => m.type === 'progress').at(-1);
    expect(last).toMatchObject({ sent: 180, acked: 0, failed: 180 });
  });

  it('a request holds one step\'s records, and a Kinesis producer\'s put counts add up per step', async () => {
    const batches: LoadRecord[][] = [];
    const producer: LoadProducer = {
      partitions: 2,
      async send(records) {
        batches.push([...records]);
        // slow enough that records of both steps wait together at the boundary
        await new Promise((resolve) => setTimeout(resolve, 40));
        const byShard: Record<string, number> = {};
        for (const r of records) byShard[r.key.length % 2 === 0 ? 'shardId-0' : 'shardId-1'] = (byShard[r.key.length % 2 === 0 ? 'shardId-0' : 'shardId-1'] ?? 0) + 1;
        return { putCalls: 1, kinesisRecords: records.length, aggregatedRecords: 0, userRecords: records.length, throttled: 1, retried: 1, putUnits: records.length, kinesisBytes: 10 * records.length, byShard };
      },
      close: async () => undefined,
    };
    const { steps } = await run(producer);
    for (const batch of batches) expect(new Set(batch.map((r) => readStamp(r.value)?.step)).size).toBe(1);
    expect(steps.map((s) => s.puts?.userRecords)).toEqual([60, 120]);
    for (const s of steps) {
      expect(Object.values(s.puts?.byShard ?? {}).reduce((a, b) => a + b, 0)).toBe(s.acked);
      expect(s.puts?.putCalls).toBe(s.puts?.throttled);
    }
    expect(steps.reduce((sum, s) => sum + (s.puts?.putCalls ?? 0), 0)).toBe(batches.length);
  });

  it('a Kafka producer answers nothing: no put counts', async () => {
    const { steps } = await run(fakeProducer({ delayMs: 1 }));
    expect(steps.map((s) => s.puts)).toEqual([null, null]);
  });
});
