/**
 * `sluice demo` (issue 3): the built-in pipelines over generated traffic, checkpointed into
 * `--out`; run again with the same directory, it resumes where it stopped.
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

const PIPELINES = ['clickstream', 'clickstream-sessions', 'telemetry', 'telemetry-braking'];
const SUMMARY = /^sluice demo ([\w-]+): (\d+) events in, (\d+) results out, \d+ late, \d+ dead-lettered from \d+ partitions? in [\d.]+ s(.*)$/;

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
  it('runs all four pipelines for --duration with checkpoints, and a second run resumes', async () => {
    const out = join(dir, 'demo');
    const args = ['demo', '--duration', '3s', '--out', out, '--rate', '2000'];

    const first = await sluice(args);
    expect(first.code, first.stderr).toBe(0);
    // redirected output: no live table, only the summaries and where the files are
    expect(first.stdout).toBe('');
    const once = summaries(first.stderr);
    expect([...once.keys()].sort(), first.stderr).toEqual([...PIPELINES].sort());
    expect(first.errLines).toHaveLength(PIPELINES.length + 1);
    expect(first.errLines.at(-1)).toContain(out);
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
  }, 60_000);
});
