import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { DEFAULT_START_TIME, generatorConfig, partitionEvents, type GeneratorOptions } from '../../../../src/ingest/generator/config.js';
import { generatorSource } from '../../../../src/ingest/generator/index.js';

const bad = (message: string) => new UserError(ErrorCode.BAD_OPTION, message);

describe('generator options', () => {
  it('fills in the documented defaults', () => {
    expect(generatorConfig({ workload: 'clickstream' })).toEqual({
      workload: 'clickstream',
      seed: 1,
      partitions: 1,
      rate: 0,
      events: undefined,
      batchSize: 500,
      startTime: Date.parse('2026-11-01T00:00:00Z'),
      outOfOrderFraction: 0.05,
      maxDelay: 2000,
      lateFraction: 0.001,
      anomalyRate: 0.002,
      scheduler: asyncScheduler,
    });
    expect(DEFAULT_START_TIME).toBe(Date.parse('2026-11-01T00:00:00Z'));
  });

  it.each<[Partial<GeneratorOptions>, string]>([
    [{ rate: -1 }, '--rate must be ≥ 0 (events per second), got -1'],
    [{ rate: Number.NaN }, '--rate must be ≥ 0 (events per second), got NaN'],
    [{ rate: Infinity }, '--rate must be ≥ 0 (events per second), got Infinity'],
    [{ seed: 1.5 }, '--seed must be a whole number ≥ 0, got 1.5'],
    [{ seed: -1 }, '--seed must be a whole number ≥ 0, got -1'],
    [{ partitions: 0 }, '--partitions must be a whole number from 1 to 1024, got 0'],
    [{ events: -5 }, '--events must be a whole number ≥ 0, got -5'],
    [{ batchSize: 0 }, '--batch-size must be a whole number ≥ 1, got 0'],
    [{ startTime: 1.5 }, '--start-time must be whole epoch milliseconds, got 1.5'],
    [{ maxDelay: 60_001 }, '--max-delay must be a whole number from 0 to 60000, got 60001'],
    [{ outOfOrderFraction: 1.1 }, '--out-of-order-fraction must be between 0 and 1, got 1.1'],
    [{ lateFraction: -0.1 }, '--late-fraction must be between 0 and 1, got -0.1'],
    [{ anomalyRate: Number.NaN }, '--anomaly-rate must be between 0 and 1, got NaN'],
    [{ outOfOrderFraction: 0.6, lateFraction: 0.5 }, '--out-of-order-fraction plus --late-fraction must be ≤ 1, got 0.6 + 0.5'],
  ])('rejects %o with a message naming the flag', (options, message) => {
    expect(() => generatorConfig({ workload: 'telemetry', ...options })).toThrow(bad(message));
    // the source validates at construction, before anything is opened
    expect(() => generatorSource({ workload: 'telemetry', ...options })).toThrow(bad(message));
  });

  it('rejects an unknown workload', () => {
    expect(() => generatorConfig({ workload: 'weather' as never })).toThrow(bad("generator workload must be clickstream or telemetry, got 'weather'"));
  });

  it('splits a bounded run evenly over the partitions, the first ones taking the remainder', () => {
    const config = { events: 10, partitions: 3 };
    expect([0, 1, 2].map((i) => partitionEvents(config, i))).toEqual([4, 3, 3]);
    expect(partitionEvents({ events: undefined, partitions: 3 }, 0)).toBe(Infinity);
  });

  it('describes itself for logs', () => {
    expect(generatorSource({ workload: 'clickstream' }).description).toBe('generator:clickstream (1 partition, seed 1)');
    expect(generatorSource({ workload: 'telemetry', partitions: 4, seed: 7, rate: 2000, events: 100 }).description).toBe(
      'generator:telemetry (4 partitions, seed 7, 2000 events/s, 100 events)',
    );
  });
});
