/**
 * Installs the OpenSearch integ-test distribution from Maven Central into the cache on first use:
 * `<cacheDir>/<version>/opensearch-<version>`, unpacked by Maven's dependency plugin. The zip is a
 * plain OpenSearch without plugins (no security plugin, so plain HTTP) and without a JDK.
 *
 * Maven runs under a lock directory so parallel test files do not install at once; the one that
 * waited finds the `ready` marker and reuses the install. A partial install (Maven killed) never
 * looks complete: it is built beside the final folder and renamed into place.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, UserError } from '../../core/errors.js';
import { isAlive } from '../kafka/install.js';
import { run, runOrThrow, tail } from '../kafka/tools.js';

/**
 * The OpenSearch release the local node runs: the newest 2.19 on Maven Central. 2.x runs on Java
 * 17 (3.x needs 21); its security manager needs a JDK older than 24.
 */
export const OPENSEARCH_VERSION = '2.19.6';
/** Maven coordinates of the distribution: `org.opensearch.distribution.integ-test-zip:opensearch`. */
export const OPENSEARCH_ARTIFACT = `org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip`;
/** Pinned so the install does not depend on whatever plugin version Maven would resolve. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
/** How long a process waits for another one's install before giving up. */
const LOCK_WAIT_MS = 15 * 60_000;
/** A lock directory without an owner pid this old was left by a process killed mid-mkdir. */
const ORPHAN_LOCK_MS = 30_000;

/**
 * Returns the OpenSearch home folder (with `bin/opensearch`), running Maven first if this version
 * was never installed into `cacheDir`. Rejects with a UserError when Maven is missing, and with
 * Maven's output when the download fails.
 *
 * @example const home = await ensureOpenSearch({ cacheDir: '.cache/opensearch', log: () => undefined })
 */
export async function ensureOpenSearch(options: { cacheDir: string; log: (line: string) => void }): Promise<string> {
  const dir = join(options.cacheDir, OPENSEARCH_VERSION);
  const home = join(dir, `opensearch-${OPENSEARCH_VERSION}`);
  if (existsSync(join(dir, 'ready'))) return home;

  await requireMaven();
  await mkdir(options.cacheDir, { recursive: true });
  await withLock(`${dir}.lock`, options.log, async () => {
    if (existsSync(join(dir, 'ready'))) return; // installed by the process we waited for
    options.log(`installing OpenSearch ${OPENSEARCH_VERSION} with Maven into ${dir} (first use only)`);
    const part = `${dir}.part-${process.pid}`;
    await rm(part, { recursive: true, force: true });
    await mkdir(part, { recursive: true });
    try {
      // without a pom, the plugin would leave its markers in ./${project.basedir}/target
      const args = ['-q', '-B', `${DEPENDENCY_PLUGIN}:unpack`, `-Dartifact=${OPENSEARCH_ARTIFACT}`, `-DoutputDirectory=${part}`, `-DmarkersDirectory=${join(part, '.markers')}`];
      await runOrThrow('mvn', args, `Maven could not download OpenSearch ${OPENSEARCH_VERSION} (${OPENSEARCH_ARTIFACT}; Maven Central must be reachable on first use)`);
      if (!existsSync(join(part, `opensearch-${OPENSEARCH_VERSION}`, 'bin', 'opensearch'))) {
        throw new Error(`the OpenSearch ${OPENSEARCH_VERSION} distribution unpacked by Maven has no bin/opensearch (in ${part})`);
      }
      await writeFile(join(part, 'ready'), `${new Date().toISOString()}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(part, dir);
    } finally {
      await rm(part, { recursive: true, force: true });
    }
  });
  await removeOtherInstalls(options.cacheDir, OPENSEARCH_VERSION);
  return home;
}

/** Rejects with a UserError unless `mvn -v` runs; Maven fetches OpenSearch on first use. */
async function requireMaven(): Promise<void> {
  const message =
    'needs Maven (mvn) on the PATH to install the local OpenSearch on first use; install Maven 3.8 or newer ' +
    '(Maven Central must be reachable once)';
  let result;
  try {
    result = await run('mvn', ['-v']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, message, { cause: err });
  }
  if (result.code !== 0) throw new UserError(ErrorCode.BAD_OPTION, `${message}\n'mvn -v' failed:\n${tail(result.output)}`);
}

/** Runs `fn` while holding the lock directory `path`; takes over locks whose owner has died. */
async function withLock(path: string, log: (line: string) => void, fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStale(path)) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!told) log(`waiting for another process that is installing OpenSearch (${path})`);
    told = true;
    if (Date.now() > deadline) throw new Error(`gave up waiting for the OpenSearch install lock ${path}; remove it if no install is running`);
    await sleep(250);
  }
  try {
    await writeFile(join(path, 'pid'), `${process.pid}\n`);
    await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

async function isStale(path: string): Promise<boolean> {
  const owner = Number.parseInt(await readFile(join(path, 'pid'), 'utf8').catch(() => ''), 10);
  if (Number.isNaN(owner)) {
    const created = await stat(path).then((s) => s.mtimeMs, () => Date.now());
    return Date.now() - created > ORPHAN_LOCK_MS;
  }
  return !isAlive(owner);
}

/** Other versions (~60 MB each) are dead weight once this one is installed. */
async function removeOtherInstalls(cacheDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (entry !== keep && /^\d+\.\d+\.\d+$/.test(entry)) await rm(join(cacheDir, entry), { recursive: true, force: true });
  }
}
