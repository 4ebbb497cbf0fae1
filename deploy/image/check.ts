/**
 * `npm run image:check`: what can be known about the image without a Docker engine.
 *
 * 1. hadolint (PyPI's wheel of the real linter, in a venv under .cache/) finds nothing, at its
 *    strictest threshold;
 * 2. the Dockerfile keeps Sluice's invariants (./invariants.ts);
 * 3. the production tree the image holds (npm package + `npm ci --omit=dev`) runs
 *    `sluice start` from its environment, as uid 1000, on a generator source: it checkpoints,
 *    answers the image's HEALTHCHECK on the ops port (when this build's CLI has the operations
 *    server), and on SIGTERM exits 0 within SLUICE_SHUTDOWN_TIMEOUT with a final checkpoint.
 *
 * @module
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HADOLINT, REPO_ROOT, ensurePythonTool, runCommand } from '../tools/python-tool.js';
import { checkDockerfile } from './invariants.js';
import { buildProductionTree, exitWithin, freePort, startSluice, treeProblems, waitFor } from './production-tree.js';

/** The shutdown deadline the check gives Sluice, and how long after it the process must be gone. */
const SHUTDOWN_TIMEOUT = '10s';
const SHUTDOWN_MS = 10_000;
const EXIT_SLACK_MS = 5_000;
const PIPELINE = 'clickstream';

export interface ImageCheckOptions {
  readonly root?: string;
  readonly log?: (line: string) => void;
}

/** Runs every check; resolves with the problems found (empty: the image is as it must be). */
export async function imageCheck(options: ImageCheckOptions = {}): Promise<string[]> {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const problems: string[] = [];
  const step = (ok: boolean, what: string, found: readonly string[] = []): void => {
    log(`image:check: ${ok ? 'ok  ' : 'FAIL'} ${what}`);
    for (const line of found) log(`image:check:        ${line}`);
    problems.push(...found.map((line) => `${what}: ${line}`));
  };

  const dockerfile = join(root, 'Dockerfile');
  const hadolint = await ensurePythonTool(HADOLINT, { log });
  const lint = await runCommand(hadolint, ['--no-color', '--failure-threshold', 'info', dockerfile]);
  step(lint.code === 0, `hadolint ${HADOLINT.requirement.split('==')[1]} (threshold info)`, lint.code === 0 ? [] : lint.output.trim().split('\n'));
  const invariants = checkDockerfile(readFileSync(dockerfile, 'utf8'), root);
  step(invariants.length === 0, 'Dockerfile invariants (multi-stage, Node LTS slim, npm ci --omit=dev, non-root, tini, HEALTHCHECK, no secrets, kcl target)', invariants);

  const tree = await buildProductionTree(root);
  try {
    const contents = treeProblems(tree.app);
    step(contents.length === 0, 'production tree: npm package + npm ci --omit=dev, no dev dependencies', contents);
    await runTree(tree.app, tree.dir, root, step, log);
  } finally {
    await tree.remove();
  }
  return problems;
}

type Step = (ok: boolean, what: string, found?: readonly string[]) => void;

async function runTree(app: string, dir: string, root: string, step: Step, log: (line: string) => void): Promise<void> {
  const help = await runCommand(join(app, 'bin', 'sluice'), ['run', '--help']);
  const hasOps = help.output.includes('--ops-port');
  const work = join(dir, 'work');
  await mkdir(work);
  const port = await freePort();
  const env = {
    SLUICE_PIPELINE: PIPELINE,
    SLUICE_SOURCE: 'generator:clickstream?rate=5000&partitions=2',
    SLUICE_SINKS: `file:${join(work, 'results.jsonl')}`,
    SLUICE_DEAD_LETTER: `file:${join(work, 'dead-letters.jsonl')}`,
    SLUICE_CHECKPOINT: `file:${join(work, 'checkpoints')}`,
    SLUICE_CHECKPOINT_INTERVAL: '1s',
    SLUICE_SHUTDOWN_TIMEOUT: SHUTDOWN_TIMEOUT,
    SLUICE_OPS_PORT: String(port),
    SLUICE_OPS_HOST: '127.0.0.1',
  };
  const checkpoints = join(work, 'checkpoints', PIPELINE);
  const newestCheckpoint = (): number => {
    if (!existsSync(checkpoints)) return 0;
    const ids = readdirSync(checkpoints).map((f) => /^checkpoint-(\d+)\.json$/.exec(f)?.[1]).filter((id): id is string => id !== undefined).map(Number);
    return ids.length === 0 ? 0 : Math.max(...ids);
  };
  const healthcheck = (): Promise<number | null> =>
    runCommand(process.execPath, [join(root, 'deploy', 'image', 'healthcheck.mjs')], { env: { PATH: process.env['PATH'] ?? '', SLUICE_OPS_PORT: String(port), SLUICE_OPS_HOST: '127.0.0.1' } }).then((r) => r.code);

  const sluice = await startSluice(app, ['start'], env, work);
  const before: string[] = [];
  try {
    const running = await waitFor(() => newestCheckpoint() > 0 || sluice.child.exitCode !== null, 30_000);
    if (!running || sluice.child.exitCode !== null) before.push(`sluice start did not checkpoint within 30 s (exit ${sluice.child.exitCode}):\n${sluice.stderr()}`);
    step(before.length === 0, `sluice start from the environment (as ${sluice.asImageUser ? 'uid 1000, the image user' : 'this user'}) reads and checkpoints`, before);
    if (before.length > 0) return;

    if (hasOps) {
      const up = await waitFor(async () => (await healthcheck()) === 0, 15_000);
      step(up, `the image's HEALTHCHECK (deploy/image/healthcheck.mjs) gets 200 from /healthz on SLUICE_OPS_PORT ${port}`, up ? [] : [`no 200 from http://127.0.0.1:${port}/healthz within 15 s`]);
      if (!up) return;
    } else {
      log("image:check: note this build's `sluice run --help` has no --ops-port yet: /healthz is checked once the operations server lands");
    }

    const shutdownStarted = Date.now();
    sluice.child.kill('SIGTERM');
    const exit = await exitWithin(sluice.exited, SHUTDOWN_MS + EXIT_SLACK_MS);
    const stderr = sluice.stderr();
    const found: string[] = [];
    if (exit === undefined) found.push(`still running ${(SHUTDOWN_MS + EXIT_SLACK_MS) / 1000} s after SIGTERM`);
    else if (exit.code !== 0) found.push(`exited with ${exit.code ?? exit.signal} after SIGTERM:\n${stderr}`);
    const summary = stderr.trim().split('\n').at(-1) ?? '';
    const saved = /checkpoint (\d+) saved$/.exec(summary)?.[1];
    if (exit?.code === 0) {
      if (!summary.includes('stopped before the end of input')) found.push(`the summary does not say it stopped on the signal: ${summary}`);
      if (saved === undefined) found.push(`the summary names no checkpoint saved: ${summary}`);
      else if (Number(saved) !== newestCheckpoint()) found.push(`the summary says checkpoint ${saved}, the newest file is ${newestCheckpoint()}`);
      const results = join(work, 'results.jsonl');
      if (!existsSync(results) || statSync(results).size === 0) found.push('no results were written');
    }
    step(found.length === 0, `SIGTERM: exit 0 within --shutdown-timeout ${SHUTDOWN_TIMEOUT} (took ${Date.now() - shutdownStarted} ms) with a final checkpoint (${saved ?? 'none'})`, found);
    if (hasOps && exit !== undefined) {
      const after = await healthcheck();
      step(after !== 0, 'the HEALTHCHECK fails once Sluice is gone', after !== 0 ? [] : ['the health check still passed after the process exited']);
    }
  } finally {
    if (sluice.child.exitCode === null && sluice.child.signalCode === null) {
      sluice.child.kill('SIGKILL');
      await sluice.exited;
    }
  }
}
