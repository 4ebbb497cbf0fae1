/**
 * The local endpoint's models: logistic regressions over standardized features, stored as small
 * JSON files in `models/` (written by `scripts/train-models.mjs`) and scored in plain arithmetic.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A binary classifier as its JSON file holds it. */
export interface LogisticModel {
  /** Also the endpoint name it is served under. */
  readonly name: string;
  readonly description: string;
  readonly kind: 'logistic-regression';
  /** Feature names, in the order rows and `features` arrays give them. */
  readonly features: readonly string[];
  /** Standardization: z = (x − mean) / scale, per feature. */
  readonly mean: readonly number[];
  readonly scale: readonly number[];
  readonly weights: readonly number[];
  readonly bias: number;
  /** Scores at or above it are labelled 1. */
  readonly threshold: number;
  /** How it was trained and how it did on held-out data; informational. */
  readonly training?: unknown;
  readonly evaluation?: unknown;
}

/** One record's answer, as SageMaker's Linear Learner gives it for binary classification. */
export interface Scored {
  readonly score: number;
  readonly predicted_label: 0 | 1;
}

/** The endpoint names of the bundled models. */
export const TELEMETRY_ANOMALY = 'telemetry-anomaly';
export const CLICKSTREAM_PURCHASE = 'clickstream-purchase';

/**
 * The probability a model gives one row (features in model order).
 *
 * @example score(model, [24, 61.2, 74.9, 1.3, 2.41, 0]) // { score: 0.0012, predicted_label: 0 }
 */
export function score(model: LogisticModel, row: readonly number[]): Scored {
  let z = model.bias;
  for (let i = 0; i < model.weights.length; i++) {
    z += ((model.weights[i] as number) * ((row[i] as number) - (model.mean[i] as number))) / (model.scale[i] as number);
  }
  const p = 1 / (1 + Math.exp(-z));
  return { score: p, predicted_label: p >= model.threshold ? 1 : 0 };
}

/**
 * Checks that `value` is a usable model; throws naming the first problem.
 *
 * @example checkModel(JSON.parse(text), 'models/telemetry-anomaly.json')
 */
export function checkModel(value: unknown, where: string): LogisticModel {
  const m = value as Partial<LogisticModel> | null;
  const fail = (why: string): never => {
    throw new Error(`model ${where} is unusable: ${why}`);
  };
  if (m === null || typeof m !== 'object') return fail('not a JSON object');
  if (typeof m.name !== 'string' || !/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(m.name)) fail('name must be a SageMaker endpoint name');
  if (m.kind !== 'logistic-regression') fail(`kind must be 'logistic-regression', got ${String(m.kind)}`);
  const n = Array.isArray(m.features) ? m.features.length : fail('features must be a list of names');
  for (const key of ['mean', 'scale', 'weights'] as const) {
    const list = m[key];
    if (!Array.isArray(list) || list.length !== n || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(`${key} must be ${n} numbers`);
  }
  if (!(m.scale as number[]).every((s) => s > 0)) fail('every scale must be positive');
  if (typeof m.bias !== 'number' || !Number.isFinite(m.bias)) fail('bias must be a number');
  if (typeof m.threshold !== 'number' || !(m.threshold > 0 && m.threshold < 1)) fail('threshold must be between 0 and 1');
  return m as LogisticModel;
}

/** The JSON file of a bundled model. */
export function modelFile(name: string): string {
  // models/ beside this file when run from source; tsc does not copy JSON, so the compiled file
  // (dist/src/dev/model-server/) falls back to the same folder in the source tree
  const here = fileURLToPath(new URL('.', import.meta.url));
  const beside = `${here}models/${name}.json`;
  return existsSync(beside) ? beside : `${here.replace(/([\\/])dist[\\/]src[\\/]/, '$1src$1')}models/${name}.json`;
}

/**
 * The bundled models, by endpoint name: `telemetry-anomaly` and `clickstream-purchase`.
 *
 * @example bundledModels().get('telemetry-anomaly')?.features
 */
export function bundledModels(): Map<string, LogisticModel> {
  const models = new Map<string, LogisticModel>();
  for (const name of [TELEMETRY_ANOMALY, CLICKSTREAM_PURCHASE]) {
    const file = modelFile(name);
    models.set(name, checkModel(JSON.parse(readFileSync(file, 'utf8')) as unknown, file));
  }
  return models;
}
