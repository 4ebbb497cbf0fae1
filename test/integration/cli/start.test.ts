/**
 * `sluice start`: the container's entry point runs the pipeline its environment configures, as
 * `sluice run` runs it with the same settings as flags; stops on SIGTERM within the deadline with
 * a final checkpoint; and refuses a bad variable with one line naming it (exit 2).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../deploy/image/production-tree.js';
import { ROOT, ensureBuilt, expectOneLineError, lines, scratch, type CliResult } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

interface Child {
  readonly kill: (signal: NodeJS.Signals) => void;
  readonly stderr: () => string;
  readonly result: Promise<CliResult>;
}

/** `bin/sluice …args` with exactly `env` (plus PATH and HOME): nothing of this process's SLUICE_* leaks in. */
function sluice(args: readonly string[], env: Readonly<Record<string, string>>): Child {
  const child = spawn(join(ROOT, 'bin', 'sluice'), [...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code, stdout, stderr, errLines: lines(stderr), outLines: lines(stdout) });
    });
  });
  return { kill: (signal) => child.kill(signal), stderr: () => Buffer.concat(err).toString('utf8'), result };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);
}

async function until(probe: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return probe();
}

/** Ids of the checkpoints a file store holds for a pipeline. */
function checkpointIds(root: string, pipeline: string): number[] {
  const home = join(root, pipeline);
  if (!existsSync(home)) return [];
  return readdirSync(home)
    .map((f) => /^checkpoint-(\d+)\.json$/.exec(f)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The summary line without its elapsed time, which differs between runs. */
const timeless = (line: string | undefined): string => (line ?? '').replace(/ in \d+\.\d s/, ' in … s');

describe('sluice start', () => {
  it('runs the configured pipeline exactly as sluice run does with the same flags', async () => {
    const source = 'generator:clickstream?events=20000&partitions=2&seed=11';
    const viaRun = join(dir, 'run.jsonl');
    const viaStart = join(dir, 'start.jsonl');
    const run = await sluice(
      ['run', 'clickstream', '--source', source, '--sink', `file:${viaRun}`, '--dead-letter', `file:${join(dir, 'run-dead.jsonl')}`, '--checkpoint', `file:${join(dir, 'run-ck')}`, '--ops-host', '127.0.0.1', '--ops-port', String(await freePort())],
      {},
    ).result;
    const start = await sluice(['start'], {
      SLUICE_PIPELINE: 'clickstream',
      SLUICE_SOURCE: source,
      SLUICE_SINKS: `file:${viaStart}`,
      SLUICE_DEAD_LETTER: `file:${join(dir, 'start-dead.jsonl')}`,
      SLUICE_CHECKPOINT: `file:${join(dir, 'start-ck')}`,
      SLUICE_OPS_HOST: '127.0.0.1',
      SLUICE_OPS_PORT: String(await freePort()),
    }).result;
    expect(run.code, run.stderr).toBe(0);
    expect(start.code, start.stderr).toBe(0);
    const results = readFileSync(viaStart, 'utf8');
    expect(lines(results).length).toBeGreaterThan(100);
    expect(results).toBe(readFileSync(viaRun, 'utf8'));
    expect(timeless(start.errLines.at(-1))).toBe(timeless(run.errLines.at(-1)));
    expect(checkpointIds(join(dir, 'start-ck'), 'clickstream')).toEqual(checkpointIds(join(dir, 'run-ck'), 'clickstream'));
  }, 60_000);

  it('answers /healthz on SLUICE_OPS_PORT, and on SIGTERM exits 0 within the deadline with a final checkpoint it resumes from', async () => {
    const port = await freePort();
    const checkpoints = join(dir, 'sigterm-ck');
    const env = {
      SLUICE_PIPELINE: 'telemetry',
      SLUICE_SOURCE: 'generator:telemetry?rate=4000&partitions=2&seed=3',
      SLUICE_SINKS: `file:${join(dir, 'sigterm.jsonl')}`,
      SLUICE_DEAD_LETTER: `file:${join(dir, 'sigterm-dead.jsonl')}`,
      SLUICE_CHECKPOINT: `file:${checkpoints}`,
      SLUICE_CHECKPOINT_INTERVAL: '500ms',
      SLUICE_SHUTDOWN_TIMEOUT: '10s',
      SLUICE_OPS_PORT: String(port),
      SLUICE_OPS_HOST: '127.0.0.1',
    };
    const first = sluice(['start'], env);
    try {
      expect(await until(() => checkpointIds(checkpoints, 'telemetry').length > 0, 30_000), first.stderr()).toBe(true);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      first.kill('SIGTERM');
      const result = await within(first.result, 10_000 + 5_000);
      expect(result, `still running 15 s after SIGTERM with SLUICE_SHUTDOWN_TIMEOUT 10s:\n${first.stderr()}`).toBeDefined();
      expect(result?.code, result?.stderr).toBe(0);
      const summary = result?.errLines.at(-1) ?? '';
      expect(summary).toMatch(/^sluice: \d+ events in, \d+ results out, .*, stopped before the end of input, checkpoint \d+ saved$/);
      const saved = Number(/checkpoint (\d+) saved$/.exec(summary)?.[1]);
      expect(checkpointIds(checkpoints, 'telemetry').at(-1)).toBe(saved);

      // the same environment again resumes from that final checkpoint
      const second = sluice(['start'], { ...env, SLUICE_OPS_PORT: String(await freePort()) });
      expect(await until(() => (checkpointIds(checkpoints, 'telemetry').at(-1) ?? 0) > saved, 30_000), second.stderr()).toBe(true);
      second.kill('SIGTERM');
      const again = await within(second.result, 15_000);
      expect(again?.code, again?.stderr).toBe(0);
      expect(again?.errLines.at(-1)).toContain(`resumed from checkpoint ${saved}`);
    } finally {
      first.kill('SIGKILL');
    }
  }, 90_000);

  it.each([
    [{}, 'sluice: SLUICE_PIPELINE: not set; name a built-in pipeline (clickstream, telemetry, …) or the path of a pipeline module in the image'],
    [{ SLUICE_PIPELINE: 'clickstream', SLUICE_SHUTDOWN_TIMEOUT: 'soon' }, "sluice: SLUICE_SHUTDOWN_TIMEOUT 'soon' is not a duration; use a number with a unit: ms, s, m, h or d (for example 30s, 5m, 1h30m)"],
    [{ SLUICE_PIPELINE: 'clickstream', SLUICE_SINK: 'file:x.jsonl' }, 'sluice: SLUICE_SINK: unknown variable; did you mean SLUICE_SINKS?'],
    // checked by the generator itself, named after the variable
    [{ SLUICE_PIPELINE: 'clickstream', SLUICE_SOURCE: 'generator:clickstream?speed=3' }, /^sluice: SLUICE_SOURCE 'generator:clickstream\?speed=3': unknown parameter 'speed'; use /],
    [{ SLUICE_PIPELINE: 'no-such-pipeline' }, /^sluice: SLUICE_PIPELINE: cannot read pipeline module 'no-such-pipeline': no such file \(built-in pipelines: clickstream, /],
    [{ SLUICE_PIPELINE: 'clickstream', SLUICE_SOURCE: 'kinesis://telemetry?coordinator=kcl' }, /^sluice: SLUICE_SOURCE 'kinesis:\/\/telemetry\?coordinator=kcl': coordinator=kcl needs the application name that names its lease table: add &app=NAME$/],
  ])('refuses %j before opening anything: one line, exit 2', async (env, message) => {
    const result = await sluice(['start'], env).result;
    const line = expectOneLineError(result, 2);
    if (typeof message === 'string') expect(line).toBe(message);
    else expect(line).toMatch(message);
  });

  it('never prints a secret, even a wrong one', async () => {
    const secret = 'correct-horse-battery-staple';
    const result = await sluice(['start'], { SLUICE_PIPELINE: 'clickstream', SLUICE_KAFKA_PASSWORD: `{"password":"${secret}"}` }).result;
    const line = expectOneLineError(result, 2);
    expect(line).toMatch(/^sluice: SLUICE_KAFKA_PASSWORD holds a whole JSON secret \(value not shown\)/);
    expect(result.stderr + result.stdout).not.toContain(secret);
  });
});
