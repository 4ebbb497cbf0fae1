import { describe, expect, it } from 'vitest';
import { LATE_SPAN_MS, MEAN_GAP_MS } from '../../../../src/ingest/generator/index.js';
import { generate, lags } from './helpers.js';

const N = 100_000;

/** Shares of events out of order at all, and lagging beyond maxDelay, plus the largest lag. */
function lagProfile(lines: readonly string[], maxDelay: number) {
  const all = lags(lines);
  return {
    outOfOrder: all.filter((lag) => lag > 0).length / all.length,
    late: all.filter((lag) => lag > maxDelay).length / all.length,
    maxLag: Math.max(...all),
  };
}

describe('generator event time', () => {
  it('with the defaults: ~5% out of order within 2 s, ~0.1% late, on 100k events', () => {
    const profile = lagProfile(generate({ workload: 'clickstream' }, N).lines, 2000);
    // An out-of-order event whose lag is smaller than the gap to the previous event still looks in
    // order, so slightly fewer than 5% + 0.1% show.
    expect(profile.outOfOrder).toBeGreaterThan(0.045);
    expect(profile.outOfOrder).toBeLessThan(0.052);
    expect(profile.late).toBeGreaterThan(0.0007);
    expect(profile.late).toBeLessThan(0.0013);
    expect(profile.maxLag).toBeLessThanOrEqual(10 * 2000 + LATE_SPAN_MS);
  });

  it('follows other settings, and lags never exceed 10 × maxDelay + 60 s', () => {
    const profile = lagProfile(generate({ workload: 'telemetry', outOfOrderFraction: 0.3, lateFraction: 0.02, maxDelay: 500, seed: 9 }, N).lines, 500);
    expect(profile.outOfOrder).toBeGreaterThan(0.27);
    expect(profile.outOfOrder).toBeLessThan(0.32);
    expect(profile.late).toBeGreaterThan(0.017);
    expect(profile.late).toBeLessThan(0.023);
    expect(profile.maxLag).toBeLessThanOrEqual(10 * 500 + LATE_SPAN_MS);
    expect(profile.maxLag).toBeGreaterThan(10 * 500 + LATE_SPAN_MS - 1000);
  });

  it('is in order when asked to be', () => {
    const profile = lagProfile(generate({ workload: 'telemetry', outOfOrderFraction: 0, lateFraction: 0 }, 20_000).lines, 0);
    expect(profile.outOfOrder).toBe(0);
  });

  it('advances by the event index, ~20 events per second of event time, from startTime', () => {
    const startTime = Date.parse('2026-01-01T00:00:00Z');
    const { lines } = generate({ workload: 'clickstream', startTime, outOfOrderFraction: 0, lateFraction: 0 }, N);
    const times = lines.map((line) => Date.parse((JSON.parse(line) as { ts: string }).ts));
    expect(times[0]).toBeGreaterThanOrEqual(startTime);
    const meanGap = ((times.at(-1) as number) - startTime) / N;
    expect(meanGap).toBeGreaterThan(MEAN_GAP_MS * 0.98);
    expect(meanGap).toBeLessThan(MEAN_GAP_MS * 1.02);
  });
});
