/**
 * Built-in vehicle telemetry pipelines, over the readings of `generator:telemetry` (or any JSON
 * Lines with the same fields). Two definitions:
 *
 * - `telemetry` (the default export): per vehicle, the last minute of driving, updated every
 *   10 s (sliding windows of 1 min every 10 s, so each reading counts in 6 windows): mean and
 *   top speed, and the 95th percentile of deceleration — a smoothness-of-driving score.
 * - `telemetry-braking`: harsh-braking events per vehicle per 5 minutes, for fleet alerts.
 *
 * `telemetry-anomalies` (in `telemetry-anomalies.ts`) scores each vehicle's minute for sensor
 * faults with a SageMaker model.
 *
 * Readings flagged by sensor faults are kept: a real feed has no `anomaly` label (the generator
 * adds it as ground truth for scoring detectors), so dropping them here would flatter the numbers.
 *
 * Both allow readings up to 2 s out of order, and re-fire a window for readings up to 30 s after
 * it closed (a new `revision` of the same result `id`); later readings go to the late output.
 *
 * Run one with `sluice run src/pipelines/telemetry.ts`, or copy this file and change it:
 * outside Sluice, import from 'sluice' instead of '../index.js'.
 */
import { avg, count, definePipeline, max, p95, sliding, tumbling } from '../index.js';

/** One reading as `generator:telemetry` writes it. */
export interface Reading {
  readonly eventId: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly ts: string;
  readonly vehicleId: string;
  readonly speedKmh: number;
  /** Along the direction of travel; negative when slowing down. */
  readonly accelMs2: number;
  readonly lat: number;
  readonly lon: number;
  /** Degrees from north, [0, 360). */
  readonly heading: number;
  /** Deceleration beyond 4 m/s². */
  readonly harshBraking: boolean;
  /** Ground truth: the reading carries an injected sensor fault. */
  readonly anomaly: boolean;
}

/** Watermarks and lateness shared by both pipelines (see the top of this file). */
const WATERMARKS = { time: 'ts', maxOutOfOrderness: '2s' } as const;
const ALLOWED_LATENESS = '30s';

/**
 * Driving per vehicle over the last minute, every 10 s: `{ readings, meanSpeedKmh, maxSpeedKmh, p95DecelMs2 }`.
 *
 * @example { "key": { "vehicleId": "veh-00007" }, "windowStart": …, "windowEnd": …, "readings": 24, "meanSpeedKmh": 61.2, "maxSpeedKmh": 74.9, "p95DecelMs2": 1.93 }
 * @see telemetryBraking
 */
export const telemetryDriving = definePipeline(
  'telemetry',
  (s) =>
    s
      .parseJson<Reading>()
      .withWatermarks(WATERMARKS)
      // Deceleration as a magnitude, 0 while speeding up, so its percentile reads as "how hard".
      .map((r) => ({ ...r, decelMs2: Math.max(0, -r.accelMs2) }))
      .keyBy('vehicleId')
      .window({
        assign: sliding('1m', '10s'),
        aggregate: { readings: count(), meanSpeedKmh: avg('speedKmh'), maxSpeedKmh: max('speedKmh'), p95DecelMs2: p95('decelMs2') },
        allowedLateness: ALLOWED_LATENESS,
      }),
  { source: 'generator:telemetry' },
);

/**
 * Harsh brakes per vehicle per 5 minutes: `{ harshBrakes }`, only for windows that had any.
 *
 * The filter comes after `withWatermarks` on purpose: event time then advances with every
 * reading, not only with the rare harsh ones, so windows close on time.
 *
 * @example { "key": { "vehicleId": "veh-00007" }, "windowStart": …, "windowEnd": …, "harshBrakes": 2 }
 * @see telemetryDriving
 */
export const telemetryBraking = definePipeline(
  'telemetry-braking',
  (s) =>
    s
      .parseJson<Reading>()
      .withWatermarks(WATERMARKS)
      .filter((r) => r.harshBraking)
      .keyBy('vehicleId')
      .window({ assign: tumbling('5m'), aggregate: { harshBrakes: count() }, allowedLateness: ALLOWED_LATENESS }),
  { source: 'generator:telemetry' },
);

export default telemetryDriving;
