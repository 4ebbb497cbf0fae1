/**
 * A local moto server: the real AWS-protocol peer behind the Firehose (→ S3), Timestream and S3
 * tests. One start helper installs it on first use (a Python virtualenv in `.cache/moto-venv`,
 * see ./install.ts), runs `moto_server` on a free loopback port, waits until it answers and stops
 * it cleanly. Its output goes to a log file in a temp folder that `stop()` removes; nothing
 * reaches our stdout or stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, UserError } from '../../core/errors.js';
import { isAlive } from '../kafka/install.js';
import { tail } from '../kafka/tools.js';
import { ensureMoto, MOTO_VERSION } from './install.js';
import { bindLoopbackPort, waitForMoto } from './service.js';

export { MOTO_REQUIREMENT, MOTO_VERSION } from './install.js';
export { motoState } from './service.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const TEMP_PREFIX = 'sluice-moto-';
/** A free port can be taken by someone else between our check and moto's bind: try again. */
const PORT_ATTEMPTS = 3;

/** A running local moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:PORT`: give it to AWS clients as their `endpoint` (S3 also needs `forcePathStyle`). */
  readonly endpoint: string;
  readonly port: number;
  /** moto's own log (requests and errors); it never writes to our stdout or stderr. */
  readonly logFile: string;
  /** Stops the server and removes its temp folder; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** Loopback port; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** The virtualenv moto is installed into; default `.cache/moto-venv` in the Sluice package. */
  readonly venvDir?: string;
  /** Progress lines (installing, starting); silent when omitted. */
  readonly log?: (line: string) => void;
}

/** Servers still running in this process, killed if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts moto's server on 127.0.0.1 and resolves once it answers. Its state lives in memory and
 * is shared by every client of the server: give resources unique names. Any credentials and
 * region are accepted. Rejects with a UserError when Python 3 is missing or the port is taken,
 * and with the tail of moto's log when it exits or does not answer within 60 s.
 *
 * @example
 * const moto = await startMoto();
 * try {
 *   const firehose = new FirehoseClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 *   // …
 * } finally {
 *   await moto.stop();
 * }
 * @see ensureMoto
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const log = options.log ?? (() => undefined);
  const server = await ensureMoto({ venvDir: options.venvDir ?? defaultVenvDir(), log });
  await removeOrphanedTempDirs();
  for (let attempt = 1; ; attempt++) {
    const port = await claimPort(options.port);
    try {
      return await launch(server, port, log);
    } catch (err) {
      if (!(err instanceof PortTaken) || options.port !== undefined || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

class PortTaken extends Error {}

async function launch(server: string, port: number, log: (line: string) => void): Promise<MotoServer> {
  const dir = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  const logFile = join(dir, 'moto.log');
  const endpoint = `http://127.0.0.1:${port}`;
  log(`starting moto ${MOTO_VERSION} on ${endpoint} (log: ${logFile})`);
  const out = openSync(logFile, 'a');
  const args = ['-H', '127.0.0.1', '-p', String(port)];
  const env = { ...process.env, PYTHONUNBUFFERED: '1' };
  // setpriv --pdeathsig: if this Node process dies without stop() (kill -9 of a test worker),
  // the kernel terminates moto instead of leaving it holding a port
  const child = existsSync('/usr/bin/setpriv')
    ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'TERM', server, ...args], { stdio: ['ignore', out, out], env })
    : spawn(server, args, { stdio: ['ignore', out, out], env });
  closeSync(out);
  running.add(child);
  // 'exit' may never follow a failed spawn ('error'), and stop() must not wait for it then
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  void exited.then(() => running.delete(child));

  const died = new AbortController();
  child.once('exit', (code, signal) => died.abort(new Error(`moto exited during start-up (${signal ?? `exit code ${code}`})`)));
  child.once('error', (err) => died.abort(err));
  try {
    await waitForMoto(endpoint, { timeoutMs: READY_TIMEOUT_MS, signal: died.signal });
  } catch (err) {
    await terminate(child, exited);
    const output = readFileSync(logFile, 'utf8');
    await rm(dir, { recursive: true, force: true });
    if (/Address already in use/i.test(output)) throw new PortTaken(`127.0.0.1:${port} is taken`);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nlast lines of moto's log:\n${tail(output)}`, { cause: err });
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    logFile,
    stop: () => (stopping ??= terminate(child, exited).then(() => rm(dir, { recursive: true, force: true }))),
  };
}

/** SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}. */
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

/** The requested port must be free (a clear error beats moto dying on bind); without one, a free port. */
async function claimPort(port: number | undefined): Promise<number> {
  if (port === undefined) return bindLoopbackPort();
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UserError(ErrorCode.BAD_OPTION, `moto port must be a whole number from 1 to 65535, got ${port}`);
  try {
    return await bindLoopbackPort(port);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot run moto on 127.0.0.1:${port}: ${(err as Error).message}; choose another port`, { cause: err });
  }
}

/** Temp folders of processes that died without stop() (kill -9 of a test worker). */
async function removeOrphanedTempDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(entry);
    if (m !== null && !isAlive(Number(m[1]))) await rm(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/**
 * `.cache/moto-venv` beside Sluice's package.json, found by walking up from this file because it
 * runs both from `src/` (tsx, tests) and from `dist/src/` (the built CLI).
 */
function defaultVenvDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), '.cache', 'moto-venv');
    dir = parent;
  }
  return join(dir, '.cache', 'moto-venv');
}
