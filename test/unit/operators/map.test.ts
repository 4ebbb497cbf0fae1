import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { map } from '../../../src/operators/map.js';
import { env, envs, events, harness, shape } from './harness.js';

describe('map', () => {
  it('transforms each value and keeps the envelope', async () => {
    const h = harness();
    const input = [env({ n: 1 }, 1, { time: 100, key: 'sa', keyValue: { k: 'a' } }), env({ n: 2 }, 2, { time: 200 })];
    const out = await h.run(map((v: { n: number }) => v.n * 10), [batch(input)]);
    expect(shape(out)).toEqual([{ batch: [10, 20] }]);
    expect(events(out)[0]).toMatchObject({ time: 100, key: 'sa', keyValue: { k: 'a' }, position: { line: 1 }, partition: 'p0' });
  });

  it('hands the function the envelope too', async () => {
    const h = harness();
    const out = await h.run(map((_v: unknown, e) => `${String(e.position['file'])}:${String(e.position['line'])}`), [batch(envs(['x', 'y']))]);
    expect(shape(out)).toEqual([{ batch: ['in.jsonl:1', 'in.jsonl:2'] }]);
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(map((v: number) => v + 1), [batch(envs([1])), watermark(5), batch(envs([2])), END]);
    expect(shape(out)).toEqual([{ batch: [2] }, watermark(5), { batch: [3] }, END]);
  });

  it('dead-letters an event whose function throws, with the message, and the rest go on', async () => {
    const h = harness();
    const fn = (v: { url: string }): string => new URL(v.url).pathname;
    const out = await h.run(map(fn), [batch([env({ url: 'https://x/a' }, 1), env({ url: 'not a url' }, 2, { raw: '{"url":"not a url"}', time: 42 }), env({ url: 'https://x/c' }, 3)])]);
    expect(shape(out)).toEqual([{ batch: ['/a', '/c'] }]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({
      stage: 'map',
      code: ErrorCode.OPERATOR_FAILED,
      partition: 'p0',
      position: { file: 'in.jsonl', line: 2 },
      raw: '{"url":"not a url"}',
      time: 42,
    });
    expect(h.deadLetters[0]?.reason).toMatch(/^map failed: .*Invalid URL/);
  });

  it('uses the message of non-Error throws as the reason', async () => {
    const h = harness();
    await h.run(
      map(() => {
        throw 'plain string';
      }),
      [batch(envs([1]))],
    );
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['map failed: plain string']);
  });
});
