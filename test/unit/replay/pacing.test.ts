import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../../src/replay/capture-format.js';
import { DueTimes, type Pace } from '../../../src/replay/pacing.js';
import { replayCapture, type ReplayOptions, type ReplaySummary } from '../../../src/replay/replay.js';

// Virtual time throughout: a VirtualTimeScheduler is the replay's clock, and the driver below
// advances it whenever the replay waits, so a replay of minutes runs in milliseconds.

const T0 = 1_793_536_140_000;

function capture(timestamps: readonly (number | null)[]): CaptureRecord[] {
  return timestamps.map((t, i) => ({ partition: i % 2, offset: String(i), timestamp: t === null ? null : T0 + t, key: `k${i}`, headers: {}, value: `v${i}` }));
}

interface Send {
  readonly at: number;
  readonly values: string[];
}

/** Runs a replay on virtual time; returns each send with the virtual time it happened at. */
async function replayOn(
  records: readonly CaptureRecord[],
  pace: Pace,
  extra: Partial<ReplayOptions> & { stopAfter?: number } = {},
): Promise<{ sends: Send[]; summary: ReplaySummary; values: string[]; times: number[] }> {
  const scheduler = new VirtualTimeScheduler();
  const stop = new AbortController();
  const sends: Send[] = [];
  let sent = 0;
  const run = replayCapture({
    capture: async function* () {
      yield* records;
    },
    target: {
      send: async (batch) => {
        sends.push({ at: scheduler.now(), values: batch.map((r) => r.value as string) });
        sent += batch.length;
        if (extra.stopAfter !== undefined && sent >= extra.stopAfter) stop.abort();
      },
    },
    pace,
    scheduler,
    signal: stop.signal,
    ...extra,
  });
  let done = false;
  void run.finally(() => (done = true));
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.flush();
  }
  const summary = await run;
  const values = sends.flatMap((s) => s.values);
  const times = sends.flatMap((s) => s.values.map(() => s.at));
  return { sends, summary, values, times };
}

describe('replay pacing (virtual time)', () => {
  const gaps = [0, 100, 300, 1300, 1350];

  it('--speed 1 reproduces the captured gaps', async () => {
    const { times, values, summary } = await replayOn(capture(gaps), { kind: 'speed', factor: 1 });
    expect(times).toEqual([0, 100, 300, 1300, 1350]);
    expect(values).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(summary).toEqual({ records: 5, passes: 1, stopped: false });
  });

  it('--speed 2 halves every gap', async () => {
    const { times } = await replayOn(capture(gaps), { kind: 'speed', factor: 2 });
    expect(times).toEqual([0, 50, 150, 650, 675]);
  });

  it('--speed 0.5 doubles them, measured from the first record whatever its timestamp', async () => {
    const { times } = await replayOn(capture(gaps.map((g) => g + 60_000)), { kind: 'speed', factor: 0.5 });
    expect(times).toEqual([0, 200, 600, 2600, 2700]);
  });

  it('--rate N spaces records evenly, ignoring the timestamps', async () => {
    const { times } = await replayOn(capture([0, 5000, 5001, null, 0, 9000]), { kind: 'rate', perSecond: 4 });
    expect(times).toEqual([0, 250, 500, 750, 1000, 1250]);
  });

  it('max (--speed 0) sends everything at once, in batches of the configured size, in order', async () => {
    const records = capture(Array.from({ length: 25 }, (_, i) => i * 1000));
    const { sends, values } = await replayOn(records, { kind: 'max' }, { maxBatchRecords: 10 });
    expect(sends.map((s) => [s.at, s.values.length])).toEqual([
      [0, 10],
      [0, 10],
      [0, 5],
    ]);
    expect(values).toEqual(records.map((r) => r.value));
  });

  it('splits batches by bytes too', async () => {
    const records = capture([0, 0, 0, 0]).map((r) => ({ ...r, value: 'x'.repeat(400) }));
    const { sends } = await replayOn(records, { kind: 'max' }, { maxBatchBytes: 1000 });
    expect(sends.map((s) => s.values.length)).toEqual([2, 2]);
  });

  it('never reorders: records without a timestamp or going back in time are due at once', async () => {
    const { values, times } = await replayOn(capture([0, 1000, null, 500, 2000]), { kind: 'speed', factor: 1 });
    expect(values).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(times).toEqual([0, 1000, 1000, 1000, 2000]);
  });

  it('--loop repeats the capture, each pass with the captured timing, until stopped', async () => {
    const { values, times, summary } = await replayOn(capture([0, 100, 300]), { kind: 'speed', factor: 1 }, { loop: true, stopAfter: 9 });
    expect(values).toEqual(['v0', 'v1', 'v2', 'v0', 'v1', 'v2', 'v0', 'v1', 'v2']);
    expect(times).toEqual([0, 100, 300, 300, 400, 600, 600, 700, 900]);
    expect(summary).toEqual({ records: 9, passes: 3, stopped: true });
  });

  it('--loop with --rate keeps the spacing across passes', async () => {
    const { times } = await replayOn(capture([0, 0]), { kind: 'rate', perSecond: 10 }, { loop: true, stopAfter: 6 });
    expect(times).toEqual([0, 100, 200, 300, 400, 500]);
  });

  it('--loop over an empty capture ends instead of spinning', async () => {
    const { summary } = await replayOn([], { kind: 'max' }, { loop: true });
    expect(summary).toEqual({ records: 0, passes: 1, stopped: false });
  });

  it('a stop during a wait ends the replay without sending the waiting record', async () => {
    const { values, summary } = await replayOn(capture([0, 60_000]), { kind: 'speed', factor: 1 }, { stopAfter: 1 });
    expect(values).toEqual(['v0']);
    expect(summary).toEqual({ records: 1, passes: 1, stopped: true });
  });
});

describe('DueTimes', () => {
  it('measures from the pass start, so time spent sending does not add up', () => {
    const due = new DueTimes({ kind: 'speed', factor: 1 });
    due.startPass(1000);
    expect([due.next(T0), due.next(T0 + 10), due.next(T0 + 20)]).toEqual([1000, 1010, 1020]);
    due.startPass(5000);
    expect([due.next(T0 + 20), due.next(T0 + 30)]).toEqual([5000, 5010]);
  });

  it('refuses a speed or rate that is not positive', () => {
    expect(() => new DueTimes({ kind: 'speed', factor: 0 })).toThrow(RangeError);
    expect(() => new DueTimes({ kind: 'rate', perSecond: Number.NaN })).toThrow(RangeError);
  });
});
