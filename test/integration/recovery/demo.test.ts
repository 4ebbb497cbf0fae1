/**
 * `sluice demo` (issue 3): the built-in pipelines over generated traffic, checkpointed into
 * `--out`; run again with the same directory, it resumes where it stopped. The prediction
 * pipelines (issue 7) call the model server the demo starts itself, and the summary says how
 * their predictions compare with the generator's ground truth.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, lines, scratch, sluice } from '../cli/cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const PIPELINES = ['clickstream', 'clickstream-sessions', 'clickstream-purchases', 'telemetry', 'telemetry-braking', 'telemetry-anomalies'];
const SUMMARY = /^sluice demo ([\w-]+): (\d+) events in, (\d+) results out, \d+ late, \d+ dead-lettered from \d+ partitions? in [\d.]+ s(.*)$/;
const ANOMALIES = /^sluice demo telemetry-anomalies: precision (\d\.\d\d), recall (\d\.\d\d) over ([\d,]+) windows \(([\d,]+) anomalous\)$/;
// sessions close 30 minutes of event time after their last click: later than a short demo lasts
const PURCHASES = /^sluice demo clickstream-purchases: (no session closed yet \(.*\)|precision (\d\.\d\d|n\/a), recall (\d\.\d\d|n\/a) over [\d,]+ sessions \([\d,]+ converted\))$/;

interface Quality {
  readonly precision: number;
  readonly recall: number;
  readonly windows: number;
  readonly anomalous: number;
}

/** The telemetry-anomalies line: precision and recall of the anomaly predictions. */
function anomalyQuality(stderr: string): Quality {
  const found = lines(stderr).filter((line) => ANOMALIES.test(line));
  expect(found, stderr).toHaveLength(1);
  const m = ANOMALIES.exec(found[0] as string) as RegExpExecArray;
  const count = (text: string | undefined): number => Number((text ?? '').replace(/,/g, ''));
  return { precision: Number(m[1]), recall: Number(m[2]), windows: count(m[3]), anomalous: count(m[4]) };
}

interface PipelineSummary {
  readonly eventsIn: number;
  readonly resultsOut: number;
  readonly rest: string;
}

function summaries(stderr: string): Map<string, PipelineSummary> {
  const out = new Map<string, PipelineSummary>();
  for (const line of lines(stderr)) {
    const m = SUMMARY.exec(line);
    if (m) {
      expect(out.has(m[1] as string), `two summary lines for ${m[1]}`).toBe(false);
      out.set(m[1] as string, { eventsIn: Number(m[2]), resultsOut: Number(m[3]), rest: m[4] as string });
    }
  }
  return out;
}

/** Newest checkpoint id of each pipeline, from the files on disk. */
async function checkpointIds(out: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const pipeline of PIPELINES) {
    const home = join(out, 'checkpoints', pipeline);
    const names = existsSync(home) ? (await readdir(home)).filter((n) => /^checkpoint-\d+\.json$/.test(n)).sort() : [];
    ids.set(pipeline, names.length === 0 ? 0 : Number(/(\d+)/.exec(names.at(-1) as string)?.[1]));
  }
  return ids;
}

/** The result files' lines by pipeline. */
async function resultLines(out: string): Promise<Map<string, string[]>> {
  return new Map(await Promise.all(PIPELINES.map(async (p) => [p, lines(await readFile(join(out, `${p}.jsonl`), 'utf8'))] as const)));
}

describe('sluice demo', () => {
  it('runs all six pipelines for --duration with checkpoints, scores the anomaly predictions, and a second run resumes', async () => {
    const out = join(dir, 'demo');
    // long enough for every vehicle's first minute of event time to close (62 s at 25× speed)
    const args = ['demo', '--duration', '8s', '--out', out, '--rate', '2000'];

    const first = await sluice(args);
    expect(first.code, first.stderr).toBe(0);
    // redirected output: no live table, only the summaries and where the files are
    expect(first.stdout).toBe('');
    const once = summaries(first.stderr);
    expect([...once.keys()].sort(), first.stderr).toEqual([...PIPELINES].sort());
    // a summary per pipeline, one quality line per prediction pipeline, where the files are
    expect(first.errLines).toHaveLength(PIPELINES.length + 3);
    expect(first.errLines.at(-1)).toContain(out);
    expect(first.errLines.filter((line) => PURCHASES.test(line)), first.stderr).toHaveLength(1);
    const quality = anomalyQuality(first.stderr);
    expect(quality.windows).toBeGreaterThan(0);
    expect(quality.anomalous, 'no window had a sensor fault: nothing was scored').toBeGreaterThan(0);
    expect(quality.anomalous).toBeLessThanOrEqual(quality.windows);
    for (const figure of [quality.precision, quality.recall]) {
      expect(figure).toBeGreaterThanOrEqual(0);
      expect(figure).toBeLessThanOrEqual(1);
    }
    // the model measures ~0.99 on both; a loose floor, so a broken pipeline fails and chance does not
    expect(quality.precision).toBeGreaterThanOrEqual(0.5);
    expect(quality.recall).toBeGreaterThanOrEqual(0.5);
    // every window the file holds was scored: the counts are over this run's results
    const scored = lines(await readFile(join(out, 'telemetry-anomalies.jsonl'), 'utf8')).map((line) => JSON.parse(line) as { id: string; anomaly: unknown; anomalyScore: unknown });
    expect(new Set(scored.map((r) => r.id)).size).toBe(quality.windows);
    expect(scored.every((r) => typeof r.anomaly === 'boolean' && typeof r.anomalyScore === 'number')).toBe(true);
    for (const pipeline of PIPELINES) {
      for (const file of [`${pipeline}.jsonl`, `${pipeline}.dead-letters.jsonl`, `${pipeline}.late.jsonl`]) {
        expect(existsSync(join(out, file)), `${file} missing`).toBe(true);
      }
    }
    const ids = await checkpointIds(out);
    for (const pipeline of PIPELINES) {
      const s = once.get(pipeline) as PipelineSummary;
      expect(s.eventsIn, pipeline).toBeGreaterThan(0);
      // stopped by --duration: a graceful stop with a final checkpoint, no resume yet
      expect(s.rest).toMatch(/^, stopped before the end of input, checkpoint (\d+) saved$/);
      expect(ids.get(pipeline), pipeline).toBe(Number(/checkpoint (\d+) saved/.exec(s.rest)?.[1]));
    }
    const resultsOnce = await resultLines(out);
    for (const pipeline of PIPELINES) expect(resultsOnce.get(pipeline)?.length, pipeline).toBe(once.get(pipeline)?.resultsOut);
    // the sliding telemetry windows (10 s slide) fire within seconds of event time
    expect([...once.values()].reduce((n, s) => n + s.resultsOut, 0)).toBeGreaterThan(0);

    const second = await sluice(args);
    expect(second.code, second.stderr).toBe(0);
    const twice = summaries(second.stderr);
    expect([...twice.keys()].sort(), second.stderr).toEqual([...PIPELINES].sort());
    expect(second.errLines).toHaveLength(PIPELINES.length + 3);
    expect(anomalyQuality(second.stderr).windows).toBeGreaterThan(0);
    const resultsTwice = await resultLines(out);
    for (const pipeline of PIPELINES) {
      const s = twice.get(pipeline) as PipelineSummary;
      expect(s.rest, pipeline).toContain(`, resumed from checkpoint ${ids.get(pipeline)}`);
      expect(s.rest, pipeline).toMatch(/checkpoint \d+ saved$/);
      expect(s.eventsIn, pipeline).toBeGreaterThan(0);
      // the first run stopped gracefully, so its checkpoint covers all it wrote: the second run
      // continues the file, and no result appears twice
      const before = resultsOnce.get(pipeline) as string[];
      const after = resultsTwice.get(pipeline) as string[];
      expect(after.slice(0, before.length), pipeline).toEqual(before);
      expect(after.length - before.length, pipeline).toBe(s.resultsOut);
      const identities = after.map((line) => {
        const r = JSON.parse(line) as { id: string; revision: number };
        return `${r.id}#${r.revision}`;
      });
      expect(new Set(identities).size, `${pipeline}: a result emitted twice`).toBe(identities.length);
    }
    const idsAfter = await checkpointIds(out);
    for (const pipeline of PIPELINES) expect(idsAfter.get(pipeline) as number, pipeline).toBeGreaterThan(ids.get(pipeline) as number);
  }, 90_000);
});
