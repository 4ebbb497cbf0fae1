/**
 * The image's production tree without a Docker engine: the npm package (`npm pack`, with the
 * built dist/) unpacked into a temp folder with its lockfile, `npm ci --omit=dev` there, as the
 * Dockerfile's base stage does; then `bin/sluice start` run from it as the image runs it (as uid
 * 1000 when this runs as root), on a generator source, and stopped with SIGTERM.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../tools/python-tool.js';

/** The unprivileged user of the image (`USER 1000:1000`). */
const IMAGE_UID = 1000;
const SETPRIV = '/usr/bin/setpriv';

/** Packages that must not be in the production tree: dev dependencies. */
export const DEV_ONLY = ['typescript', 'vitest', 'eslint', 'aws-cdk-lib', 'constructs', 'fast-check', 'testcontainers'];

/** A production tree in a temp folder; `remove` deletes it. */
export interface ProductionTree {
  readonly dir: string;
  readonly app: string;
  readonly remove: () => Promise<void>;
}

async function runOrThrow(command: string, args: readonly string[], cwd: string, what: string): Promise<string> {
  const { code, output } = await runCommand(command, args, { cwd });
  if (code !== 0) throw new Error(`${what} failed (exit code ${code}):\n${output.trim().split('\n').slice(-20).join('\n')}`);
  return output;
}

/**
 * Packs the project at `root` and installs its production dependencies beside it, into a new
 * temp folder readable by every user (the app is root's and read-only to the image's user).
 *
 * @example const tree = await buildProductionTree(root); … await tree.remove();
 */
export async function buildProductionTree(root: string): Promise<ProductionTree> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-image-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o755);
    const app = join(dir, 'app');
    await mkdir(app);
    const packed = (await runOrThrow('npm', ['pack', '--silent', '--pack-destination', dir], root, 'npm pack')).trim().split('\n').at(-1) as string;
    await runOrThrow('tar', ['-xzf', join(dir, packed), '-C', app, '--strip-components=1'], dir, 'tar');
    await copyFile(join(root, 'package-lock.json'), join(app, 'package-lock.json'));
    await runOrThrow('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], app, 'npm ci --omit=dev');
    return { dir, app, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** What is wrong with a production tree's contents; empty when it is what the image holds. */
export function treeProblems(app: string): string[] {
  const problems: string[] = [];
  for (const file of ['bin/sluice', 'dist/src/cli/entry.js', 'package.json', 'package-lock.json']) {
    if (!existsSync(join(app, file))) problems.push(`the production tree has no ${file}`);
  }
  for (const name of DEV_ONLY) if (existsSync(join(app, 'node_modules', name))) problems.push(`the production tree holds the dev dependency ${name}`);
  for (const name of ['zod', 'commander', 'rxjs', 'tsx']) if (!existsSync(join(app, 'node_modules', name))) problems.push(`the production tree lacks the dependency ${name}`);
  if (existsSync(join(app, 'test'))) problems.push('the production tree holds the tests');
  const sources = existsSync(join(app, 'src')) ? readdirSync(join(app, 'src'), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')) : [];
  if (sources.length > 0) problems.push(`the production tree holds TypeScript sources (${sources.slice(0, 3).join(', ')}…)`);
  return problems;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A started `bin/sluice`, its output collected. */
export interface Started {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True when it runs as the image's uid 1000 (setpriv), false when as this user. */
  readonly asImageUser: boolean;
}

/**
 * Starts `APP/bin/sluice ARGS` with exactly `env` (plus PATH), in `work`, as uid 1000 when this
 * process is root and setpriv is there (`work` is handed to that user).
 */
export async function startSluice(app: string, args: readonly string[], env: Readonly<Record<string, string>>, work: string): Promise<Started> {
  const asImageUser = process.getuid?.() === 0 && existsSync(SETPRIV);
  if (asImageUser) await chownTree(work, IMAGE_UID);
  const bin = join(app, 'bin', 'sluice');
  const [command, argv] = asImageUser
    ? [SETPRIV, [`--reuid=${IMAGE_UID}`, `--regid=${IMAGE_UID}`, '--clear-groups', '--', bin, ...args]]
    : [bin, [...args]];
  const child = spawn(command, argv, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, ...env } });
  const chunks: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => Buffer.concat(chunks).toString('utf8'), exited, asImageUser };
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid);
    else await chown(path, uid, uid);
  }
}

/** Resolves with the exit once it happens within `ms`, else undefined. */
export function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void exited.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Polls `probe` every 200 ms until it returns true or `ms` passes; resolves whether it did. */
export async function waitFor(probe: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
