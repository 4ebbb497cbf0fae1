/**
 * Installs Apache Kafka's broker jars from Maven Central into the cache on first use.
 *
 * The pom is generated here rather than shipped, so the cache key (a hash of it) changes exactly
 * when what we ask Maven for changes: `<cacheDir>/<kafka version>-<pom hash>/jars`. Maven runs
 * under a lock directory so parallel test workers do not install at once; the one that waited
 * finds the `ready` marker and reuses the jars.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireMaven, runOrThrow } from './tools.js';

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
/** How long a worker waits for another one's install before giving up. */
const LOCK_WAIT_MS = 15 * 60_000;
/** A lock directory without an owner pid this old was left by a process killed mid-mkdir. */
const ORPHAN_LOCK_MS = 30_000;

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
  if (existsSync(join(dir, 'ready'))) return jars;

  await requireMaven();
  await mkdir(options.cacheDir, { recursive: true });
  await withLock(`${dir}.lock`, options.log, async () => {
    if (existsSync(join(dir, 'ready'))) return; // installed by the worker we waited for
    options.log(`installing Apache Kafka ${KAFKA_VERSION} with Maven into ${dir} (first use only)`);
    // a partial install (killed Maven) must never look complete: build beside, then rename
    const part = `${dir}.part-${process.pid}`;
    await rm(part, { recursive: true, force: true });
    await mkdir(part, { recursive: true });
    try {
      await writeFile(join(part, 'pom.xml'), pom);
      const args = ['-q', '-B', '-f', join(part, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(part, 'jars')}`];
      await runOrThrow('mvn', args, `Maven could not download Apache Kafka ${KAFKA_VERSION} (Maven Central must be reachable on first use)`);
      await writeFile(join(part, 'ready'), `${new Date().toISOString()}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(part, dir);
    } finally {
      await rm(part, { recursive: true, force: true });
    }
  });
  await removeOtherInstalls(options.cacheDir, `${KAFKA_VERSION}-${hash}`);
  return jars;
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
    if (!told) log(`waiting for another process that is installing Apache Kafka (${path})`);
    told = true;
    if (Date.now() > deadline) throw new Error(`gave up waiting for the Kafka install lock ${path}; remove it if no install is running`);
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

/** True when `pid` is a running process (EPERM: it runs, as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Earlier versions' jars (~45 MB each) are dead weight once this one is installed. */
async function removeOtherInstalls(cacheDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (entry !== keep && /^\d+\.\d+\.\d+-[0-9a-f]{12}$/.test(entry)) {
      await rm(join(cacheDir, entry), { recursive: true, force: true });
    }
  }
}
