/**
 * One start helper for a real local InfluxDB server, for the integration tests (and a future
 * `sluice dev influxdb`): Debian's `influxd` (InfluxDB 1.6, installed with apt-get on first use)
 * run on a free loopback port with a generated configuration in a fresh temp folder.
 *
 * The server's output goes to a log file in that folder, never to our stdout or stderr; it is
 * killed with this Node process even when that dies without `stop()` (setpriv --pdeathsig, as
 * for the local Kafka broker), and `stop()` removes the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { influxdConfig } from './config.js';
import { ensureInfluxd } from './install.js';
import { bindLoopbackPort, influxQuery, waitForPing, type QueryCredentials } from './service.js';

export { INFLUXD_PATH, INFLUXDB_PACKAGE, ensureInfluxd } from './install.js';
export { influxQuery, type InfluxQueryAnswer, type InfluxSeries, type QueryCredentials } from './service.js';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const TEMP_PREFIX = 'sluice-influxdb-';
const LOG_TAIL_LINES = 30;

/** A running local InfluxDB. */
export interface InfluxDBServer {
  /** `http://127.0.0.1:PORT`, the base of `/write`, `/query` and `/ping`. */
  readonly url: string;
  readonly port: number;
  /** The temp folder holding its configuration, data and log; `stop()` removes it. */
  readonly workDir: string;
  /** The server's own log (it never writes to our stdout or stderr). */
  readonly logFile: string;
  /** With `admin`: the user every request must authenticate as. */
  readonly admin?: QueryCredentials;
  /** Stops the server and removes everything it wrote; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Options of {@link startInfluxDB}.
 *
 * @example { port: 8086, admin: { username: 'admin', password: 'admin-secret' } }
 */
export interface StartInfluxDBOptions {
  /** Loopback port of the HTTP API; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /**
   * Turns authentication on and creates this user with all privileges (InfluxDB lets the first
   * admin user be created without credentials). Without it, every request is accepted.
   */
  readonly admin?: QueryCredentials;
  /** Progress lines (installing, starting); silent when omitted. */
  readonly log?: (line: string) => void;
}

/** Servers still running in this process, killed if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts InfluxDB 1.6 on 127.0.0.1 and resolves once `/ping` answers. Databases are not created
 * on writes: create them with `influxQuery(url, 'CREATE DATABASE "name"')`.
 *
 * Rejects with a `UserError` when influxd is missing and cannot be installed (no apt-get, not
 * root) or the port is taken; with the tail of the server's log when it exits during start-up
 * or does not answer within 30 s.
 *
 * @example
 * const influx = await startInfluxDB();
 * try {
 *   await influxQuery(influx.url, 'CREATE DATABASE "results"');
 *   // POST `${influx.url}/write?db=results&precision=ms` …
 * } finally {
 *   await influx.stop();
 * }
 * @see influxQuery
 */
export async function startInfluxDB(options: StartInfluxDBOptions = {}): Promise<InfluxDBServer> {
  const log = options.log ?? (() => undefined);
  const influxd = await ensureInfluxd({ log });
  const port = await claimPort(options.port);
  let rpcPort = await bindLoopbackPort();
  while (rpcPort === port) rpcPort = await bindLoopbackPort();
  await removeOrphanedTempDirs();
  const dir = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  const logFile = join(dir, 'influxd.log');
  const url = `http://127.0.0.1:${port}`;
  try {
    const configFile = join(dir, 'influxdb.conf');
    await writeFile(configFile, influxdConfig({ dir, httpPort: port, rpcPort, auth: options.admin !== undefined }));
    log(`starting InfluxDB (${influxd}) on ${url} (log: ${logFile})`);
    const out = openSync(logFile, 'a');
    // setpriv --pdeathsig: if this Node process dies without stop() (kill -9 of a test worker),
    // the kernel terminates influxd instead of leaving it holding the port and the temp dir
    const args = ['-config', configFile];
    const env = serverEnv();
    const child = existsSync('/usr/bin/setpriv')
      ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'TERM', influxd, ...args], { stdio: ['ignore', out, out], env })
      : spawn(influxd, args, { stdio: ['ignore', out, out], env });
    closeSync(out);
    running.add(child);
    // 'exit' may never follow a failed spawn ('error'), and stop() must not wait for it then
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
    void exited.then(() => running.delete(child));

    const died = new AbortController();
    child.once('exit', (code, signal) => died.abort(new Error(`influxd exited during start-up (${signal ?? `exit code ${code}`})`)));
    child.once('error', (err) => died.abort(err));
    try {
      await waitForPing(url, { timeoutMs: READY_TIMEOUT_MS, signal: died.signal });
      if (options.admin !== undefined) {
        const { username, password } = options.admin;
        await influxQuery(url, `CREATE USER ${identifier(username)} WITH PASSWORD ${stringLiteral(password)} WITH ALL PRIVILEGES`);
      }
    } catch (err) {
      await terminate(child, exited);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nlast lines of the influxd log:\n${logTail(logFile)}`, { cause: err });
    }

    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      workDir: dir,
      logFile,
      ...(options.admin === undefined ? {} : { admin: options.admin }),
      stop: () => (stopping ??= terminate(child, exited).then(() => rm(dir, { recursive: true, force: true }))),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Our environment without influxd's own overrides: influxd applies every `INFLUXDB_*` variable
 * over its configuration file (`INFLUXDB_HTTP_BIND_ADDRESS` …), which would defeat the one we write.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('INFLUXDB_')) env[name] = value;
  return env;
}

/** SIGTERM (influxd closes its shards cleanly), then SIGKILL after {@link STOP_GRACE_MS}. */
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

/** The requested port must be free (a clear error beats a server dying on bind); else a free one. */
async function claimPort(port: number | undefined): Promise<number> {
  if (port === undefined) return bindLoopbackPort();
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UserError(ErrorCode.BAD_OPTION, `InfluxDB port must be a whole number from 1 to 65535, got ${port}`);
  try {
    return await bindLoopbackPort(port);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot run InfluxDB on 127.0.0.1:${port}: ${(err as Error).message}; choose another port`, { cause: err });
  }
}

/** An InfluxQL identifier in double quotes. */
function identifier(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** An InfluxQL string literal in single quotes. */
function stringLiteral(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function logTail(logFile: string): string {
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const lines = text.split('\n').filter((line) => line.trim() !== '').slice(-LOG_TAIL_LINES);
  return lines.length === 0 ? '  (no output)' : lines.map((line) => `  ${line}`).join('\n');
}

/** Temp dirs of servers whose Node process died before stop() could remove them. */
async function removeOrphanedTempDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = /^sluice-influxdb-(\d+)-/.exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) {
      await rm(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
}

/** True when `pid` is a running process (EPERM: it runs, as another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
