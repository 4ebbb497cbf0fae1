import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch } from '../../../src/core/elements.js';
import { CLICKSTREAM_PURCHASE, startModelServer, TELEMETRY_ANOMALY, type ModelServer, type Scored } from '../../../src/dev/model-server/index.js';
import type { Example } from '../../../src/dev/model-server/features.js';
import { examplesFor, metricsOf, PLANS, type Evaluation } from '../../../src/dev/model-server/train.js';
import { predict, type Predicted } from '../../../src/operators/predict.js';
import { envs, harness, values } from '../../unit/operators/harness.js';
import { endpointOf } from './helpers.js';

// The two bundled models, served over HTTP and called through predict, on held-out generator
// data (another seed than training's). Floors sit well below what they measure, so a change that
// breaks a model (features out of order, weights of another model) fails, and noise does not.
//
// Measured with the committed models (held-out seed 202):
//   telemetry-anomaly     8400 windows, 385 anomalous: precision 0.992, recall 0.990, AUC 1.000
//   clickstream-purchase  7706 sessions, 1100 bought:  precision 0.627, recall 0.930, AUC 0.961
// A session's purchase follows its checkout with probability 0.55 in the generator, whatever else
// it did, which caps the purchase model's precision near there.

let server: ModelServer;

beforeAll(async () => {
  server = await startModelServer();
});

afterAll(async () => {
  await server.stop();
});

/** Scores held-out examples through predict and the endpoint; returns the figures. */
async function heldOut(name: string): Promise<{ evaluation: Evaluation; examples: Example[] }> {
  const plan = PLANS.find((p) => p.name === name);
  if (plan === undefined) throw new Error(`no plan for ${name}`);
  const examples = examplesFor(plan, plan.heldOut);
  const h = harness();
  const op = predict({ endpoint: endpointOf(server, name), features: (e: Example) => e.features, batchSize: 500, maxConcurrency: 4 });
  const out = values(await h.run(op, [batch(envs(examples))])) as Predicted<Example, Scored>[];
  if (out.some((e) => e.prediction === null)) throw new Error(`some predictions failed: ${out.find((e) => e.prediction === null)?.predictionError}`);
  const scored = out.map((e) => e.prediction as Scored);
  return {
    examples,
    evaluation: metricsOf(
      scored.map((s) => s.score),
      scored.map((s) => s.predicted_label),
      out.map((e) => e.label),
    ),
  };
}

describe('bundled models on held-out generator data', () => {
  it('telemetry-anomaly finds windows with sensor faults: precision and recall ≥ 0.95, AUC ≥ 0.99', async () => {
    const { evaluation, examples } = await heldOut(TELEMETRY_ANOMALY);
    expect(evaluation.examples).toBe(examples.length);
    expect(evaluation.positives).toBeGreaterThan(200);
    expect(evaluation.precision).toBeGreaterThanOrEqual(0.95);
    expect(evaluation.recall).toBeGreaterThanOrEqual(0.95);
    expect(evaluation.auc).toBeGreaterThanOrEqual(0.99);
  });

  it('clickstream-purchase ranks buying sessions first: AUC ≥ 0.93, recall ≥ 0.85, precision ≥ 0.55 (3.5× the base rate)', async () => {
    const { evaluation } = await heldOut(CLICKSTREAM_PURCHASE);
    expect(evaluation.positives).toBeGreaterThan(500);
    const baseRate = evaluation.positives / evaluation.examples;
    expect(baseRate).toBeLessThan(0.16);
    expect(evaluation.auc).toBeGreaterThanOrEqual(0.93);
    expect(evaluation.recall).toBeGreaterThanOrEqual(0.85);
    expect(evaluation.precision).toBeGreaterThanOrEqual(0.55);
  });
});
