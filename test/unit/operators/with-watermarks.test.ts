import { config as rxConfig } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batch, END, watermark, type Element } from '../../../src/core/elements.js';
import type { Envelope } from '../../../src/core/envelope.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { withWatermarks } from '../../../src/windows/watermarks.js';
import { env, events, harness, values } from './harness.js';

interface Ev {
  readonly ts?: unknown;
  readonly n?: number;
}

const NEG = Number.NEGATIVE_INFINITY;

/** Events `{ ts, n }` with n numbering them from 1, one line each. */
const at = (...times: unknown[]) => times.map((ts, i) => env<Ev>({ ts, n: i + 1 }, i + 1));

/** The output as `[time, wm]` per event and `wm(t)` per watermark element, in order. */
function timeline(out: readonly Element<Ev>[]): unknown[] {
  return out.map((element) =>
    element.kind === 'batch' ? element.events.map((e) => [e.time, e.wm]) : element.kind === 'watermark' ? `wm(${element.time})` : element.kind,
  );
}

async function timeOf(ts: unknown): Promise<number> {
  const h = harness();
  const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(at(ts))]);
  expect(h.deadLetters).toEqual([]);
  const [e] = events(out);
  if (e === undefined) throw new Error('event was dropped');
  return e.time;
}

describe('withWatermarks: reading event time', () => {
  it('reads epoch milliseconds from a number', async () => {
    expect(await timeOf(1_700_000_000_123)).toBe(1_700_000_000_123);
  });

  it('reads epoch milliseconds from a string of digits', async () => {
    expect(await timeOf('1700000000123')).toBe(1_700_000_000_123);
  });

  it('floors fractional milliseconds', async () => {
    expect(await timeOf(1000.9)).toBe(1000);
    expect(await timeOf(-1.5)).toBe(-2);
  });

  it('reads ISO-8601 with Z', async () => {
    expect(await timeOf('2024-03-10T12:34:56.789Z')).toBe(Date.UTC(2024, 2, 10, 12, 34, 56, 789));
  });

  it('reads ISO-8601 with an offset, with or without a colon', async () => {
    expect(await timeOf('2024-03-10T12:34:56+02:00')).toBe(Date.UTC(2024, 2, 10, 10, 34, 56));
    expect(await timeOf('2024-03-10T12:34:56-0530')).toBe(Date.UTC(2024, 2, 10, 18, 4, 56));
  });

  it('reads ISO-8601 without a zone as UTC, whatever the machine zone', async () => {
    // 2024-03-10T12:34:56 UTC; a local-time reading would differ by the zone offset
    expect(await timeOf('2024-03-10T12:34:56')).toBe(1_710_074_096_000);
    expect(await timeOf('2024-03-10 12:34:56.5')).toBe(1_710_074_096_500);
    expect(await timeOf('2024-03-10T12:34')).toBe(1_710_074_040_000);
    expect(await timeOf('2024-03-10')).toBe(1_710_028_800_000);
  });

  it('reads a dotted path and a time function (which may return a Date)', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<{ meta: { at: number } }>({ time: 'meta.at' }), [batch([env({ meta: { at: 42 } }, 1)])]);
    expect(events(out).map((e) => e.time)).toEqual([42]);
    const f = harness();
    const fromFn = await f.run(withWatermarks<Ev>({ time: (v) => new Date(v.n ?? 0) }), [batch(at(null, null))]);
    expect(events(fromFn).map((e) => e.time)).toEqual([1, 2]);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
  ])('dead-letters an event whose time is %s with MISSING_TIME; the rest go on', async (_what, ts) => {
    const h = harness();
    const bad: Ev = ts === undefined ? { n: 2 } : { ts, n: 2 };
    // the operator compacts the batch array in place, so keep what the bad record looked like
    const raw = JSON.stringify(bad);
    const input = [env<Ev>({ ts: 1000, n: 1 }, 1), env<Ev>(bad, 2), env<Ev>({ ts: 3000, n: 3 }, 3)];
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(input)]);
    expect(values(out).map((v) => v.n)).toEqual([1, 3]);
    expect(h.deadLetters).toEqual([
      {
        pipeline: 'test',
        stage: 'watermarks',
        code: ErrorCode.MISSING_TIME,
        reason: "missing time field 'ts'",
        partition: 'p0',
        position: { file: 'in.jsonl', line: 2 },
        raw,
      },
    ]);
  });

  it.each([
    ['a word', 'yesterday', "'yesterday'"],
    ['a boolean', true, 'true'],
    ['an object', { epoch: 5 }, '{"epoch":5}'],
    ['a number in scientific notation text', '1e3', "'1e3'"],
    ['infinity', Number.POSITIVE_INFINITY, 'null'],
    ['a month 13', '2024-13-01T00:00:00Z', "'2024-13-01T00:00:00Z'"],
    ['a day that does not exist in February', '2023-02-29T12:00:00Z', "'2023-02-29T12:00:00Z'"],
    ['April 31st', '2024-04-31', "'2024-04-31'"],
  ])('dead-letters an event whose time is %s with BAD_TIME, previewing the value', async (_what, ts, shown) => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(at(1000, ts, 2000))]);
    expect(values(out).map((v) => v.n)).toEqual([1, 3]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({
      stage: 'watermarks',
      code: ErrorCode.BAD_TIME,
      reason: `time field 'ts' is not epoch milliseconds or an ISO-8601 time: ${shown}`,
      position: { file: 'in.jsonl', line: 2 },
    });
  });

  it('shortens long bad values in the reason', async () => {
    const h = harness();
    await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(at('x'.repeat(200)))]);
    const reason = h.deadLetters[0]?.reason ?? '';
    expect(reason).toContain("'xxxxxxxx");
    expect(reason.endsWith('...')).toBe(true);
    expect(reason.length).toBeLessThan(140);
  });

  it('dead-letters a time function result that JSON cannot show (a BigInt), and the rest of the batch goes on', async () => {
    // The reason previews the bad value; previewing must not itself throw out of the operator,
    // where RxJS would report it as an uncaught exception and the whole batch would vanish.
    const uncaught: unknown[] = [];
    const previous = rxConfig.onUnhandledError;
    rxConfig.onUnhandledError = (err) => uncaught.push(err);
    try {
      const h = harness();
      const out = await h.run(withWatermarks<Ev>({ time: (v) => (v.n === 1 ? 5n : 7) }), [batch(at(null, null)), END]);
      await new Promise<void>((resolve) => setTimeout(resolve, 0)); // RxJS reports uncaught errors on a timer
      expect(uncaught.map(String)).toEqual([]);
      expect(values(out).map((v) => v.n)).toEqual([2]);
      expect(h.deadLetters).toEqual([expect.objectContaining({ stage: 'watermarks', code: ErrorCode.BAD_TIME, position: { file: 'in.jsonl', line: 1 } })]);
    } finally {
      rxConfig.onUnhandledError = previous;
    }
  });

  it('dead-letters an event whose time function throws', async () => {
    const h = harness();
    const out = await h.run(
      withWatermarks<Ev>({
        time: (v) => {
          if (v.n === 1) throw new Error('no clock');
          return 5;
        },
      }),
      [batch(at(0, 0))],
    );
    expect(values(out).map((v) => v.n)).toEqual([2]);
    expect(h.deadLetters.map((d) => [d.code, d.reason])).toEqual([[ErrorCode.OPERATOR_FAILED, 'time function failed: no clock']]);
  });

  it('rejects a bad time path when the pipeline is defined', () => {
    expect(() => withWatermarks({ time: 'a..b' })).toThrow(UserError);
    expect(() => withWatermarks({ time: 'ts', maxOutOfOrderness: '5' })).toThrow(/needs a unit/);
  });
});

describe('withWatermarks: watermarks', () => {
  it('stamps each event with the watermark in effect just before it (max - outOfOrderness - 1)', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(at(1000, 3000, 2000, 3000, 5000))]);
    expect(timeline(out)).toEqual([
      [
        [1000, NEG],
        [3000, 999],
        [2000, 2999],
        [3000, 2999],
        [5000, 2999],
      ],
      'wm(4999)',
    ]);
  });

  it('subtracts the max out-of-orderness', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts', maxOutOfOrderness: '2s' }), [batch(at(10_000, 11_000)), batch(at(12_500))]);
    expect(timeline(out)).toEqual([
      [
        [10_000, NEG],
        [11_000, 7_999],
      ],
      'wm(8999)',
      [[12_500, 8_999]],
      'wm(10499)',
    ]);
  });

  it('emits a Watermark after a batch only when the batch advanced it', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [
      batch(at(100)),
      batch(at(50, 100)), // nothing newer
      batch([]),
      batch(at('garbage')), // everything dead-lettered
      batch(at(101)),
      END,
    ]);
    expect(timeline(out)).toEqual([[[100, NEG]], 'wm(99)', [[50, 99], [100, 99]], [], [], [[101, 99]], 'wm(100)', 'end']);
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [{ kind: 'barrier', checkpointId: 1 }, batch(at(10)), { kind: 'barrier', checkpointId: 2 }, END]);
    expect(timeline(out)).toEqual(['barrier', [[10, NEG]], 'wm(9)', 'barrier', 'end']);
  });

  it('does not let dead-lettered events move the watermark', async () => {
    const h = harness();
    const out = await h.run(withWatermarks<Ev>({ time: 'ts' }), [batch(at(1000, 'bad', 2000))]);
    expect(timeline(out)).toEqual([
      [
        [1000, NEG],
        [2000, 999],
      ],
      'wm(1999)',
    ]);
  });

  it('stamps the same per-event watermarks whatever the batch boundaries', async () => {
    const times = [5, 1, 9, 9, 3, 12, 11, 20, 2];
    const stamps = async (sizes: number[]): Promise<[number, number][]> => {
      const all = at(...times);
      const batches: Element<Ev>[] = [];
      for (let i = 0, s = 0; i < all.length; s++) {
        const size = sizes[s % sizes.length] as number;
        batches.push(batch(all.slice(i, i + size)));
        i += size;
      }
      const out = await harness().run(withWatermarks<Ev>({ time: 'ts', maxOutOfOrderness: 3 }), batches);
      return events(out).map((e) => [e.time, e.wm]);
    };
    const whole = await stamps([times.length]);
    expect(whole.map(([, wm]) => wm)).toEqual([NEG, 1, 1, 5, 5, 5, 8, 8, 16]);
    expect(await stamps([1])).toEqual(whole);
    expect(await stamps([2, 3])).toEqual(whole);
  });
});

describe('withWatermarks in virtual time', () => {
  /** A frame's element reduced to what matters: per event [time, wm], or the watermark time. */
  function simplify(frames: unknown): unknown {
    return (frames as { frame: number; notification: { kind: string; value?: Element<Ev> } }[]).map(({ frame, notification }) => {
      const value = notification.value;
      if (notification.kind !== 'N' || value === undefined) return { frame, kind: notification.kind };
      if (value.kind === 'batch') return { frame, batch: value.events.map((e: Envelope<Ev>) => [e.time, e.wm]) };
      if (value.kind === 'watermark') return { frame, watermark: value.time };
      return { frame, control: value.kind };
    });
  }

  /** An expected batch: events already stamped with `[time, wm]`. */
  function stamped(...pairs: [number, number][]): Element<Ev> {
    return batch(
      pairs.map(([time, wm], i) => {
        const e = env<Ev>({ ts: time }, i + 1);
        e.time = time;
        e.wm = wm;
        return e;
      }),
    );
  }

  it('emits each batch with its stamps, followed at the same frame by a watermark when it advanced', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(simplify(actual)).toEqual(simplify(expected)));
    scheduler.run(({ cold, expectObservable }) => {
      const h = harness({ scheduler });
      const input = cold<Element<Ev>>('a 9ms b 9ms c 9ms d 9ms (e|)', {
        a: batch(at(1000, 1500)),
        b: batch(at(1200)), // late-ish: no advance
        c: batch(at(4000, 'bad', 3000)),
        d: batch(at(3500)),
        e: END,
      });
      const expected = '(aw) 6ms b 9ms (cx) 6ms d 9ms (e|)';
      expectObservable(input.pipe(withWatermarks<Ev>({ time: 'ts', maxOutOfOrderness: '500ms' })(h.ctx))).toBe(expected, {
        a: stamped([1000, NEG], [1500, 499]),
        w: watermark(999),
        b: stamped([1200, 999]),
        c: stamped([4000, 999], [3000, 3499]),
        x: watermark(3499),
        d: stamped([3500, 3499]),
        e: END,
      });
    });
  });
});

describe('withWatermarks: falling back to the arrival time', () => {
  it("takes the source's arrival time for events without a time, and still dead-letters those with neither", async () => {
    const h = harness();
    const arrived = (value: Ev, line: number, timestamp?: number): Envelope<Ev> => ({ ...env<Ev>(value, line), meta: timestamp === undefined ? {} : { key: 'k', timestamp } });
    const out = await h.run(withWatermarks<Ev>({ time: 'ts', fallback: 'arrival' }), [batch([arrived({ ts: 5_000, n: 1 }, 1, 9_000), arrived({ n: 2 }, 2, 7_000), arrived({ n: 3 }, 3)])]);
    expect(events(out).map((e) => [e.value.n, e.time])).toEqual([
      [1, 5_000],
      [2, 7_000],
    ]);
    expect(h.deadLetters.map((d) => [d.code, d.reason])).toEqual([[ErrorCode.MISSING_TIME, "missing time field 'ts' and no arrival time"]]);
  });

  it('refuses an unknown fallback when the pipeline is defined', () => {
    expect(() => withWatermarks<Ev>({ time: 'ts', fallback: 'wall-clock' as never })).toThrow(UserError);
  });
});
