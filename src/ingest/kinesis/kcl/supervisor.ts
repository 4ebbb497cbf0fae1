/**
 * KCL mode's supervisor: `sluice run PIPELINE --source 'kinesis://S?coordinator=kcl&app=A' …`
 * runs the KCL MultiLangDaemon (Java) instead of the pipeline. The daemon takes shard leases in
 * the `A` lease table and starts one Sluice record processor per lease
 * (`sluice kcl-processor --spec FILE`, see `child.ts`), which runs the pipeline for that shard
 * with the same flags. SIGTERM/SIGINT go to the daemon, whose shutdown hook asks every
 * processor to checkpoint (`shutdownRequested`) within `--shutdown-timeout`.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PipelineDefinition } from '../../../core/definition.js';
import { parseDuration } from '../../../core/duration.js';
import { ErrorCode, UserError, messageOf } from '../../../core/errors.js';
import { parseKinesisUrl, type KinesisEndpoint } from '../../../kinesis/endpoint.js';
import { fileTail, run } from '../../../dev/common/process.js';
import type { RunFlags } from '../../../cli/execute.js';
import { checkpointStoreFor, sinkOpener } from '../../../cli/endpoints.js';
import { kclJars, MULTILANG_DAEMON_CLASS } from './jars.js';
import { kclProperties, logbackConfiguration } from './properties.js';

/** What a record processor needs to run the same pipeline: written to `spec.json`. */
export interface KclProcessorSpec {
  /** A module path (absolute) or a built-in pipeline's name. */
  readonly module: string;
  /** The run's flags, less those that belong to the supervisor (`--ops-port`). */
  readonly flags: RunFlags;
}

/** Lines of the daemon's log quoted when it fails. */
const LOG_TAIL_LINES = 20;
/** After the daemon's shutdown grace, how long before it is killed. */
const KILL_MARGIN_MS = 5_000;

/**
 * The endpoint of a `--source` URL when it asks for KCL mode, else undefined.
 *
 * @example kclEndpointOf('kinesis://clicks?coordinator=kcl&app=views')?.app // 'views'
 */
export function kclEndpointOf(source: string | undefined): KinesisEndpoint | undefined {
  if (source === undefined || !source.startsWith('kinesis:')) return undefined;
  const endpoint = parseKinesisUrl(source, 'source');
  return endpoint.coordinator === 'kcl' ? endpoint : undefined;
}

/**
 * For `sourceFor`: KCL mode has no in-process source outside `sluice run` (the daemon owns the
 * shards); say so in one line.
 */
export function kclSource(endpoint: KinesisEndpoint): never {
  throw new UserError(
    ErrorCode.BAD_URL,
    `--source '${endpoint.url}': coordinator=kcl runs Sluice under the KCL MultiLangDaemon and works with 'sluice run PIPELINE' only; drop coordinator=kcl to read the stream with Sluice's own coordination`,
  );
}

/**
 * The checks KCL mode makes before starting anything: a checkpoint store (KCL checkpoints only
 * follow Sluice checkpoints), and no output on stdout (the protocol's channel).
 */
export function checkKclRun(definition: PipelineDefinition, flags: RunFlags): void {
  if (flags.checkpoint === undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, 'KCL mode needs --checkpoint file:DIR: KCL checkpoints follow Sluice checkpoints, and each shard\'s state is kept there');
  }
  checkpointStoreFor(flags.checkpoint, definition.name, { shared: true });
  const outputs: [string, string][] = [
    ...(flags.sink && flags.sink.length > 0 ? flags.sink : (definition.defaults.sinks ?? ['stdout:'])).map((url): [string, string] => ['--sink', url]),
    ['--dead-letter', flags.deadLetter ?? definition.defaults.deadLetter ?? 'stderr:'],
  ];
  const late = flags.late ?? definition.defaults.late;
  if (late !== undefined && late !== 'drop') outputs.push(['--late', late]);
  for (const [flag, url] of outputs) {
    const inner = url.startsWith('dlq:') ? url.slice(4) : url;
    if (/^stdout:/i.test(inner)) {
      throw new UserError(ErrorCode.BAD_OPTION, `${flag} '${url}': in KCL mode stdout carries the MultiLangDaemon's protocol; write results to stderr: or a file (file:PATH)${flag === '--sink' && flags.sink === undefined ? ' with --sink' : ''}`);
    }
    sinkOpener(url, flag);
  }
}

/**
 * Runs the MultiLangDaemon until it exits or a signal stops it (see the module comment).
 * Resolves when it stopped cleanly; a `UserError` when Java or the jars are missing or the
 * daemon failed (with the tail of its log).
 *
 * @example await runKclSupervisor({ module: 'clickstream', definition, flags, endpoint, report })
 */
export async function runKclSupervisor(options: {
  readonly module: string;
  readonly definition: PipelineDefinition;
  readonly flags: RunFlags;
  readonly endpoint: KinesisEndpoint;
  readonly report: (line: string) => void;
}): Promise<void> {
  const { definition, flags, endpoint, report } = options;
  checkKclRun(definition, flags);
  await requireJava();
  const jars = await kclJars({ log: report });
  const shutdownMs = parseDuration(flags.shutdownTimeout ?? '25s', '--shutdown-timeout');

  const dir = await mkdtemp(join(tmpdir(), 'sluice-kcl-'));
  const logFile = join(dir, 'daemon.log');
  const { opsPort: _opsPort, opsHost: _opsHost, ...childFlags } = flags;
  const spec: KclProcessorSpec = { module: existsSync(resolve(options.module)) ? resolve(options.module) : options.module, flags: { ...childFlags, source: endpoint.url } };
  const specFile = join(dir, 'spec.json');
  await writeFile(specFile, JSON.stringify(spec, null, 2));
  const executable = join(dir, 'processor.sh');
  await writeFile(executable, processorScript(specFile));
  await chmod(executable, 0o755);
  // the processors get the shutdown timeout less a margin for the daemon's own lease release
  // a fleet's own KCL tuning (or a test's shorter shard-sync interval) comes last and wins
  await writeFile(join(dir, 'app.properties'), kclProperties(endpoint, { executable, shutdownGraceMs: shutdownMs }) + (await extraProperties()));
  await writeFile(join(dir, 'logback.xml'), logbackConfiguration(logFile));

  // its own process group: a terminal's Ctrl-C reaches only us, and we ask the daemon to stop
  // the multilang jar ships a logback.xml that logs to stdout: ours is named explicitly
  const javaArgs = [`-Dlogback.configurationFile=${join(dir, 'logback.xml')}`, '-cp', `${jars}/*:${dir}`, MULTILANG_DAEMON_CLASS, '--properties-file', join(dir, 'app.properties')];
  const daemon = spawn('java', javaArgs, {
    stdio: ['ignore', process.stderr, process.stderr],
    detached: true,
    cwd: process.cwd(),
  });
  let stopping: NodeJS.Signals | undefined;
  let killer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined) {
      report(`sluice: second ${signal}, stopping the KCL daemon now`);
      killGroup(daemon.pid, 'SIGKILL');
      return;
    }
    stopping = signal;
    daemon.kill('SIGTERM');
    killer = setTimeout(() => {
      report(`sluice: the KCL daemon did not stop within --shutdown-timeout; killing it`);
      killGroup(daemon.pid, 'SIGKILL');
    }, shutdownMs + KILL_MARGIN_MS);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const code = await new Promise<number | null>((resolveExit, reject) => {
      daemon.once('error', reject);
      daemon.once('exit', (exitCode, signal) => resolveExit(exitCode ?? (signal === null ? null : 128 + (signal === 'SIGKILL' ? 9 : 15))));
    });
    // the JVM exits with 143 after its shutdown hook ran for our SIGTERM
    if (stopping !== undefined && (code === 0 || code === 143 || code === 130)) return;
    if (code === 0) return;
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `the KCL MultiLangDaemon exited with code ${code ?? 'unknown'} (log: ${logFile}):\n${fileTail(logFile, LOG_TAIL_LINES)}`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(ErrorCode.BAD_OPTION, `cannot run the KCL MultiLangDaemon: ${messageOf(err)}`, { cause: err });
  } finally {
    clearTimeout(killer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (daemon.exitCode === 0 || stopping !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Environment variable naming a properties file whose lines are added to the daemon's `app.properties` (later keys win). */
export const KCL_PROPERTIES_ENV = 'SLUICE_KCL_PROPERTIES';

async function extraProperties(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = env[KCL_PROPERTIES_ENV];
  if (file === undefined || file === '') return '';
  try {
    const text = await readFile(file, 'utf8');
    return `# from ${KCL_PROPERTIES_ENV}=${file}\n${text}${text.endsWith('\n') ? '' : '\n'}`;
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `${KCL_PROPERTIES_ENV}=${file}: ${messageOf(err)}`, { cause: err });
  }
}

/** A one-line error unless `java -version` runs. */
async function requireJava(): Promise<void> {
  const missing = 'KCL mode needs Java (17 or later) on the PATH to run the KCL MultiLangDaemon; install a JRE (Debian: default-jre-headless) or use the container image\'s kcl target';
  let result;
  try {
    result = await run('java', ['-version']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, missing, { cause: err });
  }
  if (result.code !== 0) throw new UserError(ErrorCode.BAD_OPTION, `${missing}: 'java -version' failed: ${result.output.trim().split('\n')[0] ?? ''}`);
}

/**
 * The script the daemon runs per lease: the daemon splits `executableName` on spaces without
 * quoting, so the command line with its quoted paths lives in a file.
 */
function processorScript(specFile: string): string {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const args = [process.execPath, '--max-semi-space-size=32', cliEntry(), 'kcl-processor', '--spec', specFile];
  return `#!/bin/sh\n# Sluice record processor for one shard lease (started by the KCL MultiLangDaemon)\nexec ${args.map(quote).join(' ')}\n`;
}

/** The built CLI's entry: beside this file in dist, or the package's dist when running from src. */
function cliEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../../../cli/entry.js'), join(here, '../../../../dist/src/cli/entry.js')];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new UserError(ErrorCode.BAD_OPTION, 'KCL mode starts the built CLI for each shard: run npm run prepare-env (builds dist) first');
  return found;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
