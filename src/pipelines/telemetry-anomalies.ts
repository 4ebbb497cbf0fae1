/**
 * `telemetry-anomalies`: every vehicle's 1-minute window of telemetry, scored for sensor faults
 * by the `telemetry-anomaly` model (a SageMaker endpoint; locally `sluice dev model-server`).
 *
 * The window computes exactly the features the model was trained on (`TELEMETRY_FEATURES` in
 * `src/dev/model-server/features.ts`), with the built-in aggregates, per vehicle per 1-minute
 * tumbling window: `readings` (count), `meanSpeedKmh` (avg), `maxSpeedKmh` (max),
 * `speedSpikeKmh` (max − p95 of speed), `maxAbsAccelMs2` (max of |accel|) and `harshBrakes`
 * (readings flagged harshBraking). The p95 is the DDSketch percentile, within 1% of the exact
 * "lower" quantile training used; the model is insensitive to a difference that small.
 *
 * `anomalousReadings` counts the readings the generator flagged `anomaly: true`: ground truth,
 * carried along so the predictions can be scored (`sluice demo` reports precision and recall).
 * A real feed has no such flag, and then the field is null.
 *
 * Then `anomalyScore` (the model's probability) and `anomaly` (its decision at the model's
 * threshold). An endpoint that fails never stops the stream: the window goes on with both null
 * and the reason in `predictionError`. Result:
 *
 * ```json
 * {"id":"…","key":{"vehicleId":"veh-00007"},"windowStart":…,"windowEnd":…,"revision":0,"readings":24,"meanSpeedKmh":61.2,"maxSpeedKmh":74.9,"speedSpikeKmh":1.3,"maxAbsAccelMs2":2.41,"harshBrakes":0,"anomalousReadings":0,"anomalyScore":0.0012,"anomaly":false}
 * ```
 *
 * Readings may be 2 s out of order; a window re-fires (and is scored again) for readings up to
 * 30 s after it closed.
 *
 * @module
 */
import type { PipelineDefinition } from '../core/definition.js';
import { TELEMETRY_FEATURES } from '../dev/model-server/features.js';
import { TELEMETRY_ANOMALY } from '../dev/model-server/models.js';
import { avg, count, definePipeline, max, p95, predict, sum, tumbling } from '../index.js';
import { modelEndpoint, withPrediction, type ModelPipelineOptions } from './model-endpoint.js';
import type { Reading } from './telemetry.js';

/** The window's features and ground truth, before the prediction. */
export interface VehicleWindowFeatures {
  readonly readings: number;
  readonly meanSpeedKmh: number;
  readonly maxSpeedKmh: number;
  /** Top speed above the window's 95th percentile: a sensor's speed jump stands out. */
  readonly speedSpikeKmh: number;
  readonly maxAbsAccelMs2: number;
  readonly harshBrakes: number;
  /** Ground truth from the generator; null for a feed without the `anomaly` flag. */
  readonly anomalousReadings: number | null;
}

/** One scored vehicle window, as `telemetry-anomalies` writes it. */
export type VehicleAnomaly = {
  readonly id: string;
  readonly key: { readonly vehicleId: string };
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
} & VehicleWindowFeatures & {
    readonly anomalyScore: number | null;
    readonly anomaly: boolean | null;
    readonly predictionError?: string;
  };

/**
 * Builds the `telemetry-anomalies` pipeline. Each call makes its own predict step (its own
 * concurrency limit, breaker and measurements).
 *
 * @example sluice run telemetry-anomalies   # with SLUICE_MODEL_ENDPOINT_URL=http://127.0.0.1:8080
 * @example telemetryAnomalies({ endpoint: { name: 'telemetry-anomaly', url: server.url } })
 * @see clickstreamPurchases
 */
export function telemetryAnomalies(options: ModelPipelineOptions = {}): PipelineDefinition {
  const endpoint = options.endpoint ?? modelEndpoint(TELEMETRY_ANOMALY);
  return definePipeline(
    'telemetry-anomalies',
    (s) =>
      s
        .parseJson<Reading>()
        .withWatermarks({ time: 'ts', maxOutOfOrderness: '2s' })
        // 0/1 columns to sum, and |accel| to take the max of; a missing anomaly flag stays
        // missing, so a window of unlabelled readings has no ground truth rather than zero
        .map((r) => ({ ...r, absAccelMs2: Math.abs(r.accelMs2), harshBrake: r.harshBraking === true ? 1 : 0, faulty: typeof r.anomaly === 'boolean' ? Number(r.anomaly) : null }))
        .keyBy('vehicleId')
        .window({
          assign: tumbling('1m'),
          aggregate: {
            readings: count(),
            meanSpeedKmh: avg('speedKmh'),
            maxSpeedKmh: max('speedKmh'),
            p95SpeedKmh: p95('speedKmh'),
            maxAbsAccelMs2: max('absAccelMs2'),
            harshBrakes: sum('harshBrake'),
            anomalousReadings: sum('faulty'),
          },
          allowedLateness: '30s',
        })
        .map(({ p95SpeedKmh, maxAbsAccelMs2, harshBrakes, anomalousReadings, ...window }) => ({
          ...window,
          // every window has readings, so the speeds are numbers
          speedSpikeKmh: (window.maxSpeedKmh as number) - (p95SpeedKmh as number),
          maxAbsAccelMs2,
          harshBrakes,
          anomalousReadings,
        }))
        .pipe(
          predict({
            ...options.predict,
            endpoint,
            onFailure: 'pass',
            features: (w) => TELEMETRY_FEATURES.map((f) => w[f] as number),
            merge: (w, answer, error) => withPrediction(w, answer, error, 'anomalyScore', 'anomaly'),
          }),
        ),
    { source: 'generator:telemetry' },
  );
}
