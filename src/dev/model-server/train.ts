/**
 * Trains the local endpoint's two models from the data generator's labelled events: a logistic
 * regression fitted by Newton's method (IRLS) with a small L2 penalty, on standardized features,
 * with the decision threshold that maximizes F1 on the training set, then scored on held-out
 * events from another seed. Everything is seeded and iterates in a fixed order, so the same
 * plan gives the same JSON byte for byte (`scripts/train-models.mjs` writes it).
 *
 * @module
 */
import { generatorConfig, type GeneratorOptions, type Workload } from '../../ingest/generator/config.js';
import { PartitionGenerator } from '../../ingest/generator/partition.js';
import { CLICKSTREAM_FEATURES, clickstreamExamples, TELEMETRY_FEATURES, telemetryExamples, type ClickLike, type Example, type ReadingLike } from './features.js';
import { CLICKSTREAM_PURCHASE, score, TELEMETRY_ANOMALY, type LogisticModel } from './models.js';

/** Which generated events a model learns from and is judged on. */
export interface DataSpec {
  readonly seed: number;
  /** Events per partition. */
  readonly events: number;
  readonly partitions: number;
  /** Telemetry only: the generator's sensor-fault rate (its default is 0.002). */
  readonly anomalyRate?: number;
}

/** How one model is trained. */
export interface TrainingPlan {
  readonly name: string;
  readonly description: string;
  readonly workload: Workload;
  readonly features: readonly string[];
  readonly train: DataSpec;
  readonly heldOut: DataSpec;
  /** L2 penalty on the (standardized) weights; keeps separable data from diverging. */
  readonly l2: number;
}

/** The two bundled models' plans. Held-out data comes from another seed than training data. */
export const PLANS: readonly TrainingPlan[] = [
  {
    name: TELEMETRY_ANOMALY,
    description: 'Sensor-fault score of one vehicle\'s 1-minute window of telemetry (generator:telemetry); label: the window holds a reading flagged anomaly',
    workload: 'telemetry',
    features: TELEMETRY_FEATURES,
    train: { seed: 101, events: 100_000, partitions: 4 },
    heldOut: { seed: 202, events: 50_000, partitions: 4 },
    l2: 1,
  },
  {
    name: CLICKSTREAM_PURCHASE,
    description: 'Purchase propensity of a web-shop session from its clicks before any purchase (generator:clickstream); label: the session purchased',
    workload: 'clickstream',
    features: CLICKSTREAM_FEATURES,
    train: { seed: 101, events: 100_000, partitions: 2 },
    heldOut: { seed: 202, events: 50_000, partitions: 2 },
    l2: 1,
  },
];

/** How a model did on a set of examples. */
export interface Evaluation {
  readonly examples: number;
  readonly positives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly accuracy: number;
  /** Area under the ROC curve: the chance a random positive scores above a random negative. */
  readonly auc: number;
}

/**
 * Generated events of `workload` as objects, partition after partition, straight from the
 * generator (event order within a partition, out-of-order and late lags included).
 *
 * @example generatedEvents('telemetry', { seed: 1, events: 1000, partitions: 1 })
 */
export function generatedEvents(workload: Workload, spec: DataSpec): Record<string, unknown>[] {
  const options: GeneratorOptions = { workload, seed: spec.seed, partitions: spec.partitions, ...(spec.anomalyRate === undefined ? {} : { anomalyRate: spec.anomalyRate }) };
  const config = generatorConfig(options);
  const out: Record<string, unknown>[] = [];
  for (let p = 0; p < spec.partitions; p++) {
    const generator = PartitionGenerator.start(config, p);
    for (let i = 0; i < spec.events; i++) out.push(JSON.parse(generator.next().line) as Record<string, unknown>);
  }
  return out;
}

/**
 * The labelled examples of a plan's workload for one data spec.
 *
 * @example examplesFor(PLANS[0], PLANS[0].heldOut)
 */
export function examplesFor(plan: Pick<TrainingPlan, 'workload'>, spec: DataSpec): Example[] {
  const events = generatedEvents(plan.workload, spec);
  return plan.workload === 'telemetry' ? telemetryExamples(events as unknown as ReadingLike[]) : clickstreamExamples(events as unknown as ClickLike[]);
}

/**
 * Fits a plan's model and evaluates it on the held-out data.
 *
 * @example const model = trainModel(PLANS[0]); model.evaluation // { precision: …, recall: … }
 */
export function trainModel(plan: TrainingPlan): LogisticModel {
  const train = examplesFor(plan, plan.train);
  const { mean, scale, weights, bias } = fitLogistic(train, plan.l2);
  const draft: LogisticModel = { name: plan.name, description: plan.description, kind: 'logistic-regression', features: plan.features, mean, scale, weights, bias, threshold: 0.5 };
  const threshold = bestThreshold(train.map((e) => score(draft, e.features).score), train.map((e) => e.label));
  const model: LogisticModel = { ...draft, threshold };
  const held = examplesFor(plan, plan.heldOut);
  return {
    ...model,
    training: { workload: plan.workload, data: plan.train, l2: plan.l2, method: 'IRLS (Newton) on standardized features; threshold maximizes training F1', ...rounded(evaluate(model, train)) },
    evaluation: { data: plan.heldOut, ...rounded(evaluate(model, held)) },
  };
}

/**
 * Logistic regression by iteratively reweighted least squares on standardized features, with an
 * L2 penalty on the weights (not the bias). Converges in a few dozen steps at most; results are
 * rounded to 9 significant digits so that the JSON they are written to is stable.
 *
 * @example fitLogistic(examples, 1) // { mean, scale, weights, bias }
 */
export function fitLogistic(examples: readonly Example[], l2: number): { mean: number[]; scale: number[]; weights: number[]; bias: number } {
  if (examples.length === 0) throw new Error('no training examples');
  const d = (examples[0] as Example).features.length;
  const mean = Array.from({ length: d }, (_, j) => examples.reduce((s, e) => s + (e.features[j] as number), 0) / examples.length);
  const scale = mean.map((m, j) => {
    const variance = examples.reduce((s, e) => s + ((e.features[j] as number) - m) ** 2, 0) / examples.length;
    return variance > 0 ? Math.sqrt(variance) : 1;
  });
  // design rows: standardized features, then 1 for the bias
  const rows = examples.map((e) => [...e.features.map((x, j) => (x - (mean[j] as number)) / (scale[j] as number)), 1]);
  const w = new Array<number>(d + 1).fill(0);
  for (let step = 0; step < 100; step++) {
    const gradient = new Array<number>(d + 1).fill(0);
    const hessian = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < rows.length; i++) {
      const x = rows[i] as number[];
      const p = 1 / (1 + Math.exp(-x.reduce((s, xj, j) => s + xj * (w[j] as number), 0)));
      const residual = p - (examples[i] as Example).label;
      const weight = p * (1 - p);
      for (let j = 0; j <= d; j++) {
        gradient[j] = (gradient[j] as number) + residual * (x[j] as number);
        const hj = hessian[j] as number[];
        for (let k = 0; k <= d; k++) hj[k] = (hj[k] as number) + weight * (x[j] as number) * (x[k] as number);
      }
    }
    for (let j = 0; j < d; j++) {
      gradient[j] = (gradient[j] as number) + l2 * (w[j] as number);
      (hessian[j] as number[])[j] = ((hessian[j] as number[])[j] as number) + l2;
    }
    const delta = solve(hessian, gradient);
    for (let j = 0; j <= d; j++) w[j] = (w[j] as number) - (delta[j] as number);
    if (Math.max(...delta.map(Math.abs)) < 1e-10) break;
  }
  const sig = (x: number): number => Number(x.toPrecision(9));
  return { mean: mean.map(sig), scale: scale.map(sig), weights: w.slice(0, d).map(sig), bias: sig(w[d] as number) };
}

/**
 * The score threshold with the best F1 on these examples (the midpoint between two adjacent
 * distinct scores, so it does not sit on a training score), rounded to 6 digits.
 */
export function bestThreshold(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const order = scores.map((s, i) => [s, labels[i] as number] as const).sort((a, b) => b[0] - a[0]);
  const positives = labels.filter((l) => l === 1).length;
  let best = { f1: -1, threshold: 0.5 };
  let tp = 0;
  for (let i = 0; i < order.length; i++) {
    tp += (order[i] as readonly [number, number])[1];
    const next = order[i + 1];
    const here = (order[i] as readonly [number, number])[0];
    if (next !== undefined && next[0] === here) continue;
    const f1 = (2 * tp) / (i + 1 + positives);
    const threshold = next === undefined ? here / 2 : (here + next[0]) / 2;
    if (f1 > best.f1 && threshold > 0 && threshold < 1) best = { f1, threshold };
  }
  return Number(best.threshold.toPrecision(6));
}

/**
 * Precision, recall, F1, accuracy and ROC AUC of a model on labelled examples.
 *
 * @example evaluate(model, heldOut).recall // 0.97
 */
export function evaluate(model: LogisticModel, examples: readonly Example[]): Evaluation {
  const scored = examples.map((e) => ({ ...score(model, e.features), label: e.label }));
  return metricsOf(
    scored.map((s) => s.score),
    scored.map((s) => s.predicted_label),
    scored.map((s) => s.label),
  );
}

/**
 * The figures of {@link Evaluation} from scores, predicted labels and true labels.
 *
 * @example metricsOf([0.9, 0.2], [1, 0], [1, 0]).precision // 1
 */
export function metricsOf(scores: readonly number[], predicted: readonly (0 | 1)[], labels: readonly (0 | 1)[]): Evaluation {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  labels.forEach((label, i) => {
    const guess = predicted[i];
    if (guess === 1 && label === 1) tp++;
    else if (guess === 1) fp++;
    else if (label === 1) fn++;
    else tn++;
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    examples: labels.length,
    positives: tp + fn,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    accuracy: labels.length === 0 ? 0 : (tp + tn) / labels.length,
    auc: rocAuc(scores, labels),
  };
}

/** ROC AUC by the rank-sum (Mann-Whitney) formula, ties sharing their average rank. */
function rocAuc(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const order = scores.map((s, i) => [s, labels[i] as number] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) rankSum += (order[k] as readonly [number, number])[1] * rank;
    i = j + 1;
  }
  const positives = labels.filter((l) => l === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Solves a·x = b (a small dense system) by Gaussian elimination with partial pivoting. */
function solve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs((m[r] as number[])[col] as number) > Math.abs((m[pivot] as number[])[col] as number)) pivot = r;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    const top = m[col] as number[];
    const p = top[col] as number;
    if (p === 0) throw new Error('singular system: a feature is constant or duplicated');
    for (let r = col + 1; r < n; r++) {
      const row = m[r] as number[];
      const f = (row[col] as number) / p;
      if (f !== 0) for (let c = col; c <= n; c++) row[c] = (row[c] as number) - f * (top[c] as number);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = m[r] as number[];
    let s = row[n] as number;
    for (let c = r + 1; c < n; c++) s -= (row[c] as number) * (x[c] as number);
    x[r] = s / (row[r] as number);
  }
  return x;
}

function rounded(e: Evaluation): Evaluation {
  const r = (x: number): number => Math.round(x * 10_000) / 10_000;
  return { examples: e.examples, positives: e.positives, precision: r(e.precision), recall: r(e.recall), f1: r(e.f1), accuracy: r(e.accuracy), auc: r(e.auc) };
}
