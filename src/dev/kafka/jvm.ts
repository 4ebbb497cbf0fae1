/**
 * A real Apache Kafka broker in KRaft mode (one node, broker and controller) run on the local
 * JDK from the jars {@link ensureKafkaJars} installs. Everything it writes (data, log) lives in
 * a fresh temp folder that `stop()` removes; its output never reaches our stdout or stderr.
 * With a SCRAM user it also listens for SASL_PLAINTEXT clients (see ./scram.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import { freshRunDir } from '../common/files.js';
import { dyingWithParent, launch, runOrThrow, stopAndRemove, tail, whenReady } from '../common/process.js';
import { claimLoopbackPort } from '../common/service.js';
import { ensureKafkaJars, KAFKA_VERSION } from './install.js';
import { addScramArguments, checkScramUser, SASL_LISTENER, scramListenerProperties, withoutPassword } from './scram.js';
import { waitForBroker } from './service.js';
import { requireJava } from './tools.js';
import type { KafkaBroker, KafkaScramUser } from './index.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const TEMP_PREFIX = 'sluice-kafka-';
/** Heap for a test broker; Kafka's own script uses 1 GB, which several test workers multiply. */
const JVM_OPTIONS = ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];

/** Starts the JVM broker; see {@link startKafka} for the contract. */
export async function startJvmKafka(options: { port?: number; cacheDir: string; log: (line: string) => void; scram?: KafkaScramUser }): Promise<KafkaBroker> {
  const { scram } = options;
  if (scram !== undefined) checkScramUser(scram);
  await requireJava();
  const jars = await ensureKafkaJars(options);
  // each was bound and released, so a later pick may repeat an earlier one
  const port = await claimPort(options.port, []);
  const saslPort = scram === undefined ? undefined : await claimPort(scram.port, [port]);
  const controllerPort = await claimPort(undefined, saslPort === undefined ? [port] : [port, saslPort]);
  const dir = await freshRunDir(TEMP_PREFIX);
  const logFile = join(dir, 'server.log');
  const bootstrap = `127.0.0.1:${port}`;
  const saslBootstrap = saslPort === undefined ? undefined : `127.0.0.1:${saslPort}`;
  try {
    await writeFile(join(dir, 'server.properties'), serverProperties({ port, controllerPort, saslPort, dataDir: join(dir, 'data') }));
    await writeFile(join(dir, 'log4j2.properties'), log4jProperties(logFile));
    const java = ['-cp', join(jars, '*'), `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`];
    await formatStorage([...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', join(dir, 'server.properties')], scram);

    const sasl = saslBootstrap === undefined ? '' : ` and, with SASL/SCRAM, on ${saslBootstrap}`;
    options.log(`starting Apache Kafka ${KAFKA_VERSION} on ${bootstrap}${sasl} (log: ${logFile})`);
    // setpriv --pdeathsig: if this Node process dies without stop() (kill -9 of a test worker),
    // the kernel terminates the broker instead of leaving it holding ports and a temp dir
    const [command, args] = dyingWithParent('java', [...JVM_OPTIONS, ...java, 'kafka.Kafka', join(dir, 'server.properties')]);
    const broker = launch({ name: 'the Kafka broker', command, args, output: join(dir, 'console.log'), stopGraceMs: STOP_GRACE_MS });
    await whenReady(broker, (signal) => waitForBroker(bootstrap, { timeoutMs: READY_TIMEOUT_MS, signal }), { name: 'the broker log', tail: () => logTail(dir) });

    return {
      bootstrap,
      ...(saslBootstrap === undefined ? {} : { saslBootstrap }),
      workDir: dir,
      logFile,
      stop: stopAndRemove(broker, dir),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Formats the data folder, creating the SCRAM user in the new metadata log. The password is on the
 * tool's command line (StorageTool has no other way in), for the second it runs; if the tool fails,
 * its output is quoted without the password.
 */
async function formatStorage(args: readonly string[], scram: KafkaScramUser | undefined): Promise<void> {
  // a one-shot tool: C1 only and the serial collector start ~0.5 s faster than the defaults
  const format = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...args, ...(scram === undefined ? [] : addScramArguments(scram))];
  try {
    await runOrThrow('java', format, 'Kafka could not format its storage');
  } catch (err) {
    throw scram === undefined ? err : new Error(withoutPassword(messageOf(err), scram));
  }
}

/**
 * A listener's port (see claimLoopbackPort): a requested one must not be `taken` by another of
 * the broker's listeners either.
 */
async function claimPort(port: number | undefined, taken: readonly number[]): Promise<number> {
  if (port !== undefined && taken.includes(port)) {
    throw new UserError(ErrorCode.BAD_OPTION, `Kafka cannot listen twice on 127.0.0.1:${port}; give the SASL listener another port`);
  }
  return claimLoopbackPort(port, { what: 'Kafka', taken });
}

/**
 * A cluster id as `StorageTool random-uuid` makes it (a random UUID in unpadded base64url, never
 * starting with '-'), generated here to save a JVM start per broker.
 */
function clusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(p: { port: number; controllerPort: number; saslPort: number | undefined; dataDir: string }): string {
  const sasl = p.saslPort === undefined ? '' : `,${SASL_LISTENER}://127.0.0.1:${p.saslPort}`;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    // a static voter set: formatting needs no --standalone, and it must not be mixed with
    // controller.quorum.bootstrap.servers (KAFKA-18987)
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port}${sasl},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}${sasl}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sasl === '' ? '' : `,${SASL_LISTENER}:${SASL_LISTENER}`}`,
    // brokers keep talking PLAINTEXT to each other (the default, spelled out beside SASL)
    ...(p.saslPort === undefined ? [] : ['inter.broker.listener.name=PLAINTEXT', ...scramListenerProperties()]),
    `log.dirs=${propertyPath(p.dataDir)}`,
    // one node: every internal topic has one replica, and one partition keeps the first
    // consumer group and the first transaction quick to set up
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'min.insync.replicas=1',
    'num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    // a mistyped topic must fail loudly (issue: missing topic gives a clear error) instead of
    // being created with one partition; tests and `sluice dev kafka` users create topics
    'auto.create.topics.enable=false',
  ].join('\n') + '\n';
}

function log4jProperties(logFile: string): string {
  return [
    'status = error',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${propertyPath(logFile)}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
  ].join('\n') + '\n';
}

/** Backslashes are escapes in .properties files; Java accepts '/' on Windows too. */
function propertyPath(path: string): string {
  return path.replaceAll('\\', '/');
}

/** The tail of the log4j log and of the JVM's own output (a crash before log4j starts). */
function logTail(dir: string): string {
  const read = (name: string): string => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  const jvm = read('console.log');
  return tail(read('server.log')) + (jvm.trim() === '' ? '' : `\nJVM output:\n${tail(jvm, 20)}`);
}
