/**
 * Child processes of the local peers (Kafka, moto, OpenSearch, InfluxDB): tools run to completion
 * with their output captured, and servers run in the background with their output in a log file,
 * dying with this Node process, stopped with SIGTERM and then SIGKILL. Nothing here ever writes
 * to our stdout or stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { messageOf } from '../../core/errors.js';

/** Lines of a tool's or a server's output quoted in error messages. */
export const TAIL_LINES = 40;

/** util-linux's setpriv, for {@link dyingWithParent}. */
export const SETPRIV = '/usr/bin/setpriv';

export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs a command to completion with stdout and stderr captured together.
 *
 * @example const { code, output } = await run('mvn', ['-v'])
 * @see runOrThrow
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

/**
 * Runs a command and rejects with `what` and the tail of its output unless it exits with 0.
 *
 * @example await runOrThrow('python3', ['-m', 'venv', dir], 'python3 -m venv could not create a virtualenv')
 * @see run
 */
export async function runOrThrow(command: string, args: readonly string[], what: string): Promise<string> {
  const { code, output } = await run(command, args);
  if (code !== 0) throw new Error(`${what} (exit code ${code}):\n${tail(output)}`);
  return output;
}

/**
 * The last `lines` non-empty lines of `text`, indented for quoting in a message.
 *
 * @example tail('a\n\nb\n') // '  a\n  b'
 * @see fileTail
 */
export function tail(text: string, lines = TAIL_LINES): string {
  const kept = text.split('\n').filter((line) => line.trim() !== '').slice(-lines);
  return kept.length === 0 ? '  (no output)' : kept.map((line) => `  ${line}`).join('\n');
}

/**
 * {@link tail} of a file; a missing file reads as empty.
 *
 * @example fileTail(join(dir, 'server.log'))
 */
export function fileTail(path: string, lines = TAIL_LINES): string {
  return tail(existsSync(path) ? readFileSync(path, 'utf8') : '', lines);
}

/**
 * True when `pid` is a running process (EPERM: it runs, as another user).
 *
 * @example isAlive(process.pid) // true
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The command line that runs `command` so that it dies with this process: `setpriv --pdeathsig
 * TERM` makes the kernel send SIGTERM when Node dies without `stop()` (kill -9 of a test worker),
 * so no server is left holding ports. Without setpriv, the command as is.
 *
 * @example dyingWithParent('java', ['-version']) // ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', 'java', '-version']]
 * @see launch
 */
export function dyingWithParent(command: string, args: readonly string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, [...args]];
}

/**
 * What {@link launch} starts.
 *
 * @example { name: 'moto', command, args, output: logFile, stopGraceMs: 5_000 }
 */
export interface LaunchOptions {
  /** Names the process in errors: `NAME exited during start-up (exit code 1)`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The file that takes its stdout and stderr (appended to). */
  readonly output: string;
  /** How long SIGTERM has before SIGKILL follows. */
  readonly stopGraceMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A server process started by {@link launch}. */
export interface LaunchedProcess {
  readonly child: ChildProcess;
  /**
   * Aborts as soon as the process exits or cannot be spawned, with the reason: give it to the
   * readiness wait, so a crash is reported at once rather than at the timeout.
   */
  readonly died: AbortSignal;
  /** SIGTERM, then SIGKILL after `stopGraceMs`; resolves once the process is gone. */
  terminate(): Promise<void>;
}

/** Servers still running in this process, killed if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a server in the background with its output going to `output`.
 *
 * @example
 * const [command, args] = dyingWithParent(server, ['-p', String(port)]);
 * const proc = launch({ name: 'moto', command, args, output: logFile, stopGraceMs: 5_000 });
 * await whenReady(proc, (signal) => waitForMoto(endpoint, { timeoutMs: 60_000, signal }), { name: "moto's log", tail: () => fileTail(logFile) });
 * @see whenReady
 */
export function launch(options: LaunchOptions): LaunchedProcess {
  const out = openSync(options.output, 'a');
  const child = spawn(options.command, options.args, {
    stdio: ['ignore', out, out],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  closeSync(out);
  running.add(child);
  // 'exit' may never follow a failed spawn ('error'), and terminate() must not wait for it then
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  void exited.then(() => running.delete(child));

  const died = new AbortController();
  child.once('exit', (code, signal) => died.abort(new Error(`${options.name} exited during start-up (${signal ?? `exit code ${code}`})`)));
  child.once('error', (err) => died.abort(err));
  return { child, died: died.signal, terminate: () => terminate(child, exited, options.stopGraceMs) };
}

/**
 * Waits for `ready` (given the process's {@link LaunchedProcess.died} signal). When it rejects (the
 * process died, or did not answer in time), stops the process and rejects with the reason and
 * the last lines of its log.
 *
 * @example await whenReady(proc, (signal) => waitForPing(url, { timeoutMs: 30_000, signal }), { name: 'the influxd log', tail: () => fileTail(logFile, 30) })
 * @see launch
 */
export async function whenReady(
  proc: LaunchedProcess,
  ready: (died: AbortSignal) => Promise<void>,
  log: { readonly name: string; readonly tail: () => string },
): Promise<void> {
  try {
    await ready(proc.died);
  } catch (err) {
    await proc.terminate();
    throw new Error(`${messageOf(err)}\nlast lines of ${log.name}:\n${log.tail()}`, { cause: err });
  }
}

/**
 * The `stop()` of a server whose files live in `dir`: terminates it, then removes the folder.
 * Safe to call more than once (every call gets the same promise).
 *
 * @example return { url, stop: stopAndRemove(proc, dir) };
 */
export function stopAndRemove(proc: LaunchedProcess, dir: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= proc.terminate().then(() => rm(dir, { recursive: true, force: true })));
}

async function terminate(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
