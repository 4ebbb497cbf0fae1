/**
 * Load cases as data: a folder `test/load/cases/<name>/` whose `case.json` holds the load (rates,
 * step duration), the generator settings, the pipeline and the resource budget, so that a run is
 * reproducible from its folder (`sluice loadtest --case DIR --target URL`).
 *
 * @example
 * {
 *   "description": "clickstream page views at two rates",
 *   "load": { "rate": [500, 1000], "duration": "3s", "targetRate": 1000 },
 *   "generator": { "workload": "clickstream", "seed": 7, "recordSize": 512, "key": "page" },
 *   "pipeline": { "run": "clickstream" },
 *   "budget": { "p99LatencyMs": 2000, "cpuCores": 1.5, "rssMb": 1024 }
 * }
 * @module
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import { WORKLOADS, type Workload } from '../ingest/generator/index.js';
import type { Budget } from './report.js';

/** Flags of `sluice aggregate`, as a case's pipeline may give them. */
export interface AggregateSpec {
  readonly key: string;
  readonly time: string;
  readonly window: string;
  readonly agg?: string | undefined;
  readonly name?: string | undefined;
  readonly maxOutOfOrderness?: string | undefined;
  readonly allowedLateness?: string | undefined;
}

/** The pipeline of a case: a built-in pipeline or a module (path relative to the case folder), or aggregate flags. */
export type PipelineSpec = { readonly run: string } | { readonly aggregate: AggregateSpec };

/** A load case, read and checked. */
export interface LoadCase {
  readonly name: string;
  readonly dir: string;
  readonly description: string;
  /** `aggregate`: KPL-aggregate the events when the target is a Kinesis stream (undefined: not said). */
  readonly load: { readonly rates: readonly number[]; readonly duration: string; readonly targetRate: number | undefined; readonly aggregate: boolean | undefined };
  readonly generator: { readonly workload: Workload; readonly seed: number; readonly recordSize: number; readonly key: string | undefined };
  readonly pipeline: PipelineSpec | undefined;
  readonly budget: Budget | null;
}

/**
 * Reads `DIR/case.json`; every mistake is a one-line `UserError` naming `--case` and the field.
 *
 * @example const c = await readLoadCase('test/load/cases/clickstream-smoke'); c.load.rates // [500, 1000]
 */
export async function readLoadCase(dir: string): Promise<LoadCase> {
  const file = join(dir, 'case.json');
  const where = `--case '${dir}'`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `${where}: cannot read ${file}: ${messageOf(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `${where}: ${file} is not JSON: ${messageOf(err)}`);
  }
  return checkLoadCase(data, resolve(dir), where);
}

/**
 * Checks a parsed `case.json`.
 *
 * @example checkLoadCase({ load: { rate: [100], duration: '2s' }, generator: { workload: 'telemetry' } }, '/cases/x', '--case x')
 */
export function checkLoadCase(data: unknown, dir: string, where: string): LoadCase {
  const fail = (why: string): never => {
    throw new UserError(ErrorCode.BAD_OPTION, `${where}: ${why}`);
  };
  const obj = (value: unknown, path: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`'${path}' must be an object`);
    return value as Record<string, unknown>;
  };
  const known = (value: Record<string, unknown>, path: string, fields: readonly string[]): void => {
    for (const field of Object.keys(value)) if (!fields.includes(field)) fail(`unknown field '${path}${field}'; ${path === '' ? 'a case has' : `'${path.slice(0, -1)}' has`} ${fields.join(', ')}`);
  };
  const str = (value: unknown, path: string): string => {
    if (typeof value !== 'string' || value === '') fail(`'${path}' must be a non-empty string`);
    return value as string;
  };
  const num = (value: unknown, path: string, min: number, integer = false): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
      fail(`'${path}' must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got ${JSON.stringify(value)}`);
    }
    return value as number;
  };
  const positive = (value: unknown, path: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`'${path}' must be a number > 0, got ${JSON.stringify(value)}`);
    return value as number;
  };
  const root = obj(data, '(case.json)');
  known(root, '', ['description', 'load', 'generator', 'pipeline', 'budget']);
  const load = obj(root['load'], 'load');
  known(load, 'load.', ['rate', 'duration', 'targetRate', 'aggregate']);
  if (load['aggregate'] !== undefined && typeof load['aggregate'] !== 'boolean') fail(`'load.aggregate' must be true or false, got ${JSON.stringify(load['aggregate'])}`);
  const rateValue = load['rate'];
  const rates = (Array.isArray(rateValue) ? rateValue : [rateValue]).map((r, i) => positive(r, Array.isArray(rateValue) ? `load.rate[${i}]` : 'load.rate'));
  if (rates.length === 0) fail(`'load.rate' must list at least one rate`);
  const generator = obj(root['generator'], 'generator');
  known(generator, 'generator.', ['workload', 'seed', 'recordSize', 'key']);
  const workload = str(generator['workload'], 'generator.workload');
  if (!(WORKLOADS as readonly string[]).includes(workload)) fail(`'generator.workload' must be ${WORKLOADS.join(' or ')}, got '${workload}'`);
  let pipeline: PipelineSpec | undefined;
  if (root['pipeline'] !== undefined) {
    const p = obj(root['pipeline'], 'pipeline');
    known(p, 'pipeline.', ['run', 'aggregate']);
    if ((p['run'] === undefined) === (p['aggregate'] === undefined)) fail(`'pipeline' must have either 'run' (a built-in pipeline or a module file) or 'aggregate' (sluice aggregate's flags)`);
    if (p['run'] !== undefined) {
      const run = str(p['run'], 'pipeline.run');
      // a module path is relative to the case folder; a bare name is a built-in pipeline
      pipeline = { run: /[/\\]|\.[cm]?[jt]s$/.test(run) ? resolve(dir, run) : run };
    } else {
      const a = obj(p['aggregate'], 'pipeline.aggregate');
      known(a, 'pipeline.aggregate.', ['key', 'time', 'window', 'agg', 'name', 'maxOutOfOrderness', 'allowedLateness']);
      const opt = (field: string): string | undefined => (a[field] === undefined ? undefined : str(a[field], `pipeline.aggregate.${field}`));
      pipeline = {
        aggregate: {
          key: str(a['key'], 'pipeline.aggregate.key'),
          time: str(a['time'], 'pipeline.aggregate.time'),
          window: str(a['window'], 'pipeline.aggregate.window'),
          agg: opt('agg'),
          name: opt('name'),
          maxOutOfOrderness: opt('maxOutOfOrderness'),
          allowedLateness: opt('allowedLateness'),
        },
      };
    }
  }
  let budget: Budget | null = null;
  if (root['budget'] !== undefined) {
    const b = obj(root['budget'], 'budget');
    known(b, 'budget.', ['p99LatencyMs', 'cpuCores', 'rssMb']);
    const opt = (field: string): number | undefined => (b[field] === undefined ? undefined : num(b[field], `budget.${field}`, 0));
    budget = { p99LatencyMs: opt('p99LatencyMs'), cpuCores: opt('cpuCores'), rssMb: opt('rssMb') };
  }
  return {
    name: basename(dir),
    dir,
    description: root['description'] === undefined ? '' : str(root['description'], 'description'),
    load: {
      rates,
      duration: str(load['duration'], 'load.duration'),
      targetRate: load['targetRate'] === undefined ? undefined : positive(load['targetRate'], 'load.targetRate'),
      aggregate: load['aggregate'] as boolean | undefined,
    },
    generator: {
      workload: workload as Workload,
      seed: generator['seed'] === undefined ? 1 : num(generator['seed'], 'generator.seed', 0, true),
      recordSize: generator['recordSize'] === undefined ? 0 : num(generator['recordSize'], 'generator.recordSize', 0, true),
      key: generator['key'] === undefined ? undefined : str(generator['key'], 'generator.key'),
    },
    pipeline,
    budget,
  };
}
