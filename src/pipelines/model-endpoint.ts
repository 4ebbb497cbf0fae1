/**
 * Where the built-in prediction pipelines (`telemetry-anomalies`, `clickstream-purchases`) find
 * their models, and what they take from the answers.
 *
 * A pipeline definition never names a port: the runtime API's address comes from
 * `SLUICE_MODEL_ENDPOINT_URL` (e.g. the address `sluice dev model-server` prints). A loopback
 * address gets us-east-1 and dummy credentials, as predict gives any local endpoint; unset, the
 * calls go to the real SageMaker endpoints of those names in the SDK's default region, with the
 * SDK's credential chain.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import type { EndpointOptions } from '../operators/predict.js';
import type { PredictSettings } from '../operators/predict/config.js';

/** The environment variable holding the SageMaker runtime address of the built-in pipelines. */
export const MODEL_ENDPOINT_URL_ENV = 'SLUICE_MODEL_ENDPOINT_URL';

/**
 * Options of the built-in prediction pipelines' factories.
 *
 * @example telemetryAnomalies({ endpoint: { name: 'telemetry-anomaly', url: server.url } })
 */
export interface ModelPipelineOptions {
  /** Where to call the model; default {@link modelEndpoint} for the pipeline's model. */
  readonly endpoint?: EndpointOptions;
  /** Tuning of the predict step (retries, timeout, batch size…); failures always pass on. */
  readonly predict?: Omit<PredictSettings, 'endpoint' | 'onFailure'>;
}

/**
 * Endpoint `name` at the address in `SLUICE_MODEL_ENDPOINT_URL`, or AWS's own when it is unset
 * or empty. A malformed address is a `UserError(BAD_OPTION)` naming the variable.
 *
 * @example modelEndpoint('telemetry-anomaly', { SLUICE_MODEL_ENDPOINT_URL: 'http://127.0.0.1:8080' }) // { name: 'telemetry-anomaly', url: 'http://127.0.0.1:8080' }
 * @example modelEndpoint('telemetry-anomaly', {}) // { name: 'telemetry-anomaly' }
 */
export function modelEndpoint(name: string, env: Readonly<Record<string, string | undefined>> = process.env): EndpointOptions {
  const url = env[MODEL_ENDPOINT_URL_ENV]?.trim();
  if (url === undefined || url === '') return { name };
  if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) {
    throw new UserError(
      ErrorCode.BAD_OPTION,
      `${MODEL_ENDPOINT_URL_ENV} '${url}' must be http(s)://HOST[:PORT], e.g. the address \`sluice dev model-server\` prints; unset it to call SageMaker itself`,
    );
  }
  return { name, url };
}

/** What the pipelines read from one answer: the score and the model's own label. */
export interface BinaryPrediction {
  readonly score: number;
  readonly label: boolean;
}

/**
 * Reads a binary classifier's answer as SageMaker's Linear Learner gives it (`{ score,
 * predicted_label }`, which the local models copy); anything else is a reason to carry instead.
 *
 * @example binaryPrediction({ score: 0.91, predicted_label: 1 }) // { score: 0.91, label: true }
 * @example binaryPrediction(0.91) // 'the endpoint answered 0.91, not { "score": …, "predicted_label": 0|1 }'
 */
export function binaryPrediction(answer: unknown): BinaryPrediction | string {
  const a = answer as { score?: unknown; predicted_label?: unknown } | null;
  if (typeof a === 'object' && a !== null && typeof a.score === 'number' && Number.isFinite(a.score) && (a.predicted_label === 0 || a.predicted_label === 1)) {
    return { score: a.score, label: a.predicted_label === 1 };
  }
  const text = JSON.stringify(answer) ?? String(answer);
  return `the endpoint answered ${text.length > 80 ? `${text.slice(0, 77)}...` : text}, not { "score": …, "predicted_label": 0|1 }`;
}

/**
 * Adds a prediction to a window result as two fields, null (with `predictionError`) when the
 * call failed or the answer was not a score.
 *
 * @example withPrediction(result, answer, undefined, 'anomalyScore', 'anomaly') // { ...result, anomalyScore: 0.97, anomaly: true }
 */
export function withPrediction<T extends object, S extends string, L extends string>(
  value: T,
  answer: unknown,
  error: string | undefined,
  scoreField: S,
  labelField: L,
): T & Record<S, number | null> & Record<L, boolean | null> & { readonly predictionError?: string } {
  const read = error === undefined ? binaryPrediction(answer) : error;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (typeof read === 'string') {
    out[scoreField] = null;
    out[labelField] = null;
    out['predictionError'] = read;
  } else {
    out[scoreField] = read.score;
    out[labelField] = read.label;
  }
  return out as T & Record<S, number | null> & Record<L, boolean | null>;
}
