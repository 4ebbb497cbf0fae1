import { describe, expect, it } from 'vitest';
import { PredictionQuality, qualityLine, type QualityCounts } from '../../../src/pipelines/quality.js';

interface Row {
  readonly id: string;
  readonly predicted: boolean | null;
  readonly actual: boolean | null;
  readonly supersedes?: readonly string[];
}

const row = (id: string, predicted: boolean | null, actual: boolean | null, supersedes?: string[]): Row => ({ id, predicted, actual, ...(supersedes ? { supersedes } : {}) });

describe('PredictionQuality (the demo’s precision and recall)', () => {
  it('counts each result once, at its latest revision, and a merged session instead of the ones it supersedes', async () => {
    const quality = new PredictionQuality<Row>('test', (r) => ({ predicted: r.predicted, actual: r.actual }));
    await quality.write([row('a', true, true), row('b', true, false), row('c', false, true), row('d', false, false), row('e', null, true), row('f', true, null)]);
    expect(quality.counts()).toEqual({ scored: 4, truePositives: 1, falsePositives: 1, falseNegatives: 1, unpredicted: 1, unlabelled: 1 });
    // late re-firings: c is now found, e got its prediction
    await quality.write([row('c', true, true), row('e', false, true)]);
    expect(quality.counts()).toEqual({ scored: 5, truePositives: 2, falsePositives: 1, falseNegatives: 1, unpredicted: 0, unlabelled: 1 });
    // a late event merged sessions a and b into g
    await quality.write([row('g', true, true, ['a', 'b'])]);
    expect(quality.counts()).toEqual({ scored: 4, truePositives: 2, falsePositives: 0, falseNegatives: 1, unpredicted: 0, unlabelled: 1 });
    expect(quality.description).toBe('memory:test-quality');
  });

  it('forgets the oldest results beyond 100,000, so a long run does not grow', async () => {
    const quality = new PredictionQuality<Row>('test', (r) => ({ predicted: r.predicted, actual: r.actual }));
    await quality.write(Array.from({ length: 100_001 }, (_, i) => row(`w${i}`, true, true)));
    // the first one is forgotten: its re-firing counts as a new window
    await quality.write([row('w0', false, true)]);
    expect(quality.counts()).toMatchObject({ scored: 100_002, truePositives: 100_001, falseNegatives: 1 });
    // a recent one is remembered: its re-firing replaces it
    await quality.write([row('w100000', false, true)]);
    expect(quality.counts()).toMatchObject({ scored: 100_002, truePositives: 100_000, falseNegatives: 2 });
  });
});

describe('qualityLine', () => {
  const counts = (c: Partial<QualityCounts>): QualityCounts => ({ scored: 0, truePositives: 0, falsePositives: 0, falseNegatives: 0, unpredicted: 0, unlabelled: 0, ...c });

  it('prints precision and recall with two decimals, the population and its positives', () => {
    expect(qualityLine(counts({ scored: 1234, truePositives: 54, falsePositives: 1, falseNegatives: 2 }), { unit: 'windows', positive: 'anomalous' })).toBe(
      'precision 0.98, recall 0.96 over 1,234 windows (56 anomalous)',
    );
  });

  it('says n/a for a figure without a denominator, and how many results had no prediction', () => {
    expect(qualityLine(counts({ scored: 10, unpredicted: 3 }), { unit: 'sessions', positive: 'converted' })).toBe(
      'precision n/a, recall n/a over 10 sessions (0 converted); 3 without a prediction (endpoint failures)',
    );
  });
});
