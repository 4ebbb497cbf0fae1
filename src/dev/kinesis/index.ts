/**
 * Start helpers for a local Kinesis (kinesis-local, i.e. kinesis-mock compiled to JavaScript) and
 * a local DynamoDB (dynalite, in memory) for the lease tables, shared by the integration tests
 * and `sluice dev kinesis`. Both are npm packages installed into `.cache/kinesis-peers` on first
 * use (see ./install.ts) and run with this Node.
 *
 * Each server's output goes to a log file in a fresh temp folder that `stop()` removes; nothing
 * reaches our stdout or stderr. Each dies with this Node process even when that dies without
 * `stop()` (setpriv --pdeathsig, as for the other local peers).
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { freshRunDir, packageCacheDir } from '../common/files.js';
import { dyingWithParent, fileTail, launch, stopAndRemove, whenReady, type LaunchedProcess } from '../common/process.js';
import { claimLoopbackPort } from '../common/service.js';
import { ensureKinesisPeers, type KinesisPeersInstall } from './install.js';
import { waitForDynamo, waitForKinesis } from './service.js';

export { DYNALITE_VERSION, KINESIS_LOCAL_VERSION, ensureKinesisPeers } from './install.js';
export { LOCAL_CREDENTIALS, LOCAL_REGION, localDynamoClient, localKinesisClient, type LocalClientOptions } from './service.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
/** A free port can be taken by someone else between our check and the server's bind: try again. */
const PORT_ATTEMPTS = 3;
/**
 * How long kinesis-mock keeps a stream CREATING, UPDATING (split, merge, shard count, mode,
 * encryption) or DELETING, and a consumer CREATING or DELETING: 500 ms by default, short here
 * so tests that create streams and reshard do not wait.
 */
const KINESIS_STATE_DURATION = '100ms';
const KINESIS_DURATION_VARIABLES = [
  'CREATE_STREAM_DURATION',
  'DELETE_STREAM_DURATION',
  'REGISTER_STREAM_CONSUMER_DURATION',
  'DEREGISTER_STREAM_CONSUMER_DURATION',
  'START_STREAM_ENCRYPTION_DURATION',
  'STOP_STREAM_ENCRYPTION_DURATION',
  'MERGE_SHARDS_DURATION',
  'SPLIT_SHARD_DURATION',
  'UPDATE_SHARD_COUNT_DURATION',
  'UPDATE_STREAM_MODE_DURATION',
] as const;
/** dynalite's CREATING/UPDATING/DELETING time of a table (500 ms by default). */
const DYNALITE_TABLE_STATE_MS = '50';
/** What Kinesis allows in a stream name. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** A running local kinesis-local or dynalite. */
export interface LocalAwsPeer {
  /** `http://127.0.0.1:PORT`: give it to AWS clients as their `endpoint` (any region and credentials). */
  readonly endpoint: string;
  readonly port: number;
  /** The server's own log (it never writes to our stdout or stderr); `stop()` removes it. */
  readonly logFile: string;
  /** Stops the server and removes its temp folder; safe to call more than once. */
  stop(): Promise<void>;
}

/** A running kinesis-local: its plain-HTTP endpoint (its TLS port is not offered). */
export type KinesisLocal = LocalAwsPeer;
/** A running dynalite. */
export type DynamoLocal = LocalAwsPeer;

export interface StartKinesisLocalOptions {
  /** Port of the plain HTTP (HTTP/1.1 and h2c) listener; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** Streams to create at start-up, name → shard count (INITIALIZE_STREAMS); ACTIVE once it resolves. */
  readonly streams?: Readonly<Record<string, number>>;
  /** Where the packages are installed; default `.cache/kinesis-peers` in the Sluice package. */
  readonly cacheDir?: string;
  /** Progress lines (installing, starting); silent when omitted. */
  readonly log?: (line: string) => void;
}

export interface StartDynamoLocalOptions {
  /** Loopback port; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** Where the packages are installed; default `.cache/kinesis-peers` in the Sluice package. */
  readonly cacheDir?: string;
  /** Progress lines (installing, starting); silent when omitted. */
  readonly log?: (line: string) => void;
}

/**
 * Starts kinesis-local and resolves once ListStreams answers on its plain port (and every stream
 * of `streams` is ACTIVE). It holds its streams in memory, shared by every client: give streams
 * unique names. Any credentials are accepted; streams live in region us-east-1 by default.
 *
 * kinesis-mock binds every interface (0.0.0.0 / ::), not only loopback, and has no option to
 * change that: the port is reachable from the network for as long as it runs. It also opens a
 * TLS port (another free port, with the package's self-signed certificate) that is not offered.
 *
 * Rejects with a UserError when the port is taken, a stream is malformed, or the install fails;
 * with the tail of its log when it exits or does not answer within 60 s.
 *
 * @example
 * const kinesis = await startKinesisLocal({ streams: { clicks: 2 } });
 * try {
 *   const client = localKinesisClient(kinesis.endpoint);
 *   // …
 * } finally {
 *   await kinesis.stop();
 * }
 * @see startDynamoLocal
 */
export async function startKinesisLocal(options: StartKinesisLocalOptions = {}): Promise<KinesisLocal> {
  const log = options.log ?? (() => undefined);
  const streams = initializeStreams(options.streams ?? {});
  const install = await ensureKinesisPeers({ cacheDir: options.cacheDir ?? packageCacheDir('kinesis-peers'), log });
  return withFreePort(options.port, 'kinesis-local', async (port) => {
    const tlsPort = await claimLoopbackPort(undefined, { what: 'kinesis-local', taken: [port] });
    return startKinesisOn(install, port, tlsPort, streams, log);
  });
}

/**
 * Starts dynalite (an in-memory DynamoDB) on 127.0.0.1 and resolves once ListTables answers.
 * Its tables are shared by every client: give them unique names. No transactions (fine for KCL
 * lease tables). Rejects as {@link startKinesisLocal} does.
 *
 * @example
 * const dynamo = await startDynamoLocal();
 * const client = localDynamoClient(dynamo.endpoint);
 * @see startKinesisLocal
 */
export async function startDynamoLocal(options: StartDynamoLocalOptions = {}): Promise<DynamoLocal> {
  const log = options.log ?? (() => undefined);
  const install = await ensureKinesisPeers({ cacheDir: options.cacheDir ?? packageCacheDir('kinesis-peers'), log });
  return withFreePort(options.port, 'dynalite', (port) => startDynamoOn(install, port, log));
}

/** `INITIALIZE_STREAMS` for `streams`, or a UserError naming the bad entry. */
function initializeStreams(streams: Readonly<Record<string, number>>): { readonly value: string; readonly names: string[] } {
  const names = Object.keys(streams);
  for (const name of names) {
    const shards = streams[name];
    if (!STREAM_NAME.test(name)) throw new UserError(ErrorCode.BAD_OPTION, `stream name '${name}': use 1 to 128 letters, digits, '_', '.' or '-'`);
    if (shards === undefined || !Number.isInteger(shards) || shards < 1) throw new UserError(ErrorCode.BAD_OPTION, `stream '${name}': the shard count must be a whole number from 1, got ${String(shards)}`);
  }
  return { value: names.map((name) => `${name}:${streams[name]}`).join(','), names };
}

class PortTaken extends Error {}

/** Runs `start` on a claimed port, again on another free port when the bind lost a race. */
async function withFreePort<T>(requested: number | undefined, what: string, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // a requested port must be free (a clear error beats the server dying on bind)
    const port = await claimLoopbackPort(requested, { what });
    try {
      return await start(port);
    } catch (err) {
      if (!(err instanceof PortTaken) || requested !== undefined || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

async function startKinesisOn(install: KinesisPeersInstall, port: number, tlsPort: number, streams: { value: string; names: string[] }, log: (line: string) => void): Promise<KinesisLocal> {
  const dir = await freshRunDir('sluice-kinesis-');
  const logFile = join(dir, 'kinesis-local.log');
  const endpoint = `http://127.0.0.1:${port}`;
  log(`starting kinesis-local on ${endpoint} (log: ${logFile})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KINESIS_MOCK_PLAIN_PORT: String(port),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    KINESIS_MOCK_CERT_PATH: install.kinesisCert,
    // WARN: handled errors (bad requests) and worse; INFO logs every request
    LOG_LEVEL: 'WARN',
    ROOT_LOG_LEVEL: 'ERROR',
    SHOULD_PERSIST_DATA: 'false',
    ...Object.fromEntries(KINESIS_DURATION_VARIABLES.map((name) => [name, KINESIS_STATE_DURATION])),
  };
  if (streams.value === '') delete env['INITIALIZE_STREAMS'];
  else env['INITIALIZE_STREAMS'] = streams.value;
  const [command, args] = dyingWithParent(process.execPath, [install.kinesisMain]);
  const proc = launch({ name: 'kinesis-local', command, args, output: logFile, stopGraceMs: STOP_GRACE_MS, cwd: dir, env });
  await ready(proc, dir, logFile, port, (signal) => waitForKinesis(endpoint, { timeoutMs: READY_TIMEOUT_MS, signal, streams: streams.names }), "kinesis-local's log");
  return { endpoint, port, logFile, stop: stopAndRemove(proc, dir) };
}

async function startDynamoOn(install: KinesisPeersInstall, port: number, log: (line: string) => void): Promise<DynamoLocal> {
  const dir = await freshRunDir('sluice-dynalite-');
  const logFile = join(dir, 'dynalite.log');
  const endpoint = `http://127.0.0.1:${port}`;
  log(`starting dynalite on ${endpoint} (log: ${logFile})`);
  const settings = ['--host', '127.0.0.1', '--port', String(port), '--createTableMs', DYNALITE_TABLE_STATE_MS, '--deleteTableMs', DYNALITE_TABLE_STATE_MS, '--updateTableMs', DYNALITE_TABLE_STATE_MS];
  const [command, args] = dyingWithParent(process.execPath, [install.dynaliteCli, ...settings]);
  const proc = launch({ name: 'dynalite', command, args, output: logFile, stopGraceMs: STOP_GRACE_MS, cwd: dir, env: process.env });
  await ready(proc, dir, logFile, port, (signal) => waitForDynamo(endpoint, { timeoutMs: READY_TIMEOUT_MS, signal }), "dynalite's log");
  return { endpoint, port, logFile, stop: stopAndRemove(proc, dir) };
}

/** {@link whenReady}, removing the temp folder on failure and telling a lost port race apart. */
async function ready(proc: LaunchedProcess, dir: string, logFile: string, port: number, probe: (signal: AbortSignal) => Promise<void>, logName: string): Promise<void> {
  try {
    await whenReady(proc, probe, { name: logName, tail: () => fileTail(logFile) });
  } catch (err) {
    const inUse = /EADDRINUSE|Address already in use/i.test(readFileSync(logFile, 'utf8'));
    await rm(dir, { recursive: true, force: true });
    if (inUse) throw new PortTaken(`port ${port} is taken`);
    throw err;
  }
}
