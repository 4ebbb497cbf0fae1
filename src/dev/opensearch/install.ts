/**
 * Installs the OpenSearch integ-test distribution from Maven Central into the cache on first use:
 * `<cacheDir>/<version>/opensearch-<version>`, unpacked by Maven's dependency plugin. The zip is a
 * plain OpenSearch without plugins (no security plugin, so plain HTTP) and without a JDK.
 *
 * Maven runs under the install lock so parallel test files do not install at once; the one that
 * waited finds the `ready` marker and reuses the install. A partial install (Maven killed) never
 * looks complete: it is built beside the final folder and renamed into place (../common/install.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installOnce, isInstalled, removeOtherInstalls, requireMaven } from '../common/install.js';
import { runOrThrow } from '../common/process.js';

/**
 * The OpenSearch release the local node runs: the newest 2.19 on Maven Central. 2.x runs on Java
 * 17 (3.x needs 21); its security manager needs a JDK older than 24.
 */
export const OPENSEARCH_VERSION = '2.19.6';
/** Maven coordinates of the distribution: `org.opensearch.distribution.integ-test-zip:opensearch`. */
export const OPENSEARCH_ARTIFACT = `org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip`;
/** Pinned so the install does not depend on whatever plugin version Maven would resolve. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

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
  if (isInstalled(dir)) return home;

  await requireMaven('needs Maven (mvn) on the PATH to install the local OpenSearch on first use; install Maven 3.8 or newer (Maven Central must be reachable once)');
  const announce = `installing OpenSearch ${OPENSEARCH_VERSION} with Maven into ${dir} (first use only)`;
  await installOnce(dir, { product: 'OpenSearch', lock: 'OpenSearch', log: options.log, announce }, async (part) => {
    // without a pom, the plugin would leave its markers in ./${project.basedir}/target
    const args = ['-q', '-B', `${DEPENDENCY_PLUGIN}:unpack`, `-Dartifact=${OPENSEARCH_ARTIFACT}`, `-DoutputDirectory=${part}`, `-DmarkersDirectory=${join(part, '.markers')}`];
    await runOrThrow('mvn', args, `Maven could not download OpenSearch ${OPENSEARCH_VERSION} (${OPENSEARCH_ARTIFACT}; Maven Central must be reachable on first use)`);
    if (!existsSync(join(part, `opensearch-${OPENSEARCH_VERSION}`, 'bin', 'opensearch'))) {
      throw new Error(`the OpenSearch ${OPENSEARCH_VERSION} distribution unpacked by Maven has no bin/opensearch (in ${part})`);
    }
  });
  // other versions (~60 MB each) are dead weight once this one is installed
  await removeOtherInstalls(options.cacheDir, OPENSEARCH_VERSION, /^\d+\.\d+\.\d+$/);
  return home;
}
