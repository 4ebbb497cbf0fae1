/**
 * `sluice` processes started by the Kafka test files: CLI runs that a test that fails half-way
 * must not leave running (one would hold its consumer group's partitions past the test), and
 * foreground commands such as `sluice dev kafka`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ROOT } from '../cli/cli.js';
import { start, type Running } from '../recovery/recovery.js';

/**
 * Registers an `afterEach` that kills (SIGKILL) every CLI the test started that is still running
 * and waits for it; returns the function that starts them.
 *
 * @example
 * const start = useCliRuns();
 * it('reads', async () => { const run = start(['aggregate', '--source', `kafka://${kafka.bootstrap}/${topic}?group=g`]); … });
 */
export function useCliRuns(): (args: readonly string[]) => Running {
  const started: Running[] = [];
  afterEach(async () => {
    for (const run of started.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await run.exited;
    }
  });
  return (args) => {
    const run = start(args);
    started.push(run);
    return run;
  };
}

/** A foreground `sluice` command (`sluice dev kafka`) started by {@link startForeground}. */
export interface ForegroundRun {
  readonly child: ChildProcess;
  /** What it wrote to stdout so far. */
  stdout(): string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `sluice ARGS` and resolves once it wrote its first line to stderr (a foreground command
 * says where it runs, then waits for Ctrl-C); rejects, with that stderr, when it exits first. The
 * caller stops it (SIGTERM, and SIGKILL in a `finally`).
 *
 * @example const dev = await startForeground(['dev', 'kafka', '--port', String(port)]); // dev.stderr() === 'sluice: Kafka is running at …\n'
 */
export async function startForeground(args: readonly string[]): Promise<ForegroundRun> {
  const child = spawn(join(ROOT, 'bin', 'sluice'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('\n')) resolve();
      });
      // the command's first two words only: later ones may hold a password
      void exited.then(({ code }) => reject(new Error(`sluice ${args.slice(0, 2).join(' ')} exited (${code}) before it was ready: ${stderr}`)));
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}
