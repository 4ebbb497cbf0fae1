/**
 * First-use installs of the local peers (Maven jars, a Python virtualenv, a Debian package):
 * one machine-wide lock per install, so parallel test files do not install at once and the
 * ones that waited reuse the result, and a `ready` marker written last, so a killed install
 * never looks complete.
 *
 * The lock is proper-lockfile's (as the shared checkpoint store's): its owner refreshes it while
 * installing, so a lock left by a killed process goes stale within seconds instead of blocking
 * everyone.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, UserError } from '../../core/errors.js';
import { run, tail, type RunResult } from './process.js';

/** How long a process waits for another one's install (Maven, pip or apt may take minutes). */
const LOCK_WAIT_MS = 15 * 60_000;
/** A lock its owner stopped refreshing this long ago was left by a killed process. */
const STALE_LOCK_MS = 20_000;
const LOCK_RETRY_MS = 500;
/** Written into an install folder once it is complete. */
const READY = 'ready';

/**
 * Names of what is installed, for the lines a waiting process logs and for its error.
 *
 * @example { product: 'Apache Kafka', lock: 'Kafka', log }
 */
export interface InstallLockOptions {
  /** In "waiting for another process that is installing PRODUCT". */
  readonly product: string;
  /** In "gave up waiting for the LOCK install lock". */
  readonly lock: string;
  readonly log: (line: string) => void;
}

/**
 * Runs `fn` holding the install lock `<target>.lock`, waiting up to 15 minutes for another
 * process's install (and logging once that it waits). A lock whose owner was killed goes stale
 * and is taken over.
 *
 * @example await withInstallLock(venvDir, { product: 'moto', lock: 'moto', log }, () => install(venvDir))
 * @see installOnce
 */
export async function withInstallLock<T>(target: string, options: InstallLockOptions, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${target}.lock`;
  const settings = { realpath: false, lockfilePath: lockPath, stale: STALE_LOCK_MS, onCompromised: () => undefined };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, settings);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    options.log(`waiting for another process that is installing ${options.product} (${lockPath})`);
    const retries = { retries: Math.ceil(LOCK_WAIT_MS / LOCK_RETRY_MS), factor: 1, minTimeout: LOCK_RETRY_MS, maxTimeout: LOCK_RETRY_MS };
    release = await lockfile.lock(target, { ...settings, retries }).catch((cause: unknown) => {
      throw new Error(`gave up waiting for the ${options.lock} install lock ${lockPath}; remove it if no install is running`, { cause });
    });
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * True when `dir` holds a complete install made by {@link installOnce}.
 *
 * @example if (isInstalled(dir)) return join(dir, 'jars')
 */
export function isInstalled(dir: string): boolean {
  return existsSync(join(dir, READY));
}

/**
 * Installs into `dir` unless it is installed: under the install lock, logs `announce`, lets
 * `install` fill a fresh folder beside `dir`, marks it ready and renames it into place. A killed
 * install leaves no `ready` marker, so it is never mistaken for a complete one; a process that
 * waited for another's install finds it done and installs nothing.
 *
 * @example await installOnce(dir, { product: 'OpenSearch', lock: 'OpenSearch', log, announce: 'installing OpenSearch…' }, (part) => runOrThrow('mvn', args(part), 'Maven failed'))
 * @see isInstalled
 */
export async function installOnce(dir: string, options: InstallLockOptions & { readonly announce: string }, install: (part: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await withInstallLock(dir, options, async () => {
    if (isInstalled(dir)) return; // installed by the process we waited for
    options.log(options.announce);
    const part = `${dir}.part-${process.pid}`;
    await rm(part, { recursive: true, force: true });
    await mkdir(part, { recursive: true });
    try {
      await install(part);
      await writeFile(join(part, READY), `${new Date().toISOString()}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(part, dir);
    } finally {
      await rm(part, { recursive: true, force: true });
    }
  });
}

/**
 * Removes the installs in `cacheDir` named like `pattern` other than `keep`: earlier versions
 * are dead weight (tens of MB each) once this one is installed.
 *
 * @example await removeOtherInstalls('.cache/opensearch', '2.19.6', /^\d+\.\d+\.\d+$/)
 */
export async function removeOtherInstalls(cacheDir: string, keep: string, pattern: RegExp): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (entry !== keep && pattern.test(entry)) await rm(join(cacheDir, entry), { recursive: true, force: true });
  }
}

/**
 * Rejects with a UserError saying `message` unless `mvn -v` runs; Maven fetches a peer's jars or
 * distribution on first use.
 *
 * @example await requireMaven('needs Maven (mvn) on the PATH to install the local OpenSearch on first use')
 */
export async function requireMaven(message: string): Promise<void> {
  let result: RunResult;
  try {
    result = await run('mvn', ['-v']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, message, { cause: err });
  }
  if (result.code !== 0) throw new UserError(ErrorCode.BAD_OPTION, `${message}\n'mvn -v' failed:\n${tail(result.output)}`);
}
