/**
 * One OpenSearch node: a per-run folder (config copy, data, logs, temp) owned by the user the node
 * runs as, the process started through `bin/opensearch` on a local JDK, and a `stop()` that ends
 * it and removes the folder. The node's output goes to a file, never to our stdout or stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { isAlive } from '../kafka/install.js';
import { tail } from '../kafka/tools.js';
import type { OpenSearchNode, StartOpenSearchOptions } from './index.js';
import { ensureOpenSearch, OPENSEARCH_VERSION } from './install.js';
import { findJavaHome } from './java.js';
import { bindLoopbackPort, waitForHealth } from './service.js';
import { asUser, canRead, chownTree, unprivilegedUser } from './user.js';

/** Two cores start a node in 10–40 s; the first start after boot reads 60 MB of jars cold. */
const READY_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 20_000;
const TEMP_PREFIX = 'sluice-opensearch-';
/** A test node's heap: the distribution's 1 GB, times several test files, is more than CI has. */
const HEAP_OPTIONS = '-Xms256m -Xmx512m';
const CLUSTER_NAME = 'sluice-dev';

/** Nodes still running in this process, killed if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a node; see {@link startOpenSearch} for the contract.
 *
 * @example const node = await startNode({ cacheDir: '.cache/opensearch', log: () => undefined })
 */
export async function startNode(options: StartOpenSearchOptions & { cacheDir: string; log: (line: string) => void }): Promise<OpenSearchNode> {
  const extra = extraSettings(options.settings ?? {});
  const javaHome = await findJavaHome();
  const installed = await ensureOpenSearch(options);
  const port = await claimPort(options.port);
  let transportPort = await bindLoopbackPort();
  while (transportPort === port) transportPort = await bindLoopbackPort();
  const user = await unprivilegedUser(options.log);

  await removeOrphanedTempDirs();
  const dir = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  try {
    for (const sub of ['data', 'logs', 'tmp']) await mkdir(join(dir, sub));
    await cp(join(installed, 'config'), join(dir, 'config'), { recursive: true });
    await writeFile(join(dir, 'config', 'jvm.options'), jvmOptions(await readFile(join(installed, 'config', 'jvm.options'), 'utf8'), dir));
    if (user !== undefined) await chownTree(dir, user);
    // a cached install under a private home is out of the node user's reach: it gets its own copy
    let home = installed;
    if (!(await canRead(user, join(installed, 'bin', 'opensearch')))) {
      home = join(dir, 'home');
      await cp(installed, home, { recursive: true, preserveTimestamps: true });
      await rm(join(home, 'config'), { recursive: true, force: true });
      if (user !== undefined) await chownTree(home, user);
    }

    const url = `http://127.0.0.1:${port}`;
    const logFile = join(dir, 'logs', 'console.log');
    const settings = [
      'discovery.type=single-node',
      'network.host=127.0.0.1',
      `http.port=${port}`,
      `transport.port=${transportPort}`,
      `cluster.name=${CLUSTER_NAME}`,
      `node.name=${CLUSTER_NAME}`,
      `path.data=${join(dir, 'data')}`,
      `path.logs=${join(dir, 'logs')}`,
      // a nearly full disk (CI) must not turn test indexes read-only halfway through a run
      'cluster.routing.allocation.disk.threshold_enabled=false',
      ...extra,
    ];
    const [command, args] = asUser(user, join(home, 'bin', 'opensearch'), settings.map((s) => `-E${s}`));
    options.log(`starting OpenSearch ${OPENSEARCH_VERSION} on ${url}${user === undefined ? '' : ` as ${user.name}`} (log: ${logFile})`);
    const out = openSync(logFile, 'a');
    const child = spawn(command, args, {
      cwd: dir,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        HOME: dir,
        OPENSEARCH_JAVA_HOME: javaHome,
        OPENSEARCH_JAVA_OPTS: HEAP_OPTIONS,
        OPENSEARCH_PATH_CONF: join(dir, 'config'),
        // saves the launcher a JVM start to make one
        OPENSEARCH_TMPDIR: join(dir, 'tmp'),
      },
    });
    closeSync(out);
    running.add(child);
    // 'exit' may never follow a failed spawn ('error'), and stop() must not wait for it then
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
    void exited.then(() => running.delete(child));

    const died = new AbortController();
    child.once('exit', (code, signal) => died.abort(new Error(`OpenSearch exited during start-up (${signal ?? `exit code ${code}`})`)));
    child.once('error', (err) => died.abort(err));
    try {
      await waitForHealth(url, { timeoutMs: READY_TIMEOUT_MS, signal: died.signal });
    } catch (err) {
      await terminate(child, exited);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nlast lines of the OpenSearch log:\n${logTail(logFile)}`, { cause: err });
    }

    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      workDir: dir,
      logFile,
      stop: () => (stopping ??= terminate(child, exited).then(() => rm(dir, { recursive: true, force: true }))),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The distribution's jvm.options for a node in `dir`: its heap lines go (OPENSEARCH_JAVA_OPTS sets
 * the heap), GC logging goes (a test node needs none, and the launcher resolves its path against
 * the install, which the node user may not write), and crash files land in the run folder.
 *
 * @example jvmOptions('-Xms1g\n-XX:HeapDumpPath=data\n', '/tmp/run') // '-XX:HeapDumpPath=/tmp/run/data\n'
 */
export function jvmOptions(original: string, dir: string): string {
  return (
    original
      .split('\n')
      .filter((line) => !/^(\d+(-\d*)?:)?-Xm[sx]/.test(line.trim()) && !/-Xlog:gc|-Xloggc|GCLog|PrintGC|PrintTenuring/.test(line))
      .map((line) => line.replace(/HeapDumpPath=data\b/, `HeapDumpPath=${join(dir, 'data')}`).replace(/ErrorFile=logs\//, `ErrorFile=${join(dir, 'logs')}/`))
      .join('\n')
  );
}

/** Settings owned by the helper: a caller's value for them would break the node's isolation. */
const OWN_SETTINGS = ['discovery.type', 'network.host', 'http.port', 'transport.port', 'cluster.name', 'node.name', 'path.data', 'path.logs'];

function extraSettings(settings: Readonly<Record<string, string>>): string[] {
  return Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z][a-z0-9_.-]*$/.test(name)) throw new UserError(ErrorCode.BAD_OPTION, `'${name}' is not an OpenSearch setting name`);
    if (OWN_SETTINGS.includes(name) || name.startsWith('network.')) throw new UserError(ErrorCode.BAD_OPTION, `the local OpenSearch sets ${name} itself`);
    if (/[\r\n]/.test(value)) throw new UserError(ErrorCode.BAD_OPTION, `the value of OpenSearch setting ${name} spans lines`);
    return `${name}=${value}`;
  });
}

/** SIGTERM (OpenSearch shuts down cleanly), then SIGKILL after {@link STOP_GRACE_MS}. */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** The requested port must be free (a clear error beats a node dying on bind); else a free one. */
async function claimPort(port: number | undefined): Promise<number> {
  if (port === undefined) return bindLoopbackPort();
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UserError(ErrorCode.BAD_OPTION, `OpenSearch port must be a whole number from 1 to 65535, got ${port}`);
  try {
    return await bindLoopbackPort(port);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot run OpenSearch on 127.0.0.1:${port}: ${(err as Error).message}; choose another port`, { cause: err });
  }
}

function logTail(logFile: string): string {
  return existsSync(logFile) ? tail(readFileSync(logFile, 'utf8')) : '  (no log)';
}

/** Run folders of nodes whose Node process died before stop() could remove them. */
async function removeOrphanedTempDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) {
      await rm(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
}
