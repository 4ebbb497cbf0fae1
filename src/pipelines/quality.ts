/**
 * How well a prediction pipeline's decisions match the ground truth its results carry, counted
 * as they are written: `sluice demo` adds one as a sink of `telemetry-anomalies` and
 * `clickstream-purchases` and prints precision and recall at the end.
 *
 * @module
 */
import type { Sink } from '../core/connectors.js';

/** One result's decision and truth; null when there was no prediction or no label. */
export interface Judged {
  readonly predicted: boolean | null;
  readonly actual: boolean | null;
}

/** The tallies of {@link PredictionQuality}. */
export interface QualityCounts {
  /** Results (each window once, at its latest revision) with a prediction and a label. */
  readonly scored: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  /** Results that had a label but no prediction (the endpoint failed). */
  readonly unpredicted: number;
  /** Results without a label (a feed without ground truth). */
  readonly unlabelled: number;
}

/**
 * The windows remembered for re-firings. A late re-firing replaces its window's earlier verdict;
 * windows re-fire only within the allowed lateness, so the oldest beyond this many are forgotten
 * and memory stays bounded however long the run.
 */
const REMEMBERED = 100_000;

/**
 * A sink that tallies true and false positives of a binary prediction against ground truth, one
 * verdict per result id (a late re-firing replaces the earlier revision's, a merged session the
 * sessions it supersedes).
 *
 * @example
 * const quality = new PredictionQuality<VehicleAnomaly>('telemetry-anomalies', (r) => ({ predicted: r.anomaly, actual: r.anomalousReadings === null ? null : r.anomalousReadings > 0 }));
 * quality.counts().truePositives
 */
export class PredictionQuality<R extends { readonly id: string; readonly supersedes?: readonly string[] }> implements Sink<R> {
  readonly description: string;
  private readonly verdicts = new Map<string, Judged>();
  private tp = 0;
  private fp = 0;
  private fn = 0;
  private tn = 0;
  private unpredicted = 0;
  private unlabelled = 0;

  constructor(
    name: string,
    private readonly judge: (result: R) => Judged,
  ) {
    this.description = `memory:${name}-quality`;
  }

  async write(records: readonly R[]): Promise<void> {
    for (const record of records) {
      // a session that absorbed others replaces their verdicts too
      for (const id of [record.id, ...(record.supersedes ?? [])]) this.forget(id);
      const verdict = this.judge(record);
      this.tally(verdict, 1);
      this.verdicts.set(record.id, verdict);
      if (this.verdicts.size > REMEMBERED) this.verdicts.delete(this.verdicts.keys().next().value as string);
    }
  }

  async close(): Promise<void> {}

  private forget(id: string): void {
    const before = this.verdicts.get(id);
    if (before === undefined) return;
    this.tally(before, -1);
    this.verdicts.delete(id);
  }

  counts(): QualityCounts {
    return {
      scored: this.tp + this.fp + this.fn + this.tn,
      truePositives: this.tp,
      falsePositives: this.fp,
      falseNegatives: this.fn,
      unpredicted: this.unpredicted,
      unlabelled: this.unlabelled,
    };
  }

  private tally({ predicted, actual }: Judged, by: 1 | -1): void {
    if (actual === null) this.unlabelled += by;
    else if (predicted === null) this.unpredicted += by;
    else if (predicted && actual) this.tp += by;
    else if (predicted) this.fp += by;
    else if (actual) this.fn += by;
    else this.tn += by;
  }
}

/**
 * Precision and recall in one line: `precision 0.98, recall 0.97 over 1,234 windows (56 anomalous)`,
 * `n/a` for a figure without a denominator, and how many results had no prediction, if any.
 *
 * @example qualityLine(counts, { unit: 'windows', positive: 'anomalous' })
 */
export function qualityLine(counts: QualityCounts, words: { readonly unit: string; readonly positive: string }): string {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = counts;
  const ratio = (n: number, d: number): string => (d === 0 ? 'n/a' : (n / d).toFixed(2));
  const figures = `precision ${ratio(tp, tp + fp)}, recall ${ratio(tp, tp + fn)} over ${counts.scored.toLocaleString('en-US')} ${words.unit} (${(tp + fn).toLocaleString('en-US')} ${words.positive})`;
  const missing = counts.unpredicted === 0 ? '' : `; ${counts.unpredicted.toLocaleString('en-US')} without a prediction (endpoint failures)`;
  return figures + missing;
}
