/**
 * A local moto server: the real AWS-protocol peer behind the Firehose (→ S3), Timestream and S3
 * tests. One start helper installs it on first use (a Python virtualenv in `.cache/moto-venv`,
 * see ./install.ts), runs `moto_server` on a free loopback port, waits until it answers and stops
 * it cleanly. Its output goes to a log file in a temp folder that `stop()` removes; nothing
 * reaches our stdout or stderr.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freshRunDir, packageCacheDir } from '../common/files.js';
import { dyingWithParent, fileTail, launch, stopAndRemove, whenReady } from '../common/process.js';
import { claimLoopbackPort } from '../common/service.js';
import { ensureMoto, MOTO_VERSION } from './install.js';
import { waitForMoto } from './service.js';

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
  const server = await ensureMoto({ venvDir: options.venvDir ?? packageCacheDir('moto-venv'), log });
  for (let attempt = 1; ; attempt++) {
    // the requested port must be free (a clear error beats moto dying on bind)
    const port = await claimLoopbackPort(options.port, { what: 'moto' });
    try {
      return await start(server, port, log);
    } catch (err) {
      if (!(err instanceof PortTaken) || options.port !== undefined || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

class PortTaken extends Error {}

async function start(server: string, port: number, log: (line: string) => void): Promise<MotoServer> {
  const dir = await freshRunDir(TEMP_PREFIX);
  const logFile = join(dir, 'moto.log');
  const endpoint = `http://127.0.0.1:${port}`;
  log(`starting moto ${MOTO_VERSION} on ${endpoint} (log: ${logFile})`);
  // setpriv --pdeathsig: if this Node process dies without stop() (kill -9 of a test worker),
  // the kernel terminates moto instead of leaving it holding a port
  const [command, args] = dyingWithParent(server, ['-H', '127.0.0.1', '-p', String(port)]);
  const moto = launch({ name: 'moto', command, args, output: logFile, stopGraceMs: STOP_GRACE_MS, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  try {
    await whenReady(moto, (signal) => waitForMoto(endpoint, { timeoutMs: READY_TIMEOUT_MS, signal }), { name: "moto's log", tail: () => fileTail(logFile) });
  } catch (err) {
    const inUse = /Address already in use/i.test(readFileSync(logFile, 'utf8'));
    await rm(dir, { recursive: true, force: true });
    if (inUse) throw new PortTaken(`127.0.0.1:${port} is taken`);
    throw err;
  }
  return {
    endpoint,
    port,
    logFile,
    stop: stopAndRemove(moto, dir),
  };
}
