/**
 * The load test's side of the load driver's process: forks it (through tsx when Sluice runs from
 * its TypeScript sources), talks to it over IPC, and turns its messages into promises and callbacks.
 *
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, UserError } from '../core/errors.js';
import type { DriverMessage, DriverPlan, StepSendStats } from './driver.js';

/** How long the driver may take to connect its producer. */
const CONNECT_TIMEOUT_MS = 60_000;

/** A running load driver. */
export interface DriverHandle {
  /** Partitions of the topic (open shards of the stream), once connected. */
  readonly partitions: number;
  /** Sends one warm-up record to every partition; resolves once the broker has them. */
  warmUp(): Promise<void>;
  /** Starts the schedule at `startAt` (epoch ms); resolves with each step's stats when all are sent and answered. */
  run(startAt: number, onProgress: (progress: Extract<DriverMessage, { type: 'progress' }>) => void): Promise<StepSendStats[]>;
  /** Stops sending what is due; what was sent is still awaited and reported. */
  stop(): void;
  /** Ends the process if it still runs. */
  kill(): void;
}

/**
 * Forks the driver and has it connect to `target`; resolves when its producer is ready.
 * `aggregate`: a Kinesis producer packs user records into KPL aggregated records.
 *
 * @example const driver = await startDriver('kafka://127.0.0.1:9092/load', plan)
 * @throws UserError with the driver's own one-line reason (unreachable broker, missing topic …)
 */
export async function startDriver(target: string, plan: DriverPlan, options: { readonly aggregate?: boolean } = {}): Promise<DriverHandle> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = here.replace(/driver-handle\.(ts|js)$/, `driver-process.$1`);
  const execArgv = fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  const child: ChildProcess = fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const listeners = new Set<(message: DriverMessage) => void>();
  child.on('message', (message: DriverMessage) => {
    for (const listener of listeners) listener(message);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      const tail = stderr.trim().split('\n').slice(-5).join(' | ');
      reject(new Error(`the load driver exited (${signal ?? `code ${code}`}) before it finished${tail === '' ? '' : `: ${tail}`}`));
    });
    child.once('error', reject);
  });
  exited.catch(() => undefined);
  const next = <T extends DriverMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<DriverMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const listener = (message: DriverMessage): void => {
        if (message.type === 'error') reject(new UserError(ErrorCode.UNREADABLE_INPUT, message.message));
        else if (message.type === type) resolve(message as Extract<DriverMessage, { type: T }>);
        else return;
        listeners.delete(listener);
        clearTimeout(timer);
      };
      listeners.add(listener);
      if (timeoutMs !== undefined) timer = setTimeout(() => reject(new Error(`the load driver did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      exited.catch((err: unknown) => {
        listeners.delete(listener);
        clearTimeout(timer);
        reject(err);
      });
    });

  child.send({ type: 'connect', target, plan, aggregate: options.aggregate === true });
  let ready: Extract<DriverMessage, { type: 'ready' }>;
  try {
    ready = await next('ready', CONNECT_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    partitions: ready.partitions,
    async warmUp() {
      child.send({ type: 'warm-up' });
      await next('warmed', CONNECT_TIMEOUT_MS);
    },
    async run(startAt, onProgress) {
      const steps: StepSendStats[] = [];
      const collect = (message: DriverMessage): void => {
        if (message.type === 'step') steps.push(message.stats);
        else if (message.type === 'progress') onProgress(message);
      };
      listeners.add(collect);
      try {
        child.send({ type: 'start', startAt });
        await next('done');
      } finally {
        listeners.delete(collect);
      }
      return steps;
    },
    stop() {
      if (child.connected) child.send({ type: 'stop' });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
