import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, scratch, sluice } from '../cli/cli.js';
import { BASE_TIME, eventLines, eventsIn, start } from '../recovery/recovery.js';
import { AGGREGATE_FLAGS, lateWindowModule, windowModule } from './backfill.js';

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
const MIN = 60_000;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  module = await windowModule(dir);
  // two files, one gzip: 3 hours of events 2 s apart, a little out of order
  const all = eventLines({ seed: 7, count: 5400, stepMs: 2000, keys: 12, maxDisorderMs: 4000, lateFraction: 0, lateSpreadMs: 0 }).trimEnd().split('\n');
  await writeFile(join(dir, 'in-a.jsonl'), all.slice(0, 2700).join('\n') + '\n');
  await writeFile(join(dir, 'in-b.jsonl.gz'), gzipSync(all.slice(2700).join('\n') + '\n'));
});
afterAll(() => cleanup());

describe('sluice backfill over files', () => {
  it('produces what sluice aggregate and sluice run produce over the same files', async () => {
    const from = `file:${join(dir, 'in-*')}`;
    const agg = await sluice(['aggregate', '--source', from, '--sink', `file:${join(dir, 'agg.jsonl')}`, ...AGGREGATE_FLAGS]);
    expect(agg.code, agg.stderr).toBe(0);
    const run = await sluice(['run', module, '--source', from, '--sink', `file:${join(dir, 'run.jsonl')}`]);
    expect(run.code, run.stderr).toBe(0);
    const backfill = await sluice(['backfill', module, '--from', from, '--sink', `file:${join(dir, 'bf.jsonl')}`]);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(eventsIn(backfill.stderr)).toBe(5400);

    const vsAggregate = await sluice(['diff', join(dir, 'agg.jsonl'), join(dir, 'bf.jsonl')]);
    expect(vsAggregate.code, vsAggregate.stdout).toBe(0);
    expect(vsAggregate.outLines.at(-1)).toBe('result sets match');
    expect(vsAggregate.outLines[0]).toMatch(/^\d+ same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, 0 re-fired late$/);
    const vsRun = await sluice(['diff', join(dir, 'run.jsonl'), join(dir, 'bf.jsonl')]);
    expect(vsRun.code, vsRun.stdout).toBe(0);
  });

  it('sluice diff exits 1 and shows the difference when a result changed', async () => {
    const lines = (await readFile(join(dir, 'bf.jsonl'), 'utf8')).trimEnd().split('\n');
    const changed = JSON.parse(lines[5] as string) as Record<string, unknown>;
    await writeFile(join(dir, 'changed.jsonl'), [...lines.slice(0, 5), JSON.stringify({ ...changed, count: 999 }), ...lines.slice(7)].join('\n') + '\n');
    const result = await sluice(['diff', join(dir, 'bf.jsonl'), join(dir, 'changed.jsonl')]);
    expect(result.code).toBe(1);
    expect(result.outLines[0]).toMatch(/, 1 missing from B, 0 extra in B, 1 different,/);
    expect(result.stdout).toContain(`${String(changed['id'])}: A {"count":${String(changed['count'])}} B {"count":999}`);
  });

  it('records its range so that sluice diff reports edge windows apart', async () => {
    const start = BASE_TIME + 30 * MIN;
    const end = BASE_TIME + 90 * MIN;
    const out = join(dir, 'ranged.jsonl');
    const result = await sluice(['backfill', module, '--from', `file:${join(dir, 'in-*')}`, '--start', String(start), '--end', new Date(end).toISOString(), '--sink', `file:${out}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines[0]).toContain('windows not inside [2026-01-01T00:30:00.000Z, 2026-01-01T01:30:00.000Z)');
    expect(JSON.parse(await readFile(`${out}.range.json`, 'utf8'))).toMatchObject({ start, end });
    // a live run's results, of which the windows outside the range differ: edges, not failures
    const live = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { windowStart: number; count: number });
    const changedOutside = live.map((r) => (r.windowStart < start ? { ...r, count: r.count + 1 } : r));
    await writeFile(join(dir, 'live.jsonl'), changedOutside.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const diff = await sluice(['diff', join(dir, 'live.jsonl'), out]);
    expect(diff.code, diff.stdout).toBe(0);
    const edges = live.filter((r) => r.windowStart < start).length;
    expect(edges).toBeGreaterThan(0);
    expect(diff.outLines[0]).toMatch(new RegExp(`0 different, ${edges} at range edges, 0 re-fired late$`));
    expect(diff.stdout).toContain('range edges (windows straddling the backfill range; expected to differ, not a failure)');
  });

  it('windows a live run re-fired for late events are reported apart from differences', async () => {
    const late = await lateWindowModule(dir, '1m');
    const lines = eventLines({ seed: 9, count: 6000, stepMs: 1000, keys: 6, maxDisorderMs: 4000, lateFraction: 0.02, lateSpreadMs: 20_000 }).trimEnd().split('\n');
    // live saw some events late; the archive the backfill reads has them in order
    await writeFile(join(dir, 'live-in.jsonl'), lines.join('\n') + '\n');
    const ts = (line: string): number => (JSON.parse(line) as { ts: number }).ts;
    await writeFile(join(dir, 'archive.jsonl'), [...lines].sort((x, y) => ts(x) - ts(y)).join('\n') + '\n');
    const live = await sluice(['run', late, '--source', `file:${join(dir, 'live-in.jsonl')}`, '--sink', `file:${join(dir, 'live-late.jsonl')}`]);
    expect(live.code, live.stderr).toBe(0);
    const backfill = await sluice(['backfill', late, '--from', `file:${join(dir, 'archive.jsonl')}`, '--sink', `file:${join(dir, 'bf-late.jsonl')}`]);
    expect(backfill.code, backfill.stderr).toBe(0);
    const diff = await sluice(['diff', join(dir, 'live-late.jsonl'), join(dir, 'bf-late.jsonl')]);
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.outLines[0]).toMatch(/^\d+ same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, [1-9]\d* re-fired late$/);
    expect(diff.stdout).toContain('re-fired late (a side has revision > 0');
  });

  it('--plan lists the files and their sizes without reading', async () => {
    const out = join(dir, 'never.jsonl');
    const result = await sluice(['backfill', module, '--from', `file:${join(dir, 'in-*')}`, '--plan', '--sink', `file:${out}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.outLines).toHaveLength(3);
    expect(result.outLines[0]).toMatch(/in-a\.jsonl\t\d+$/);
    expect(result.outLines[2]).toMatch(/^2 partitions, \d+ bytes$/);
    expect(await readdir(dir)).not.toContain('never.jsonl');
  });

  it('refuses inputs it cannot read with one line', async () => {
    expect(expectOneLineError(await sluice(['backfill', module, '--from', 'kinesis://clicks?start=latest']), 2)).toMatch(/^sluice: --from 'kinesis:\/\/clicks\?start=latest': drop start: /);
    expect(expectOneLineError(await sluice(['backfill', module, '--from', `file:${join(dir, 'none-*.jsonl')}`]), 1)).toMatch(/no files match the glob/);
    expect(expectOneLineError(await sluice(['backfill', module, '--from', `file:${dir}/in-*`, '--start', '2026-01-02', '--end', '2026-01-01']), 2)).toMatch(/--end .* is not after --start/);
  });

  it('an interrupted backfill resumes from its checkpoint and ends with the same output', async () => {
    const big = join(dir, 'big.jsonl');
    await writeFile(big, eventLines({ seed: 11, count: 200_000, stepMs: 100, keys: 40, maxDisorderMs: 4000, lateFraction: 0, lateSpreadMs: 0 }));
    const whole = join(dir, 'whole.jsonl');
    const uninterrupted = await sluice(['backfill', module, '--from', `file:${big}`, '--sink', `file:${whole}`, '--batch-size', '200']);
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    const out = join(dir, 'resumed.jsonl');
    const ck = join(dir, 'ck');
    // stdout is a pipe nobody reads: once it is full the run blocks, after some checkpoints
    const args = ['backfill', module, '--from', `file:${big}`, '--sink', `file:${out}`, '--sink', 'stdout:', '--batch-size', '200', '--checkpoint', `file:${ck}`, '--checkpoint-interval', '2000'];
    const first = start(args, { stdout: 'stuck' });
    let checkpoints: string[] = [];
    while (checkpoints.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      checkpoints = (await readdir(join(ck, 'aggregate')).catch(() => [] as string[])).filter((f) => /^checkpoint-\d+\.json$/.test(f));
    }
    first.child.kill('SIGKILL');
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');

    const second = await sluice(args.map((a) => a));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resumed from checkpoint \d+/);
    expect(eventsIn(second.stderr)).toBeLessThan(200_000);
    expect(await readFile(out, 'utf8')).toBe(await readFile(whole, 'utf8'));
    const diff = await sluice(['diff', whole, out]);
    expect(diff.code).toBe(0);
  });
});
