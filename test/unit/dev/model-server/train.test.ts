import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clickstreamExamples, lowerQuantile, telemetryExamples, telemetryFeatures, type ClickLike, type ReadingLike } from '../../../../src/dev/model-server/features.js';
import { checkModel, modelFile, score } from '../../../../src/dev/model-server/models.js';
import { bestThreshold, fitLogistic, metricsOf, PLANS, trainModel } from '../../../../src/dev/model-server/train.js';
import { mulberry32 } from '../../../support/prng.js';

const reading = (over: Partial<ReadingLike> = {}): ReadingLike => ({ ts: '2026-11-01T00:00:10.000Z', vehicleId: 'veh-1', speedKmh: 50, accelMs2: 0.5, harshBraking: false, ...over });
const click = (over: Partial<ClickLike>): ClickLike => ({ ts: '2026-11-01T00:00:00.000Z', sessionId: 's1', page: '/', kind: 'view', referrer: 'direct', device: 'desktop', dwellMs: 1000, ...over });

describe('model features', () => {
  it('describes a telemetry window by count, mean and max speed, speed spike over p95, max |accel| and harsh brakes', () => {
    const speeds = [40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78, 200];
    const window = speeds.map((speedKmh, i) => reading({ speedKmh, accelMs2: i === 3 ? -6 : i === 20 ? 30 : 1, harshBraking: i === 3 }));
    // p95 of 21 values is the value at rank ⌊0.95 × 20⌋ = 19: 78
    expect(lowerQuantile(speeds, 0.95)).toBe(78);
    expect(telemetryFeatures(window)).toEqual([21, speeds.reduce((a, b) => a + b, 0) / 21, 200, 200 - 78, 30, 1]);
  });

  it('groups readings into 1-minute windows per vehicle, labelled by any anomaly in them', () => {
    const examples = telemetryExamples([
      reading({ ts: '2026-11-01T00:00:10.000Z' }),
      reading({ ts: '2026-11-01T00:00:59.999Z', anomaly: true }),
      reading({ ts: '2026-11-01T00:01:00.000Z' }),
      reading({ ts: '2026-11-01T00:00:30.000Z', vehicleId: 'veh-2' }),
    ]);
    expect(examples.map((e) => [e.id, e.features[0], e.label])).toEqual([
      [`veh-1@${Date.UTC(2026, 10, 1)}`, 2, 1],
      [`veh-1@${Date.UTC(2026, 10, 1, 0, 1)}`, 1, 0],
      [`veh-2@${Date.UTC(2026, 10, 1)}`, 1, 0],
    ]);
  });

  it('describes a session by its clicks before the first purchase, labelled by whether it bought', () => {
    const examples = clickstreamExamples([
      click({ eventId: 'gen-0:3', ts: '2026-11-01T00:02:00.000Z', page: '/cart', kind: 'cart', price: 20 }),
      click({ eventId: 'gen-0:1', ts: '2026-11-01T00:00:00.000Z', device: 'mobile', referrer: 'https://www.google.com/' }),
      click({ eventId: 'gen-0:2', ts: '2026-11-01T00:01:00.000Z', page: '/product/p001', dwellMs: 4000 }),
      click({ eventId: 'gen-0:4', ts: '2026-11-01T00:03:00.000Z', page: '/checkout' }),
      click({ eventId: 'gen-0:5', ts: '2026-11-01T00:04:00.000Z', page: '/checkout/confirm', kind: 'purchase', price: 20 }),
      click({ eventId: 'gen-0:6', ts: '2026-11-01T00:05:00.000Z', page: '/' }),
      click({ eventId: 'gen-0:7', sessionId: 's2', referrer: 'https://www.instagram.com/', device: 'tablet' }),
    ]);
    expect(examples).toEqual([
      // pages, product views, cart adds, checkout views, minutes, mean dwell s, cart value, mobile, tablet, search, social
      { id: 's1', features: [4, 1, 1, 1, 3, 1.75, 20, 1, 0, 1, 0], label: 1 },
      { id: 's2', features: [1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1], label: 0 },
    ]);
  });
});

describe('model training', () => {
  it('fits a logistic regression that recovers a known linear rule from noisy data', () => {
    const random = mulberry32(42);
    const examples = Array.from({ length: 4000 }, (_, i) => {
      const x = [random() * 10, random() * 10, random() * 10];
      const logit = 2 * (x[0] as number) - (x[1] as number) - 5;
      return { id: String(i), features: x, label: (random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0) as 0 | 1 };
    });
    const fit = fitLogistic(examples, 0.01);
    // back on the raw scale, the weights are (2, -1, 0) and the intercept -5, within noise
    const raw = fit.weights.map((w, j) => w / (fit.scale[j] as number));
    const intercept = fit.bias - raw.reduce((s, w, j) => s + w * (fit.mean[j] as number), 0);
    expect(raw[0]).toBeCloseTo(2, 0);
    expect(raw[1]).toBeCloseTo(-1, 0);
    expect(Math.abs(raw[2] as number)).toBeLessThan(0.15);
    expect(intercept).toBeCloseTo(-5, 0);
  });

  it('picks the threshold with the best F1, between two scores', () => {
    expect(bestThreshold([0.9, 0.8, 0.7, 0.2, 0.1], [1, 1, 0, 0, 0])).toBe(0.75);
    expect(bestThreshold([0.9, 0.8, 0.7, 0.2, 0.1], [1, 1, 1, 1, 0])).toBe(0.15);
  });

  it('computes precision, recall, F1, accuracy and ROC AUC', () => {
    const m = metricsOf([0.9, 0.8, 0.6, 0.4, 0.3, 0.1], [1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 0]);
    expect(m).toEqual({ examples: 6, positives: 3, precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, accuracy: 4 / 6, auc: 7 / 9 });
    // tied scores share their rank
    expect(metricsOf([0.5, 0.5], [1, 1], [1, 0]).auc).toBe(0.5);
  });

  it('reproduces the committed model files byte for byte (run scripts/train-models.mjs after changing the generator or features)', () => {
    for (const plan of PLANS) {
      const committed = readFileSync(modelFile(plan.name), 'utf8');
      expect(JSON.stringify(trainModel(plan), null, 2) + '\n').toBe(committed);
      const model = checkModel(JSON.parse(committed) as unknown, plan.name);
      expect(model.features).toEqual(plan.features);
      expect(score(model, model.mean).score).toBeGreaterThan(0);
    }
  });

  it('refuses a model file that cannot be scored, naming the problem', () => {
    const good = JSON.parse(readFileSync(modelFile(PLANS[0]?.name ?? ''), 'utf8')) as Record<string, unknown>;
    expect(() => checkModel({ ...good, weights: [1] }, 'x.json')).toThrow('model x.json is unusable: weights must be 6 numbers');
    expect(() => checkModel({ ...good, threshold: 1 }, 'x.json')).toThrow('threshold must be between 0 and 1');
    expect(() => checkModel({ ...good, name: 'has space' }, 'x.json')).toThrow('name must be a SageMaker endpoint name');
  });
});
