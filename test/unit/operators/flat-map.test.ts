import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { flatMap } from '../../../src/operators/flat-map.js';
import { env, envs, events, harness, shape } from './harness.js';

interface Order {
  readonly id: string;
  readonly items: readonly string[];
}

describe('flatMap', () => {
  it('turns each event into zero or more, in order', async () => {
    const h = harness();
    const out = await h.run(flatMap((o: Order) => o.items), [
      batch(envs<Order>([{ id: 'a', items: ['a1', 'a2'] }, { id: 'b', items: [] }, { id: 'c', items: ['c1'] }])),
    ]);
    expect(shape(out)).toEqual([{ batch: ['a1', 'a2', 'c1'] }]);
    expect(h.deadLetters).toEqual([]);
  });

  it('keeps time, watermark, key, position, partition and raw of the source event in every output', async () => {
    const h = harness();
    const source = env<Order>({ id: 'a', items: ['x', 'y'] }, 7, { time: 1234, key: 'sa', keyValue: { id: 'a' }, raw: 'RAW' });
    source.wm = 1000;
    const out = await h.run(flatMap((o: Order) => o.items), [batch([source])]);
    const produced = events(out);
    expect(produced).toHaveLength(2);
    for (const [i, e] of produced.entries()) {
      expect(e).toEqual({
        value: ['x', 'y'][i],
        time: 1234,
        wm: 1000,
        key: 'sa',
        keyValue: { id: 'a' },
        partition: 'p0',
        position: { file: 'in.jsonl', line: 7 },
        raw: 'RAW',
      });
    }
    // each output is its own envelope: later operators update them in place
    expect(produced[0]).not.toBe(produced[1]);
  });

  it('accepts any iterable, such as a generator', async () => {
    const h = harness();
    function* twice(v: number): Generator<number> {
      yield v;
      yield v;
    }
    const out = await h.run(flatMap(twice), [batch(envs([1, 2]))]);
    expect(shape(out)).toEqual([{ batch: [1, 1, 2, 2] }]);
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(flatMap((v: number) => [v, v]), [batch(envs([1])), watermark(9), END]);
    expect(shape(out)).toEqual([{ batch: [1, 1] }, watermark(9), END]);
  });

  it('dead-letters an event whose function throws, with the message, and the rest go on', async () => {
    const h = harness();
    const out = await h.run(
      flatMap((v: number) => {
        if (v === 2) throw new Error('cannot split 2');
        return [v];
      }),
      [batch(envs([1, 2, 3]))],
    );
    expect(shape(out)).toEqual([{ batch: [1, 3] }]);
    expect(h.deadLetters).toEqual([
      expect.objectContaining({ stage: 'flat-map', code: ErrorCode.OPERATOR_FAILED, reason: 'flat-map failed: cannot split 2', position: { file: 'in.jsonl', line: 2 } }),
    ]);
  });

  it('dead-letters an event whose function returns something not iterable', async () => {
    const h = harness();
    const out = await h.run(flatMap((v: { items?: number[] }) => v.items as number[]), [batch(envs([{ items: [1] }, {}]))]);
    expect(shape(out)).toEqual([{ batch: [1] }]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({ stage: 'flat-map', code: ErrorCode.OPERATOR_FAILED, position: { line: 2 } });
    expect(h.deadLetters[0]?.reason).toMatch(/^flat-map failed: .*iterable/);
  });
});
