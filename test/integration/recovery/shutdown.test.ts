/**
 * Shutdown (issue 3): on SIGTERM Sluice stops intake, drains, checkpoints and exits 0 within
 * `--shutdown-timeout`; when it cannot (a sink is stuck) it says so in one line and exits 1 at the
 * deadline; a second signal exits at once (128 + signal number).
 *
 * A stuck sink is a peer that stopped reading: a named pipe opened for reading and never read
 * (the file sink blocks in write()), or a stdout pipe nobody reads.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, lines, scratch } from '../cli/cli.js';
import { eventsIn, exitWithin, mkfifo, passThroughModule, sleep, start, writeSeqEvents, type Running } from './recovery.js';

let dir: string;
let cleanup: () => Promise<void>;
let module: string;
let input: string;
/** Fewer events than the sinks may hold unacknowledged (65,536): read to the end even while stuck. */
let small: string;
const SMALL_EVENTS = 20_000;

/** How long after the deadline (or after a second signal) the process has to be gone. */
const SLACK_MS = 8_000;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  module = await passThroughModule(dir);
  input = join(dir, 'events.jsonl');
  // ~20 MB: far more than any pipe holds, so the sink is stuck long before the input ends
  await writeSeqEvents(input, 200_000);
  small = join(dir, 'small.jsonl');
  await writeSeqEvents(small, SMALL_EVENTS);
});
afterAll(() => cleanup());

interface Stuck {
  readonly sink: string;
  readonly stdout: 'pipe' | 'stuck';
  /** Releases the peer, after the process is gone. */
  readonly release: () => Promise<void>;
}

let fifos = 0;

/** A peer that stopped reading, behind the sink URL it returns. */
async function stuckPeer(kind: 'fifo' | 'stdout'): Promise<Stuck> {
  if (kind === 'stdout') return { sink: 'stdout:', stdout: 'stuck', release: async () => undefined };
  const fifo = join(dir, `stuck-${fifos++}.fifo`);
  mkfifo(fifo);
  // Opening a FIFO for writing waits for a reader: this one opens it and never reads.
  const reader: FileHandle = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  return { sink: `file:${fifo}`, stdout: 'pipe', release: () => reader.close() };
}

/** Runs until the sink is stuck, sends `signals` SIGTERMs 200 ms apart, and waits up to `waitMs` for the exit. */
async function stopStuck(kind: 'fifo' | 'stdout', shutdownTimeout: string, signals: number, waitMs: number) {
  const peer = await stuckPeer(kind);
  let child: Running | undefined;
  try {
    child = start(['run', module, '--source', `file:${input}`, '--sink', peer.sink, '--shutdown-timeout', shutdownTimeout], { stdout: peer.stdout });
    // a second and a half: long enough to fill any pipe with 100-byte records; the input is far from read
    const early = await exitWithin(child.exited, 1_500);
    expect(early, `exited before it was signalled: ${child.stderr()}`).toBeUndefined();
    for (let i = 0; i < signals; i++) {
      if (i > 0) await sleep(200);
      child.child.kill('SIGTERM');
    }
    const exit = await exitWithin(child.exited, waitMs);
    return { exit, stderr: child.stderr() };
  } finally {
    if (child !== undefined && child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    await peer.release();
  }
}

describe.each(['fifo', 'stdout'] as const)('SIGTERM with a stuck sink (%s)', (kind) => {
  it('exits 1 at the --shutdown-timeout deadline, saying it could not finish and checkpoint in time', async () => {
    const { exit, stderr } = await stopStuck(kind, '2s', 1, 2_000 + SLACK_MS);
    expect(exit, `still running ${(2_000 + SLACK_MS) / 1000} s after SIGTERM with --shutdown-timeout 2s; stderr:\n${stderr}`).toBeDefined();
    expect(exit?.signal, stderr).toBeNull();
    expect(exit?.code, stderr).toBe(1);
    expect(lines(stderr)).toEqual(['sluice: could not finish and checkpoint within --shutdown-timeout 2s; exiting without a final checkpoint']);
  }, 60_000);

  it('exits at once with 143 on a second SIGTERM', async () => {
    // a deadline far away, so that only the second signal can end the run within the wait
    const { exit, stderr } = await stopStuck(kind, '60s', 2, SLACK_MS);
    expect(exit, `still running ${SLACK_MS / 1000} s after the second SIGTERM; stderr:\n${stderr}`).toBeDefined();
    expect(exit?.signal, stderr).toBeNull();
    expect(exit?.code, stderr).toBe(143);
    expect(lines(stderr)).toEqual(['sluice: second SIGTERM, exiting now']);
  }, 60_000);
});

describe('SIGTERM after the input was read to its end', () => {
  it('finishes, exits 0, and its summary does not say it stopped before the end of input', async () => {
    const checkpoints = join(dir, 'ended-checkpoints');
    const args = ['run', module, '--source', `file:${small}`, '--sink', 'stdout:', '--checkpoint', `file:${checkpoints}`];
    // ~2 MB of results into a stdout nobody reads yet: the run has read all its input (fewer
    // records than the sinks may hold unacknowledged) and waits for the sink
    const child = start(args, { stdout: 'stuck' });
    try {
      const early = await exitWithin(child.exited, 1_500);
      expect(early, `exited before it was signalled: ${child.stderr()}`).toBeUndefined();
      child.child.kill('SIGTERM');
      child.unstick();
      const exit = await exitWithin(child.exited, 20_000);
      expect(exit?.code, child.stderr()).toBe(0);
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    }
    expect(lines(child.stdout())).toHaveLength(SMALL_EVENTS);
    const summary = lines(child.stderr()).at(-1) ?? '';
    expect(summary).toMatch(new RegExp(`^sluice: ${SMALL_EVENTS} events in, ${SMALL_EVENTS} results out,`));

    // the final checkpoint recorded the end of the input: a restart has nothing left to read …
    const again = start(args);
    const againExit = await again.exited;
    expect(againExit.code, again.stderr()).toBe(0);
    expect(eventsIn(again.stderr()), again.stderr()).toBe(0);
    // … so the first run's summary must not tell the operator that input is left
    expect(summary).not.toContain('stopped before the end of input');
  }, 60_000);
});
