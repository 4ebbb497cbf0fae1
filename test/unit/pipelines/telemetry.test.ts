import { beforeAll, describe, expect, it } from 'vitest';
import { telemetryBraking, telemetryDriving, type Reading } from '../../../src/pipelines/telemetry.js';
import { acceptedWindows, countBy, LATE_HEAVY, runBuiltin, slidingStarts, total, tumblingStart, type BuiltinRun } from './helpers.js';

const SLIDE = 10_000;
const SIZE = 60_000;
const FIVE_MINUTES = 300_000;

describe('built-in pipeline telemetry (per-vehicle minute, every 10 s)', () => {
  let run: BuiltinRun<Reading>;
  beforeAll(async () => {
    run = await runBuiltin<Reading>(telemetryDriving, { workload: 'telemetry', ...LATE_HEAVY });
  });

  it('counts each reading in the windows Flink’s rule lets it into, and drops it when none does', () => {
    const accepted = acceptedWindows(run.events, slidingStarts(SIZE, SLIDE), SIZE);
    expect(run.late).toEqual(run.events.filter((r) => accepted.get(r)?.length === 0));
    expect(run.late.length).toBeGreaterThan(200);
    expect(run.deadLetters).toEqual([]);
    const memberships = [...accepted.values()].reduce((n, starts) => n + starts.length, 0);
    expect(total(run.results, 'readings')).toBe(memberships);
    // some readings were too late for their older windows but not for their newer ones
    expect(memberships).toBeLessThan(6 * (run.events.length - run.late.length));
  });

  it('gives each vehicle and window its readings, mean and top speed, and p95 deceleration', () => {
    const windows = new Map<string, Reading[]>();
    for (const [r, starts] of acceptedWindows(run.events, slidingStarts(SIZE, SLIDE), SIZE)) {
      for (const start of starts) {
        const key = `${r.vehicleId} ${start}`;
        const readings = windows.get(key);
        if (readings === undefined) windows.set(key, [r]);
        else readings.push(r);
      }
    }
    expect(run.results).toHaveLength(windows.size);
    for (const result of run.results) {
      expect(Object.keys(result)).toEqual(['id', 'key', 'windowStart', 'windowEnd', 'revision', 'readings', 'meanSpeedKmh', 'maxSpeedKmh', 'p95DecelMs2']);
      expect(result.windowEnd - result.windowStart).toBe(SIZE);
      const readings = windows.get(`${String(result.key['vehicleId'])} ${result.windowStart}`) ?? [];
      const speeds = readings.map((r) => r.speedKmh);
      const decel = readings.map((r) => Math.max(0, -r.accelMs2));
      expect(result['readings']).toBe(readings.length);
      expect(result['maxSpeedKmh']).toBe(Math.max(...speeds));
      expect(result['meanSpeedKmh']).toBeCloseTo(speeds.reduce((a, b) => a + b, 0) / speeds.length, 9);
      // a DDSketch estimate: within the values seen
      expect(result['p95DecelMs2']).toBeGreaterThanOrEqual(Math.min(...decel));
      expect(result['p95DecelMs2']).toBeLessThanOrEqual(Math.max(...decel));
    }
  });
});

describe('built-in pipeline telemetry, nothing late', () => {
  it('counts every reading in exactly 6 windows', async () => {
    // maxDelay 2 s matches the pipeline's out-of-orderness, and there are no late events
    const run = await runBuiltin<Reading>(telemetryDriving, { workload: 'telemetry', partitions: 2, events: 20_000, lateFraction: 0 });
    expect(run.late).toEqual([]);
    expect(total(run.results, 'readings')).toBe(6 * run.events.length);
  });
});

describe('built-in pipeline telemetry-braking (harsh brakes per vehicle per 5 minutes)', () => {
  let run: BuiltinRun<Reading>;
  beforeAll(async () => {
    run = await runBuiltin<Reading>(telemetryBraking, { workload: 'telemetry', ...LATE_HEAVY, events: 100_000 });
  });

  it('counts the harsh-braking readings that were not late, and nothing else', () => {
    // watermarks advance with every reading, harsh or not: the filter comes after them
    const accepted = acceptedWindows(run.events, tumblingStart(FIVE_MINUTES), FIVE_MINUTES);
    const harsh = run.events.filter((r) => r.harshBraking);
    expect(run.late).toEqual(harsh.filter((r) => accepted.get(r)?.length === 0));
    expect(run.late.length).toBeGreaterThan(5);
    expect(total(run.results, 'harshBrakes')).toBe(harsh.length - run.late.length);
  });

  it('gives each vehicle its count per 5-minute window', () => {
    const late = new Set(run.late);
    const expected = countBy(
      run.events.filter((r) => r.harshBraking && !late.has(r)),
      (r) => `${r.vehicleId} ${Math.floor(Date.parse(r.ts) / FIVE_MINUTES) * FIVE_MINUTES}`,
    );
    const got = new Map(run.results.map((r) => [`${String(r.key['vehicleId'])} ${r.windowStart}`, r['harshBrakes']]));
    expect(got).toEqual(expected);
    expect(run.results.every((r) => r.windowEnd - r.windowStart === FIVE_MINUTES)).toBe(true);
  });
});
