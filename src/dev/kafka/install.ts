/**
 * Installs Apache Kafka's broker jars from Maven Central into the cache on first use.
 *
 * The pom is generated here rather than shipped, so the cache key (a hash of it) changes exactly
 * when what we ask Maven for changes: `<cacheDir>/<kafka version>-<pom hash>/jars`. Maven runs
 * under the install lock so parallel test workers do not install at once; the one that waited
 * finds the `ready` marker and reuses the jars (see ../common/install.ts).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installOnce, isInstalled, removeOtherInstalls, requireMaven } from '../common/install.js';
import { runOrThrow } from '../common/process.js';

/** The Apache Kafka release the JVM broker runs. */
export const KAFKA_VERSION = '4.1.2';
/** Kafka's broker pom brings SLF4J but no binding; without one the broker logs nothing at all. */
const LOG4J_VERSION = '2.24.3';
/**
 * kafka-clients' pom pins slf4j-api 1.7, which cannot find log4j's SLF4J 2 provider (the broker
 * would again log nothing); a direct dependency wins Maven's nearest-first resolution.
 */
const SLF4J_VERSION = '2.0.17';
/** Pinned so the install does not depend on whatever plugin version Maven would resolve. */
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';

/** The pom whose runtime dependencies are the broker's classpath. */
export function kafkaPom(): string {
  const dependency = (group: string, artifact: string, version: string): string =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by Sluice (src/dev/kafka/install.ts); only its dependencies are used. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sluice</groupId>
  <artifactId>local-kafka</artifactId>
  <version>0.0.0</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
${dependency('org.slf4j', 'slf4j-api', SLF4J_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
  </dependencies>
  <build><pluginManagement><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>${DEPENDENCY_PLUGIN_VERSION}</version>
  </plugin></plugins></pluginManagement></build>
</project>
`;
}

/**
 * Returns the folder holding the broker's jars, running Maven first if this pom was never
 * installed into `cacheDir`. Rejects with a UserError when Maven is missing, and with Maven's
 * output when the download fails.
 */
export async function ensureKafkaJars(options: { cacheDir: string; log: (line: string) => void }): Promise<string> {
  const pom = kafkaPom();
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const dir = join(options.cacheDir, `${KAFKA_VERSION}-${hash}`);
  const jars = join(dir, 'jars');
  if (isInstalled(dir)) return jars;

  await requireMaven(
    'needs Maven (mvn) on the PATH to install the local Kafka broker on first use; install Maven 3.8 or newer ' +
      '(Maven Central must be reachable once), or start Docker to use a Kafka container',
  );
  const announce = `installing Apache Kafka ${KAFKA_VERSION} with Maven into ${dir} (first use only)`;
  await installOnce(dir, { product: 'Apache Kafka', lock: 'Kafka', log: options.log, announce }, async (part) => {
    await writeFile(join(part, 'pom.xml'), pom);
    const args = ['-q', '-B', '-f', join(part, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(part, 'jars')}`];
    await runOrThrow('mvn', args, `Maven could not download Apache Kafka ${KAFKA_VERSION} (Maven Central must be reachable on first use)`);
  });
  // earlier versions' jars (~45 MB each) are dead weight once this one is installed
  await removeOtherInstalls(options.cacheDir, `${KAFKA_VERSION}-${hash}`, /^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
  return jars;
}
