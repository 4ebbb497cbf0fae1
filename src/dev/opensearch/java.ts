/**
 * Finding a JDK that OpenSearch 2.19 runs on. The integ-test zip bundles none, and the newest JDK
 * on a machine is not necessarily usable: OpenSearch 2.x needs the security manager, which Java 24
 * removed. So the JDKs on offer are tried in order and the first in range wins.
 */
import { existsSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { run } from '../common/process.js';
import { OPENSEARCH_VERSION } from './install.js';

/** Java releases OpenSearch 2.19 runs on: 17 and up (as 2.19's own checks), below 24 (no security manager there). */
export const MIN_JAVA = 17;
export const MAX_JAVA = 23;

/** Where Debian, Ubuntu and Red Hat install JDKs. */
const JVM_DIRS = ['/usr/lib/jvm'];

/**
 * The first JDK home in range among, in order: `OPENSEARCH_JAVA_HOME`, `JAVA_HOME`, the `java` on
 * the PATH, and the JDKs in /usr/lib/jvm. Rejects with a UserError listing what was found.
 *
 * @example await findJavaHome(process.env) // '/usr/lib/jvm/java-17-openjdk-amd64'
 */
export async function findJavaHome(env: Readonly<Record<string, string | undefined>> = process.env): Promise<string> {
  const seen: string[] = [];
  const tried = new Set<string>();
  for await (const home of candidates(env)) {
    const real = await realpath(home).catch(() => home);
    if (tried.has(real)) continue;
    tried.add(real);
    const major = await javaMajor(join(home, 'bin', 'java'));
    if (major === undefined) continue;
    if (major >= MIN_JAVA && major <= MAX_JAVA) return home;
    seen.push(`Java ${major} at ${home}`);
  }
  const found = seen.length === 0 ? 'found no JDK' : `found only ${seen.join(', ')}`;
  throw new UserError(
    ErrorCode.BAD_OPTION,
    `the local OpenSearch ${OPENSEARCH_VERSION} needs a JDK ${MIN_JAVA} to ${MAX_JAVA} (e.g. 17 or 21) but ${found}; install one, or point OPENSEARCH_JAVA_HOME at it`,
  );
}

async function* candidates(env: Readonly<Record<string, string | undefined>>): AsyncGenerator<string> {
  for (const name of ['OPENSEARCH_JAVA_HOME', 'JAVA_HOME']) {
    const home = env[name];
    if (home !== undefined && home !== '') yield home;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    const java = join(dir, 'java');
    if (dir !== '' && existsSync(java)) {
      // /usr/bin/java → /etc/alternatives/java → /usr/lib/jvm/…/bin/java
      yield dirname(dirname(await realpath(java).catch(() => java)));
      break;
    }
  }
  for (const dir of JVM_DIRS) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries.sort()) yield join(dir, entry);
  }
}

/** The major version `java -version` reports, or undefined when it does not run. */
async function javaMajor(java: string): Promise<number | undefined> {
  if (!existsSync(java)) return undefined;
  const result = await run(java, ['-version']).catch(() => undefined);
  const major = result?.code === 0 ? /version "(?:1\.)?(\d+)/.exec(result.output)?.[1] : undefined;
  return major === undefined ? undefined : Number(major);
}
