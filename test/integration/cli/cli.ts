import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';

/** The repository root: the CLI runs from here, as `bin/sluice …`. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The suite's command builds before vitest runs; a bare `npx vitest` on a fresh clone has no
 * dist/ yet, so build it once rather than fail every test with "not built yet".
 */
export function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure.mjs')], { cwd: ROOT, stdio: 'inherit' });
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr split into lines, without the final newline's empty tail. */
  readonly errLines: string[];
  /** stdout split into lines, without the final newline's empty tail. */
  readonly outLines: string[];
}

/** Runs `bin/sluice ...args` from the repository root and collects its output. */
export function sluice(args: readonly string[], options: { respectFileModes?: boolean; cwd?: string; env?: Readonly<Record<string, string>> } = {}): Promise<CliResult> {
  const bin = join(ROOT, 'bin', 'sluice');
  // Root reads files whatever their mode. Without the two capabilities that let it, root obeys
  // file modes like anyone else, while the repository (owned by root) stays readable.
  const asRoot = options.respectFileModes === true && process.getuid?.() === 0;
  const [command, argv] = asRoot ? ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', bin, ...args]] : [bin, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code, stdout, stderr, errLines: lines(stderr), outLines: lines(stdout) });
    });
  });
}

export function lines(text: string): string[] {
  if (text === '') return [];
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * The contract for a mistake the user can fix: non-zero exit (2 for usage), exactly one line on
 * stderr that starts with `sluice:`, and no stack trace. Returns that line.
 */
export function expectOneLineError(result: CliResult, exitCode: number): string {
  expect(result.errLines, `stderr was:\n${result.stderr}`).toHaveLength(1);
  const [line] = result.errLines as [string];
  expect(line).toMatch(/^sluice: /);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain('internal error');
  expect(result.code).toBe(exitCode);
  return line;
}

/** A scratch directory, removed by `cleanup`. */
export async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes records (objects are JSON-encoded, strings written as they are) as JSON Lines. */
export async function writeJsonl(path: string, records: readonly unknown[], options: { gzip?: boolean } = {}): Promise<string> {
  const text = records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  await writeFile(path, options.gzip ? gzipSync(text) : text);
  return path;
}

export async function readJsonl<T = Record<string, unknown>>(path: string): Promise<T[]> {
  return lines(await readFile(path, 'utf8')).map((line) => JSON.parse(line) as T);
}

/** Parses stdout as JSON Lines. */
export function results<T = Record<string, unknown>>(result: CliResult): T[] {
  return result.outLines.map((line) => JSON.parse(line) as T);
}

export interface Summary {
  readonly eventsIn: number;
  readonly resultsOut: number;
  readonly late: number;
  readonly deadLettered: number;
}

/** Reads the final stderr summary line: `N events in, M results out, L late, D dead-lettered`. */
export function summaryOf(result: CliResult): Summary {
  const last = result.errLines[result.errLines.length - 1] ?? '';
  const m = /^sluice: (\d+) events in, (\d+) results out, (\d+) late, (\d+) dead-lettered\b/.exec(last);
  if (!m) throw new Error(`no summary line at the end of stderr:\n${result.stderr}`);
  return { eventsIn: Number(m[1]), resultsOut: Number(m[2]), late: Number(m[3]), deadLettered: Number(m[4]) };
}

/** Makes `path` unreadable, for a CLI started with `respectFileModes`. */
export async function lockFile(path: string): Promise<void> {
  await chmod(path, 0o000);
}

