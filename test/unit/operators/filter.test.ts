import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { filter } from '../../../src/operators/filter.js';
import { env, envs, harness, shape } from './harness.js';

describe('filter', () => {
  it('keeps the events whose predicate is true, without counting the others as drops', async () => {
    const h = harness();
    const out = await h.run(filter((v: number) => v % 2 === 0), [batch(envs([1, 2, 3, 4]))]);
    expect(shape(out)).toEqual([{ batch: [2, 4] }]);
    expect(h.deadLetters).toEqual([]);
    expect(h.counters.get('dead_lettered')).toBe(0);
  });

  it('passes control elements through in order, and an emptied batch is still a batch', async () => {
    const h = harness();
    const out = await h.run(filter(() => false), [batch(envs([1, 2])), watermark(3), END]);
    expect(shape(out)).toEqual([{ batch: [] }, watermark(3), END]);
  });

  it.each([
    ['a string', 'yes', 'string'],
    ['a number', 1, 'number'],
    ['undefined', undefined, 'undefined'],
  ])('dead-letters an event whose predicate returns %s instead of a boolean', async (_what, returned, type) => {
    const h = harness();
    const out = await h.run(filter((v: number) => (v === 2 ? (returned as unknown as boolean) : true)), [batch(envs([1, 2, 3]))]);
    expect(shape(out)).toEqual([{ batch: [1, 3] }]);
    expect(h.deadLetters).toEqual([
      expect.objectContaining({ stage: 'filter', code: ErrorCode.OPERATOR_FAILED, reason: `filter must return a boolean, got ${type}`, position: { file: 'in.jsonl', line: 2 }, raw: '2' }),
    ]);
  });

  it('dead-letters an event whose predicate throws, with the message, and the rest go on', async () => {
    const h = harness();
    const out = await h.run(
      filter((v: { tags?: string[] }) => v.tags!.includes('x')),
      [batch([env({ tags: ['x'] }, 1), env({}, 2), env({ tags: ['x', 'y'] }, 3)])],
    );
    expect(shape(out)).toEqual([{ batch: [{ tags: ['x'] }, { tags: ['x', 'y'] }] }]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({ stage: 'filter', code: ErrorCode.OPERATOR_FAILED, position: { line: 2 }, raw: '{}' });
    expect(h.deadLetters[0]?.reason).toMatch(/^filter failed: .*includes/);
  });
});
