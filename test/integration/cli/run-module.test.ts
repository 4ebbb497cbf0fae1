import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, results, ROOT, scratch, sluice, summaryOf, writeJsonl } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const EXAMPLE = 'examples/page-views.ts';

interface PageViews {
  readonly id: string;
  readonly key: { page: string };
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
  readonly views: number;
  readonly p95_dwell_ms: number | null;
}

describe('sluice run', () => {
  it('runs the example pipeline on its default source and agrees with the same aggregate from flags', async () => {
    const [run, flags] = await Promise.all([
      sluice(['run', EXAMPLE]),
      sluice([
        'aggregate',
        '--source',
        'file:samples/clickstream.jsonl.gz',
        '--key',
        'page',
        '--time',
        'ts',
        '--window',
        'tumbling:1m',
        '--agg',
        'count,p95:dwellMs',
        '--max-out-of-orderness',
        '5s',
      ]),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(flags.code, flags.stderr).toBe(0);
    expect(run.errLines).toHaveLength(1);

    const views = results<PageViews>(run);
    expect(views.length).toBeGreaterThan(0);
    for (const line of run.outLines) {
      expect(Object.keys(JSON.parse(line) as object)).toEqual(['id', 'key', 'windowStart', 'windowEnd', 'revision', 'views', 'p95_dwell_ms']);
    }
    // the example filters the account pages out
    expect(views.filter((v) => v.key.page === '/account')).toEqual([]);

    const sample = gunzipSync(await readFile(join(ROOT, 'samples', 'clickstream.jsonl.gz'))).toString('utf8').trim().split('\n');
    const accountViews = sample.filter((line) => (JSON.parse(line) as { page: string }).page === '/account').length;
    expect(accountViews).toBeGreaterThan(0);
    const summary = summaryOf(run);
    expect(summary).toMatchObject({ eventsIn: sample.length, late: 0, deadLettered: 0, resultsOut: views.length });
    expect(views.reduce((n, v) => n + v.views, 0)).toBe(sample.length - accountViews);

    // every other page: the same counts and percentiles as `sluice aggregate` computes
    const fromFlags = results<{ key: { page: string }; windowStart: number; count: number; p95_dwellMs: number | null }>(flags).filter((r) => r.key.page !== '/account');
    expect(views.map((v) => [v.key.page, v.windowStart, v.views, v.p95_dwell_ms])).toEqual(fromFlags.map((r) => [r.key.page, r.windowStart, r.count, r.p95_dwellMs]));
  });

  it('reads another source when --source is given', async () => {
    const input = await writeJsonl(join(dir, 'clicks.jsonl'), [
      { ts: '2026-01-01T00:00:01Z', userId: 'u1', page: '/', dwellMs: 100 },
      { ts: '2026-01-01T00:00:02Z', userId: 'u2', page: '/', dwellMs: 300 },
      { ts: '2026-01-01T00:00:03Z', userId: 'u2', page: '/account', dwellMs: 300 },
    ]);
    const result = await sluice(['run', EXAMPLE, '--source', `file:${input}`]);
    expect(result.code, result.stderr).toBe(0);
    const start = Date.UTC(2026, 0, 1);
    expect(results<PageViews>(result).map(({ id: _id, p95_dwell_ms: _p, ...rest }) => rest)).toEqual([
      { key: { page: '/' }, windowStart: start, windowEnd: start + 60_000, revision: 0, views: 2 },
    ]);
    expect(summaryOf(result)).toEqual({ eventsIn: 3, resultsOut: 1, late: 0, deadLettered: 0 });
  });

  it.each([
    ['inside an ES module package ("type": "module")', true],
    ['in a project without "type": "module", where TypeScript compiles to CommonJS', false],
  ])('runs a module that imports sluice by name %s', async (_where, esm) => {
    const project = join(dir, esm ? 'esm-project' : 'cjs-project');
    await mkdir(join(project, 'node_modules'), { recursive: true });
    // what `npm install sluice` would give the project
    await symlink(ROOT, join(project, 'node_modules', 'sluice'), 'dir');
    if (esm) await writeFile(join(project, 'package.json'), '{"type":"module"}\n');
    const module = join(project, 'views.ts');
    await writeFile(
      module,
      [
        "import { count, definePipeline, tumbling } from 'sluice';",
        "export default definePipeline('views', (s) =>",
        "  s.parseJson<{ k: string; t: number }>().withWatermarks({ time: 't' }).keyBy('k').window({ assign: tumbling('10s'), aggregate: { n: count() } }),",
        ');',
        '',
      ].join('\n'),
    );
    const input = await writeJsonl(join(project, 'in.jsonl'), [
      { k: 'a', t: 1000 },
      { k: 'a', t: 2000 },
    ]);
    const result = await sluice(['run', module, '--source', `file:${input}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(results(result).map(({ id: _id, ...rest }) => rest)).toEqual([{ key: { k: 'a' }, windowStart: 0, windowEnd: 10_000, revision: 0, n: 2 }]);
  });

  it('a module that exports no pipeline: one line telling how to export one', async () => {
    const path = join(dir, 'nothing.ts');
    await writeFile(path, 'export const answer = 42;\n');
    const line = expectOneLineError(await sluice(['run', path]), 2);
    expect(line).toContain(`'${path}' does not export a pipeline`);
    expect(line).toContain('export default definePipeline(');
  });

  it('a module with a syntax error: one line naming the module and where the error is, no stack', async () => {
    const path = join(dir, 'broken.ts');
    await writeFile(path, "import { definePipeline } from 'sluice';\nexport default definePipeline('x', (s) => s.parseJson(\n");
    const line = expectOneLineError(await sluice(['run', path]), 2);
    expect(line).toContain(`cannot load pipeline module '${path}'`);
    // the line must say what is wrong and where, not only that something failed
    expect(line).toMatch(/broken\.ts:\d+:\d+/);
  });

  it('a module that throws while loading: one line with its message', async () => {
    const path = join(dir, 'throws.ts');
    await writeFile(path, "throw new Error('no config for this environment');\nexport {};\n");
    const line = expectOneLineError(await sluice(['run', path]), 2);
    expect(line).toBe(`sluice: cannot load pipeline module '${path}': no config for this environment`);
  });

  it('a missing module path', async () => {
    const path = join(dir, 'no-such-pipeline.ts');
    const line = expectOneLineError(await sluice(['run', path]), 1);
    expect(line).toBe(
      `sluice: cannot read pipeline module '${path}': no such file (built-in pipelines: clickstream, clickstream-sessions, clickstream-purchases, telemetry, telemetry-braking, telemetry-anomalies)`,
    );
  });

  it('a built-in pipeline by name, with a source override', async () => {
    const result = await sluice(['run', 'telemetry-braking', '--source', 'generator:telemetry?events=4000&partitions=2&seed=3']);
    expect(result.code).toBe(0);
    expect(summaryOf(result).eventsIn).toBe(4000);
    expect(results(result).every((r) => typeof r['harshBrakes'] === 'number')).toBe(true);
  });
});
