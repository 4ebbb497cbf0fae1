/**
 * Backpressure (issue 3): with a slow sink, sources read only while the sinks' unacknowledged
 * records are under a bound, so memory stays within a fixed budget whatever the input size.
 *
 * The slow sink is a real slow peer: the file sink writes into a named pipe that this test reads
 * at about 1 ms per line, so the sink blocks on the full pipe.
 */
import { stat } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, lines, scratch } from '../cli/cli.js';
import { alive, eventsIn, exitWithin, FifoReader, mkfifo, passThroughModule, RssSampler, sleep, start, writeSeqEvents, type Running } from './recovery.js';

/** Peak resident set allowed while the sink is slow. */
const RSS_BUDGET_MB = 300;
const EVENTS = 1_000_000;
/** How long the slow reader reads before the test stops the run. */
const SLOW_PHASE_MS = 6_000;

let dir: string;
let cleanup: () => Promise<void>;
let input: string;
let module: string;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  input = join(dir, 'events.jsonl');
  await writeSeqEvents(input, EVENTS);
  module = await passThroughModule(dir);
}, 120_000);
afterAll(() => cleanup());

let fifos = 0;

interface SlowRun {
  readonly child: Running;
  readonly reader: FifoReader;
  readonly rss: RssSampler;
  /** Whether the process was still running when the slow phase ended. */
  readonly aliveAfterSlowPhase: boolean;
  /** Lines the reader had taken when SIGTERM was sent. */
  readonly linesAtSigterm: number;
  /** Undefined when the process was still running long after SIGTERM. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Runs the pass-through module into a FIFO read at 1 ms per line for {@link SLOW_PHASE_MS}, then
 * sends SIGTERM and drains the FIFO at full speed until the process exits.
 */
async function slowRunThenStop(fifo: string, extra: readonly string[], seqs?: Uint16Array): Promise<SlowRun> {
  const reader = new FifoReader(fifo, 1, seqs);
  const child = start(['run', module, '--source', `file:${input}`, '--sink', `file:${fifo}`, ...extra]);
  const rss = new RssSampler(child.pid, 100);
  try {
    await sleep(SLOW_PHASE_MS);
    const aliveAfterSlowPhase = alive(child.pid);
    const linesAtSigterm = reader.lines;
    child.child.kill('SIGTERM');
    // the final checkpoint waits for the sink: keep draining, now as fast as the pipe goes
    reader.fast();
    // within the default --shutdown-timeout (25 s), with room to spare
    const exit = await exitWithin(child.exited, 40_000);
    if (exit !== undefined) await reader.done;
    return { child, reader, rss, aliveAfterSlowPhase, linesAtSigterm, exit };
  } finally {
    rss.stop();
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await reader.release();
  }
}

/** The memory and backpressure claims, shared by both tests. */
async function expectBoundedWhileSlow(run: SlowRun): Promise<number> {
  const stderr = run.child.stderr();
  expect(run.aliveAfterSlowPhase, `the run ended before the slow phase was over:\n${stderr}`).toBe(true);
  // the input is ~100 MB of text, 1 M events; held as parsed events it would be several times the budget
  expect((await stat(input)).size).toBeGreaterThan(95_000_000);
  expect(run.rss.samples).toBeGreaterThan(SLOW_PHASE_MS / 100 / 2);
  expect(run.rss.peakKb / 1024, `peak RSS ${(run.rss.peakKb / 1024).toFixed(0)} MB`).toBeLessThan(RSS_BUDGET_MB);
  expect(run.exit, `still running 40 s after SIGTERM:\n${stderr}`).toBeDefined();
  expect(run.exit?.code, stderr).toBe(0);
  const summary = lines(stderr).at(-1) ?? '';
  expect(summary).toMatch(/^sluice: \d+ events in, \d+ results out, .*, stopped before the end of input/);
  const read = eventsIn(stderr) as number;
  // The source was held back by the slow sink rather than read ahead into memory. README: a
  // partition reads its next batch only while it has fewer than 4 batches in flight and the sinks
  // fewer than 65,536 records unacknowledged; a write counts once the pipe took it.
  const pipe = Math.ceil((64 * 1024) / 100);
  expect(read - run.linesAtSigterm, summary).toBeLessThan(65_536 + 5 * 1024 + pipe);
  expect(read, summary).toBeLessThan(EVENTS / 4);
  // a graceful stop writes everything it read, and only whole lines
  expect(run.reader.lines, summary).toBe(read);
  expect(run.reader.partial).toBe('');
  return read;
}

describe('a slow sink holds the source back', () => {
  it(`keeps peak RSS under ${RSS_BUDGET_MB} MB with a FIFO read at 1 ms per line, and stops gracefully on SIGTERM`, async () => {
    const fifo = join(dir, `slow-${fifos++}.fifo`);
    mkfifo(fifo);
    const run = await slowRunThenStop(fifo, []);
    const read = await expectBoundedWhileSlow(run);
    console.log(`no checkpoint: peak RSS ${(run.rss.peakKb / 1024).toFixed(0)} MB, ${read} events read before SIGTERM`);
  }, 60_000);

  it('with --checkpoint: bounded, a final checkpoint on SIGTERM, and a restart delivers every event exactly once', async () => {
    const fifo = join(dir, `slow-${fifos++}.fifo`);
    mkfifo(fifo);
    const checkpoints = join(dir, 'checkpoints');
    const flags = ['--checkpoint', `file:${checkpoints}`];
    const seqs = new Uint16Array(EVENTS);

    const run = await slowRunThenStop(fifo, flags, seqs);
    const read = await expectBoundedWhileSlow(run);
    const home = join(checkpoints, 'pass-through');
    expect(existsSync(home) && readdirSync(home).some((n) => /^checkpoint-\d+\.json$/.test(n)), `no checkpoint in ${home}`).toBe(true);
    expect(lines(run.child.stderr()).at(-1)).toMatch(/, checkpoint \d+ saved$/);

    // the restart reads the rest, with a reader that keeps up
    const reader = new FifoReader(fifo, 0, seqs);
    const rest = start(['run', module, '--source', `file:${input}`, '--sink', `file:${fifo}`, ...flags]);
    try {
      const exit = await exitWithin(rest.exited, 60_000);
      expect(exit, `the restart did not finish within 60 s:\n${rest.stderr()}`).toBeDefined();
      await reader.done;
      expect(exit?.code, rest.stderr()).toBe(0);
      expect(lines(rest.stderr()).at(-1)).toMatch(/, resumed from checkpoint \d+/);
      expect(eventsIn(rest.stderr())).toBe(EVENTS - read);
    } finally {
      if (rest.child.exitCode === null && rest.child.signalCode === null) rest.child.kill('SIGKILL');
      await reader.release();
    }
    // at least once for every event; more than once for none, since the stop was graceful and
    // its checkpoint covers everything written before it
    const missing: number[] = [];
    const duplicated: number[] = [];
    seqs.forEach((n, seq) => {
      if (n === 0) missing.push(seq);
      if (n > 1) duplicated.push(seq);
    });
    expect(missing.length, `missing seqs, first: ${missing.slice(0, 10).join(', ')}`).toBe(0);
    expect(duplicated.length, `duplicated seqs, first: ${duplicated.slice(0, 10).join(', ')}`).toBe(0);
  }, 120_000);
});
