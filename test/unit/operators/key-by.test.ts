import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { keyBy } from '../../../src/operators/key-by.js';
import { env, envs, events, harness, shape } from './harness.js';

const keysOf = (out: Parameters<typeof events>[0]) => events(out).map((e) => ({ key: e.key, keyValue: e.keyValue }));

describe('keyBy', () => {
  it('keys by one field, showing the key as { field: value }', async () => {
    const h = harness();
    const out = await h.run(keyBy('page'), [batch(envs([{ page: '/a' }, { page: '/b' }, { page: '/a', extra: 1 }]))]);
    const keys = keysOf(out);
    expect(keys.map((k) => k.keyValue)).toEqual([{ page: '/a' }, { page: '/b' }, { page: '/a' }]);
    expect(keys[0]?.key).toBe(keys[2]?.key);
    expect(keys[0]?.key).not.toBe(keys[1]?.key);
  });

  it('keys by several fields', async () => {
    const h = harness();
    const out = await h.run(keyBy(['region', 'page']), [
      batch(envs([{ region: 'eu', page: '/a' }, { page: '/a', region: 'eu' }, { region: 'us', page: '/a' }, { region: 'eu', page: '/b' }])),
    ]);
    const keys = keysOf(out);
    expect(keys.map((k) => k.keyValue)).toEqual([
      { region: 'eu', page: '/a' },
      { region: 'eu', page: '/a' },
      { region: 'us', page: '/a' },
      { region: 'eu', page: '/b' },
    ]);
    // field order of the event does not matter; the values do
    expect(keys[0]?.key).toBe(keys[1]?.key);
    expect(new Set(keys.map((k) => k.key)).size).toBe(3);
  });

  it('follows dotted paths', async () => {
    const h = harness();
    const out = await h.run(keyBy(['vehicle.id', 'region']), [batch(envs([{ vehicle: { id: 7, make: 'x' }, region: 'eu' }]))]);
    expect(keysOf(out)[0]?.keyValue).toEqual({ 'vehicle.id': 7, region: 'eu' });
    const single = await harness().run(keyBy('vehicle.id'), [batch(envs([{ vehicle: { id: 'v1' } }]))]);
    expect(keysOf(single)[0]?.keyValue).toEqual({ 'vehicle.id': 'v1' });
  });

  it('accepts falsy key values such as 0, false and the empty string', async () => {
    const h = harness();
    const out = await h.run(keyBy('k'), [batch(envs([{ k: 0 }, { k: false }, { k: '' }]))]);
    expect(keysOf(out).map((k) => k.keyValue)).toEqual([{ k: 0 }, { k: false }, { k: '' }]);
    expect(new Set(keysOf(out).map((k) => k.key)).size).toBe(3);
    expect(h.deadLetters).toEqual([]);
  });

  it('treats 1 and "1" as different keys', async () => {
    const h = harness();
    const out = await h.run(keyBy('k'), [batch(envs([{ k: 1 }, { k: '1' }, { k: 1 }]))]);
    const [a, b, c] = keysOf(out);
    expect(a?.key).not.toBe(b?.key);
    expect(a?.key).toBe(c?.key);
    const multi = await harness().run(keyBy(['k', 'j']), [batch(envs([{ k: 1, j: 'x' }, { k: '1', j: 'x' }]))]);
    const [m1, m2] = keysOf(multi);
    expect(m1?.key).not.toBe(m2?.key);
  });

  it('keys with a function; equal object keys share a key whatever their property order', async () => {
    const h = harness();
    const out = await h.run(keyBy((v: { a: number; b: number }) => (v.a < 0 ? { b: v.b, a: v.a } : { a: v.a, b: v.b })), [
      batch(envs([{ a: 1, b: 2 }, { a: -1, b: 2 }, { a: 1, b: 3 }])),
    ]);
    const keys = keysOf(out);
    expect(keys.map((k) => k.keyValue)).toEqual([{ a: 1, b: 2 }, { b: 2, a: -1 }, { a: 1, b: 3 }]);
    expect(new Set(keys.map((k) => k.key)).size).toBe(3);
    const same = await harness().run(keyBy((v: { flip: boolean }) => (v.flip ? { y: 1, x: 2 } : { x: 2, y: 1 })), [batch(envs([{ flip: true }, { flip: false }]))]);
    const [s1, s2] = keysOf(same);
    expect(s1?.key).toBe(s2?.key);
  });

  it('shows a field named __proto__ in the key like any other field', async () => {
    // JSON.parse makes "__proto__" an ordinary own field; assigning it to a plain object would
    // set the prototype instead, and results of two different keys would look alike
    const value = JSON.parse('{"__proto__":"a","x":1}') as unknown;
    const single = await harness().run(keyBy('__proto__'), [batch([env(value, 1)])]);
    expect(JSON.stringify(events(single)[0]?.keyValue)).toBe('{"__proto__":"a"}');
    const multi = await harness().run(keyBy(['__proto__', 'x']), [batch([env(value, 1)])]);
    expect(JSON.stringify(events(multi)[0]?.keyValue)).toBe('{"__proto__":"a","x":1}');
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(keyBy('k'), [watermark(1), batch(envs([{ k: 'a' }])), END]);
    expect(shape(out)).toEqual([watermark(1), { batch: [{ k: 'a' }] }, END]);
  });

  it.each([
    ['missing', { other: 1 }],
    ['null', { page: null }],
  ])('dead-letters an event whose key field is %s, naming the field; the rest go on', async (_what, value) => {
    const h = harness();
    const out = await h.run(keyBy('page'), [batch<unknown>([env({ page: '/a' }, 1), env(value, 2), env({ page: '/c' }, 3)])]);
    expect(shape(out)).toEqual([{ batch: [{ page: '/a' }, { page: '/c' }] }]);
    expect(h.deadLetters).toEqual([
      {
        pipeline: 'test',
        stage: 'key-by',
        code: ErrorCode.MISSING_KEY,
        reason: "missing key field 'page'",
        partition: 'p0',
        position: { file: 'in.jsonl', line: 2 },
        raw: JSON.stringify(value),
      },
    ]);
  });

  it('names the missing field among several, including dotted paths', async () => {
    const h = harness();
    await h.run(keyBy(['region', 'vehicle.id']), [batch<unknown>([env({ region: 'eu', vehicle: {} }, 1), env({ vehicle: { id: 1 } }, 2)])]);
    expect(h.deadLetters.map((d) => [d.code, d.reason, d.position['line']])).toEqual([
      [ErrorCode.MISSING_KEY, "missing key field 'vehicle.id'", 1],
      [ErrorCode.MISSING_KEY, "missing key field 'region'", 2],
    ]);
  });

  it('dead-letters when a key function returns nothing or throws', async () => {
    const h = harness();
    const out = await h.run(
      keyBy((v: { id?: string; bad?: boolean }) => {
        if (v.bad) throw new Error('no key for you');
        return v.id;
      }),
      [batch([env({ id: 'a' }, 1), env({}, 2), env({ bad: true }, 3)])],
    );
    expect(keysOf(out).map((k) => k.keyValue)).toEqual(['a']);
    expect(h.deadLetters.map((d) => [d.stage, d.code, d.reason, d.position['line']])).toEqual([
      ['key-by', ErrorCode.MISSING_KEY, 'key function returned no key', 2],
      ['key-by', ErrorCode.OPERATOR_FAILED, 'key-by failed: no key for you', 3],
    ]);
  });

  it('rejects bad field paths when the pipeline is defined', () => {
    expect(() => keyBy([])).toThrow(UserError);
    expect(() => keyBy('a..b')).toThrow(/'a\.\.b' is not a field path/);
    expect(() => keyBy('')).toThrow(UserError);
  });
});
