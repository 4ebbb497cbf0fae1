/**
 * One start helper for a real local InfluxDB server, for the integration tests (and a future
 * `sluice dev influxdb`): Debian's `influxd` (InfluxDB 1.6, installed with apt-get on first use)
 * run on a free loopback port with a generated configuration in a fresh temp folder.
 *
 * The server's output goes to a log file in that folder, never to our stdout or stderr; it is
 * killed with this Node process even when that dies without `stop()` (setpriv --pdeathsig, as
 * for the local Kafka broker), and `stop()` removes the folder.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freshRunDir } from '../common/files.js';
import { dyingWithParent, fileTail, launch, stopAndRemove, whenReady } from '../common/process.js';
import { claimLoopbackPort } from '../common/service.js';
import { influxdConfig } from './config.js';
import { ensureInfluxd } from './install.js';
import { influxQuery, waitForPing, type QueryCredentials } from './service.js';

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
  // the requested port must be free (a clear error beats a server dying on bind)
  const port = await claimLoopbackPort(options.port, { what: 'InfluxDB' });
  const rpcPort = await claimLoopbackPort(undefined, { what: 'InfluxDB', taken: [port] });
  const dir = await freshRunDir(TEMP_PREFIX);
  const logFile = join(dir, 'influxd.log');
  const url = `http://127.0.0.1:${port}`;
  try {
    const configFile = join(dir, 'influxdb.conf');
    await writeFile(configFile, influxdConfig({ dir, httpPort: port, rpcPort, auth: options.admin !== undefined }));
    log(`starting InfluxDB (${influxd}) on ${url} (log: ${logFile})`);
    // setpriv --pdeathsig: if this Node process dies without stop() (kill -9 of a test worker),
    // the kernel terminates influxd instead of leaving it holding the port and the temp dir
    const [command, args] = dyingWithParent(influxd, ['-config', configFile]);
    const server = launch({ name: 'influxd', command, args, output: logFile, stopGraceMs: STOP_GRACE_MS, env: serverEnv() });
    const ready = async (signal: AbortSignal): Promise<void> => {
      await waitForPing(url, { timeoutMs: READY_TIMEOUT_MS, signal });
      if (options.admin !== undefined) {
        const { username, password } = options.admin;
        await influxQuery(url, `CREATE USER ${identifier(username)} WITH PASSWORD ${stringLiteral(password)} WITH ALL PRIVILEGES`);
      }
    };
    await whenReady(server, ready, { name: 'the influxd log', tail: () => fileTail(logFile, LOG_TAIL_LINES) });

    return {
      url,
      port,
      workDir: dir,
      logFile,
      ...(options.admin === undefined ? {} : { admin: options.admin }),
      stop: stopAndRemove(server, dir),
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

/** An InfluxQL identifier in double quotes. */
function identifier(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** An InfluxQL string literal in single quotes. */
function stringLiteral(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
