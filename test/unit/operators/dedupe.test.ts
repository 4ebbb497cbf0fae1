import { map as rxMap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batch, END, watermark, type Element } from '../../../src/core/elements.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { dedupe } from '../../../src/operators/dedupe.js';
import { env, harness, shape, values } from './harness.js';

interface Ev {
  readonly id?: string | number | null;
  readonly t: number;
}

/**
 * Events with event time and watermark stamps assigned as withWatermarks would with the given
 * max out-of-orderness (watermark before each event = max time so far − ooo − 1), one line each.
 */
function timed(list: readonly Ev[], ooo = 0) {
  let max = Number.NEGATIVE_INFINITY;
  return list.map((v, i) => {
    const e = env(v, i + 1, { time: v.t });
    e.wm = max - ooo - 1;
    max = Math.max(max, v.t);
    return e;
  });
}

/** `id@t` of each event that got through, in order. */
const passed = (out: Element<Ev>[]) => values(out).map((v) => `${String(v.id)}@${v.t}`);

describe('dedupe by event time', () => {
  it('drops an id repeated within ttl and counts it as a duplicate', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 'a', t: 0 }, { id: 'b', t: 1 }, { id: 'a', t: 5 }, { id: 'a', t: 10 }]))]);
    expect(passed(out)).toEqual(['a@0', 'b@1']);
    expect(h.counters.get('duplicates')).toBe(2);
    // duplicates are counted, not dead-lettered
    expect(h.deadLetters).toEqual([]);
  });

  it('lets an id through again once more than ttl of event time has passed', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: '10ms' }), [batch(timed([{ id: 'a', t: 0 }, { id: 'a', t: 11 }, { id: 'a', t: 15 }, { id: 'a', t: 22 }]))]);
    // 11 is a new first occurrence; 15 repeats it; 22 is more than 10 after 11
    expect(passed(out)).toEqual(['a@0', 'a@11', 'a@22']);
    expect(h.counters.get('duplicates')).toBe(1);
  });

  it('remembers ids across batches', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 100 }), [batch(timed([{ id: 'a', t: 0 }])), watermark(0), batch(timed([{ id: 'a', t: 50 }, { id: 'b', t: 60 }])), END]);
    expect(shape(out)).toEqual([{ batch: [{ id: 'a', t: 0 }] }, watermark(0), { batch: [{ id: 'b', t: 60 }] }, END]);
  });

  it('drops out-of-order repeats that are within ttl of the first occurrence', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 'a', t: 100 }, { id: 'a', t: 95 }, { id: 'a', t: 90 }, { id: 'a', t: 89 }], 20))]);
    // 95 and 90 are within 10 of 100; 89 is not
    expect(passed(out)).toEqual(['a@100', 'a@89']);
  });

  it('keeps ids apart by type: 1 and "1" are different ids', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 1, t: 0 }, { id: '1', t: 1 }, { id: 1, t: 2 }]))]);
    expect(passed(out)).toEqual(['1@0', '1@1']);
  });

  it('evicting other ids does not let an in-ttl repeat through', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [
      batch(timed([{ id: 'old', t: 0 }, { id: 'a', t: 5 }, { id: 'b', t: 12 }, { id: 'a', t: 14 }, { id: 'old', t: 13 }])),
    ]);
    // before a@14 the watermark (11) has passed old's expiry (0 + 10) but not a's (5 + 10), so
    // a@14 is still a repeat; old@13 is more than ttl after old@0 and passes
    expect(passed(out)).toEqual(['old@0', 'a@5', 'b@12', 'old@13']);
  });

  it('forgets an id once the watermark passes its time + ttl', async () => {
    // a@0 expires at 10; b@30 moves the watermark to 29 (no out-of-orderness), so a@9, which
    // is behind the watermark and late for any window, finds no state left to match
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 'a', t: 0 }, { id: 'b', t: 30 }, { id: 'a', t: 9 }]))]);
    expect(passed(out)).toEqual(['a@0', 'b@30', 'a@9']);
  });

  it('an out-of-order repeat does not make the id forget a later occurrence', async () => {
    // a@100 is seen; a@80 is more than ttl before it, so it passes; a@105 repeats a@100 within
    // ttl and must be dropped whatever came in between (all on time with 30 ms out-of-orderness)
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 'a', t: 100 }, { id: 'a', t: 80 }, { id: 'a', t: 105 }], 30))]);
    expect(passed(out)).toEqual(['a@100', 'a@80']);
  });

  it('state eviction does not let an in-ttl repeat through', async () => {
    // a@5 is within ttl (10) of a@0 by event time and on time (15 ms of out-of-orderness); b@20
    // moving the partition's latest time past 0 + 10 must not turn it into a first occurrence:
    // the outcome would then depend on whether an unrelated id happened to arrive in between
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch(timed([{ id: 'a', t: 0 }, { id: 'b', t: 20 }, { id: 'a', t: 5 }], 15))]);
    expect(passed(out)).toEqual(['a@0', 'b@20']);
  });

  it('reads ids from dotted paths and functions', async () => {
    const byPath = harness();
    const nested = [{ m: { id: 'x' }, t: 0 }, { m: { id: 'x' }, t: 1 }, { m: { id: 'y' }, t: 2 }].map((v, i) => env(v, i + 1, { time: v.t }));
    expect(values(await byPath.run(dedupe<{ m: { id: string } }>({ id: 'm.id', ttl: 10 }), [batch(nested)]))).toHaveLength(2);
    const byFn = harness();
    const out = await byFn.run(dedupe<Ev>({ id: (v) => String(v.id).toLowerCase(), ttl: 10 }), [batch(timed([{ id: 'A', t: 0 }, { id: 'a', t: 1 }]))]);
    expect(passed(out)).toEqual(['A@0']);
  });

  it('dead-letters events without an id, and the rest go on', async () => {
    const h = harness();
    const out = await h.run(dedupe<Ev>({ id: 'id', ttl: 10 }), [batch([env({ id: 'a', t: 0 }, 1, { time: 0 }), env({ t: 1 }, 2, { time: 1 }), env({ id: null, t: 2 }, 3, { time: 2 }), env({ id: 'b', t: 3 }, 4, { time: 3 })])]);
    expect(passed(out)).toEqual(['a@0', 'b@3']);
    expect(h.deadLetters).toEqual([
      expect.objectContaining({ stage: 'dedupe', code: ErrorCode.BAD_FIELD, reason: "missing id field 'id'", position: { file: 'in.jsonl', line: 2 }, time: 1 }),
      expect.objectContaining({ stage: 'dedupe', code: ErrorCode.BAD_FIELD, reason: "missing id field 'id'", position: { file: 'in.jsonl', line: 3 }, time: 2 }),
    ]);
    expect(h.counters.get('duplicates')).toBe(0);
  });

  it('dead-letters events whose id function throws', async () => {
    const h = harness();
    const out = await h.run(
      dedupe<Ev>({
        id: (v) => {
          if (v.id === 'bad') throw new Error('unreadable id');
          return v.id;
        },
        ttl: 10,
      }),
      [batch(timed([{ id: 'bad', t: 0 }, { id: 'ok', t: 1 }]))],
    );
    expect(passed(out)).toEqual(['ok@1']);
    expect(h.deadLetters).toEqual([expect.objectContaining({ stage: 'dedupe', code: ErrorCode.OPERATOR_FAILED, reason: 'dedupe failed: unreadable id' })]);
  });

  it('rejects a ttl that is not positive', () => {
    expect(() => dedupe({ id: 'id', ttl: 0 })).toThrow(UserError);
    expect(() => dedupe({ id: 'id', ttl: '10' })).toThrow(/needs a unit/);
  });
});

describe('dedupe by processing time', () => {
  it("uses the context scheduler's clock for events without event time", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const h = harness({ scheduler });
    scheduler.run(({ cold, expectObservable }) => {
      const at = (id: string) => batch([env({ id, t: Number.NaN }, 1)]);
      // x at 0 ms, again at 5 ms (within ttl), again at 16 ms (more than 10 ms after the first)
      const input = cold<Element<Ev>>('a 4ms b 10ms c 9ms |', { a: at('x'), b: at('x'), c: at('x') });
      const output = input.pipe(
        dedupe<Ev>({ id: 'id', ttl: '10ms' })(h.ctx),
        rxMap((element) => (element.kind === 'batch' ? element.events.map((e) => e.value.id) : element.kind)),
      );
      expectObservable(output).toBe('a 4ms b 10ms c 9ms |', { a: ['x'], b: [], c: ['x'] });
    });
    expect(h.counters.get('duplicates')).toBe(1);
  });
});
