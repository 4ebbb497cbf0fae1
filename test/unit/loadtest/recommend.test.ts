import { describe, expect, it } from 'vitest';
import { isSustained, overBudget, recommendFrom } from '../../../src/loadtest/recommend.js';
import type { StepResult } from '../../../src/loadtest/report.js';

const latency = { count: 1, p50: 5, p90: 8, p99: 20, p999: 30, max: 40, mean: 6 };

function step(k: number, targetRate: number, over: Partial<StepResult> = {}): StepResult {
  const base = {
    step: k,
    targetRate,
    durationMs: 3000,
    intended: targetRate * 3,
    sent: targetRate * 3,
    acked: targetRate * 3,
    failed: 0,
    throttled: 0,
    firstError: null,
    putRate: targetRate,
    maxSendDelayMs: 5,
    meanValueBytes: 500,
    meanKeyBytes: 12,
    read: targetRate * 3,
    readRate: targetRate,
    lagEnd: 10,
    lagMax: 50,
    latency,
    cpuCores: targetRate / 4000,
    rssMaxMb: 200,
    heapMaxMb: 80,
    ...over,
  };
  return { ...base, sustained: isSustained(base), overBudget: [], ...over };
}

describe('isSustained', () => {
  it('needs put and read rates within 5% of the target, no failures and the lag caught up', () => {
    expect(isSustained(step(0, 1000))).toBe(true);
    expect(isSustained(step(0, 1000, { readRate: 940 }))).toBe(false);
    expect(isSustained(step(0, 1000, { putRate: 900 }))).toBe(false);
    expect(isSustained(step(0, 1000, { failed: 1 }))).toBe(false);
    // a second's worth of records (1,000) may still be in flight at the end; more may not
    expect(isSustained(step(0, 1000, { lagEnd: 1000 }))).toBe(true);
    expect(isSustained(step(0, 1000, { lagEnd: 1001 }))).toBe(false);
  });
});

describe('overBudget', () => {
  it('lists each limit a step went over', () => {
    expect(overBudget(step(0, 1000), { p99LatencyMs: 10, cpuCores: 1, rssMb: 100 })).toEqual(['p99 20.0 ms > 10 ms', 'RSS 200 MB > 100 MB']);
    expect(overBudget(step(0, 1000), null)).toEqual([]);
  });
});

describe('recommendFrom', () => {
  it('a step that broke caps a task at the knee', () => {
    // knee 2,000/s (cpu 0.5 cores → 4,000 records per CPU-second); 4,000/s broke:
    // ceiling = min(2,000, 4,000) = 2,000; planned at 70% = 1,400/s; ⌈5,000 / 1,400⌉ = 4 tasks, 8 partitions
    const steps = [step(0, 1000), step(1, 2000), step(2, 4000, { readRate: 2500, lagEnd: 20_000, sustained: false })];
    const { recommendation: r } = recommendFrom({ steps, targetRate: 5000, recordBytes: 512 });
    expect(r).toMatchObject({ kneeRate: 2000, brokeAt: 4000, tasks: 4, partitions: 8 });
    expect(r.perTaskRate).toBeCloseTo(1400, 10);
    expect(r.explanation.join('\n')).toContain('Fargate tasks = ⌈5,000 ÷ 1,400⌉ = 4');
  });

  it('when every step held, CPU per record sizes the task', () => {
    // 1,000/s at 0.2 cores = 5,000 records per CPU-second; 70% → 3,500/s; ⌈3,000 / 3,500⌉ = 1 task, 2 partitions
    const steps = [step(0, 1000, { cpuCores: 0.2 })];
    const { recommendation: r, sizing } = recommendFrom({ steps, targetRate: 3000, recordBytes: 1024 });
    expect(r).toMatchObject({ kneeRate: 1000, brokeAt: null, tasks: 1, partitions: 2 });
    expect(r.perTaskRate).toBeCloseTo(3500, 10);
    // the same load on Kinesis: the seed example, 3 shards
    expect(sizing.shards).toBe(3);
    expect(r).toMatchObject({ kinesisShards: 3, kinesisMode: 'provisioned' });
  });

  it('a step over budget is where the knee ends', () => {
    const steps = [step(0, 1000), step(1, 2000, { overBudget: ['p99 900.0 ms > 500 ms'] })];
    const { recommendation: r } = recommendFrom({ steps, targetRate: 2000, recordBytes: 512 });
    expect(r).toMatchObject({ kneeRate: 1000, brokeAt: 2000 });
    expect(r.explanation[0]).toContain('p99 900.0 ms > 500 ms');
  });

  it('no sustained step gives no task count, and says to start lower', () => {
    const steps = [step(0, 1000, { readRate: 10, sustained: false })];
    const { recommendation: r } = recommendFrom({ steps, targetRate: 1000, recordBytes: 512 });
    expect(r).toMatchObject({ kneeRate: null, tasks: null, partitions: null });
    expect(r.explanation[0]).toContain('start lower');
  });
});

describe('recommendFrom: a load that never reached the topic', () => {
  it('does not cap the consumer at the knee', () => {
    // 40,000/s was only put at 25,000/s: the driver's limit, not the consumer's; CPU at the knee
    // (20,000/s on 0.5 cores = 40,000 per CPU-second) sizes the task: 70% → 28,000/s → ⌈40,000 / 28,000⌉ = 2
    const steps = [step(0, 20000, { cpuCores: 0.5 }), step(1, 40000, { putRate: 25000, readRate: 25000, sustained: false })];
    const { recommendation: r } = recommendFrom({ steps, targetRate: 40000, recordBytes: 300 });
    expect(r).toMatchObject({ kneeRate: 20000, brokeAt: 40000, tasks: 2, partitions: 4 });
    expect(r.perTaskRate).toBeCloseTo(28000, 8);
    expect(r.explanation[0]).toContain('never reached the topic');
  });
});
