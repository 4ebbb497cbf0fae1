/**
 * One OpenSearch node: a per-run folder (config copy, data, logs, temp) owned by the user the node
 * runs as, the process started through `bin/opensearch` on a local JDK, and a `stop()` that ends
 * it and removes the folder. The node's output goes to a file, never to our stdout or stderr.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { freshRunDir } from '../common/files.js';
import { fileTail, launch, stopAndRemove, whenReady } from '../common/process.js';
import { claimLoopbackPort } from '../common/service.js';
import type { OpenSearchNode, StartOpenSearchOptions } from './index.js';
import { ensureOpenSearch, OPENSEARCH_VERSION } from './install.js';
import { findJavaHome } from './java.js';
import { waitForHealth } from './service.js';
import { asUser, canRead, chownTree, unprivilegedUser } from './user.js';

/** Two cores start a node in 10–40 s; the first start after boot reads 60 MB of jars cold. */
const READY_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 20_000;
const TEMP_PREFIX = 'sluice-opensearch-';
/** A test node's heap: the distribution's 1 GB, times several test files, is more than CI has. */
const HEAP_OPTIONS = '-Xms256m -Xmx512m';
const CLUSTER_NAME = 'sluice-dev';

/**
 * Starts a node; see {@link startOpenSearch} for the contract.
 *
 * @example const node = await startNode({ cacheDir: '.cache/opensearch', log: () => undefined })
 */
export async function startNode(options: StartOpenSearchOptions & { cacheDir: string; log: (line: string) => void }): Promise<OpenSearchNode> {
  const extra = extraSettings(options.settings ?? {});
  const javaHome = await findJavaHome();
  const installed = await ensureOpenSearch(options);
  // the requested port must be free (a clear error beats a node dying on bind)
  const port = await claimLoopbackPort(options.port, { what: 'OpenSearch' });
  const transportPort = await claimLoopbackPort(undefined, { what: 'OpenSearch', taken: [port] });
  const user = await unprivilegedUser(options.log);

  const dir = await freshRunDir(TEMP_PREFIX);
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
    const env = {
      ...process.env,
      HOME: dir,
      OPENSEARCH_JAVA_HOME: javaHome,
      OPENSEARCH_JAVA_OPTS: HEAP_OPTIONS,
      OPENSEARCH_PATH_CONF: join(dir, 'config'),
      // saves the launcher a JVM start to make one
      OPENSEARCH_TMPDIR: join(dir, 'tmp'),
    };
    const node = launch({ name: 'OpenSearch', command, args, output: logFile, stopGraceMs: STOP_GRACE_MS, cwd: dir, env });
    await whenReady(node, (signal) => waitForHealth(url, { timeoutMs: READY_TIMEOUT_MS, signal }), { name: 'the OpenSearch log', tail: () => fileTail(logFile) });

    return {
      url,
      port,
      workDir: dir,
      logFile,
      stop: stopAndRemove(node, dir),
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
