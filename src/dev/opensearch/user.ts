/**
 * OpenSearch refuses to run as root. Run as root (containers, CI), the local node runs as the
 * system user `sluice-opensearch`, created on first use, or as `nobody` where no user can be
 * created; everything it writes lives in a per-run folder that user owns.
 */
import { existsSync } from 'node:fs';
import { chown, lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dyingWithParent, run, SETPRIV } from '../common/process.js';

/** The system user the node runs as when Sluice runs as root. */
export const OPENSEARCH_USER = 'sluice-opensearch';
/** The fallback when no user can be created (no useradd, read-only /etc). */
const FALLBACK_USER = 'nobody';

/** An unprivileged user to run the node as. */
export interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The user to run OpenSearch as: undefined when this process is not root (the node runs as us);
 * else {@link OPENSEARCH_USER}, created with `useradd --system` if missing, or `nobody`.
 *
 * @example const user = await unprivilegedUser(console.error) // { name: 'sluice-opensearch', uid: 998, gid: 998 }
 */
export async function unprivilegedUser(log: (line: string) => void): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookUp(OPENSEARCH_USER);
  if (existing !== undefined) return existing;
  const args = ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', OPENSEARCH_USER];
  const created = await run('useradd', args).catch((err: Error) => ({ code: 1, output: err.message }));
  // another test file may have created it meanwhile (useradd then fails with "already exists")
  const user = await lookUp(OPENSEARCH_USER);
  if (user !== undefined) {
    if (created.code === 0) log(`created the system user ${OPENSEARCH_USER} to run OpenSearch (it refuses to run as root)`);
    return user;
  }
  const nobody = await lookUp(FALLBACK_USER);
  if (nobody === undefined) throw new Error(`OpenSearch refuses to run as root, and neither ${OPENSEARCH_USER} could be created (${created.output.trim()}) nor ${FALLBACK_USER} found`);
  log(`could not create the user ${OPENSEARCH_USER} (${created.output.trim()}); running OpenSearch as ${FALLBACK_USER}`);
  return nobody;
}

async function lookUp(name: string): Promise<RunAs | undefined> {
  const uid = await run('id', ['-u', name]).catch(() => undefined);
  const gid = await run('id', ['-g', name]).catch(() => undefined);
  if (uid?.code !== 0 || gid?.code !== 0) return undefined;
  return { name, uid: Number(uid.output.trim()), gid: Number(gid.output.trim()) };
}

/**
 * The command line that runs `command` as `user` (or as us), dying with this process:
 * `setpriv --pdeathsig TERM` makes the kernel send SIGTERM when Node dies without `stop()` (a
 * killed test worker), so no node is left holding ports. setpriv applies it after switching
 * users, so it survives the switch. Without setpriv, root falls back to runuser (no death signal).
 *
 * @example asUser({ name: 'nobody', uid: 65534, gid: 65534 }, '/opt/os/bin/opensearch', ['-q'])
 * // ['/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--init-groups', '--pdeathsig', 'TERM', '--', '/opt/os/bin/opensearch', '-q']]
 */
export function asUser(user: RunAs | undefined, command: string, args: readonly string[]): [string, string[]] {
  if (user === undefined) return dyingWithParent(command, args);
  if (existsSync(SETPRIV)) return [SETPRIV, [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--pdeathsig', 'TERM', '--', command, ...args]];
  return ['runuser', ['-u', user.name, '--', command, ...args]];
}

/**
 * True when `user` can read `file` (and reach it): the cached install may sit under a private home.
 *
 * @example await canRead(user, '/work/main/.cache/opensearch/2.19.6/opensearch-2.19.6/bin/opensearch') // true
 */
export async function canRead(user: RunAs | undefined, file: string): Promise<boolean> {
  if (user === undefined) return true;
  const [command, args] = asUser(user, 'test', ['-r', file]);
  const result = await run(command, args).catch(() => undefined);
  return result?.code === 0;
}

/**
 * Gives `path` and everything under it to `user`.
 *
 * @example await chownTree('/tmp/sluice-opensearch-123-abc', user)
 */
export async function chownTree(path: string, user: RunAs): Promise<void> {
  await chown(path, user.uid, user.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await lchown(child, user.uid, user.gid);
  }
}
