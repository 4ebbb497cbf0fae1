import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode } from '../../../src/core/errors.js';
import type { Raw } from '../../../src/core/envelope.js';
import { parseJson } from '../../../src/operators/parse-json.js';
import { env, events, harness, shape } from './harness.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseJson', () => {
  it('parses string and UTF-8 byte records into values', async () => {
    const h = harness();
    const out = await h.run(parseJson(), [batch<Raw>([env('{"a":1}', 1), env(utf8('{"b":"é"}'), 2, { raw: utf8('{"b":"é"}') }), env('[1,2]', 3)])]);
    expect(shape(out)).toEqual([{ batch: [{ a: 1 }, { b: 'é' }, [1, 2]] }]);
    expect(h.deadLetters).toEqual([]);
  });

  it('passes control elements through in order, one batch out per batch in', async () => {
    const h = harness();
    const out = await h.run(parseJson(), [batch<Raw>([env('1', 1)]), watermark(10), { kind: 'barrier', checkpointId: 7 }, batch<Raw>([]), END]);
    expect(shape(out)).toEqual([{ batch: [1] }, watermark(10), { kind: 'barrier', checkpointId: 7 }, { batch: [] }, END]);
  });

  it('dead-letters a non-JSON line with stage, code, reason, raw text, position and partition; the rest go on', async () => {
    const h = harness({ partition: 'events-3' });
    const out = await h.run(parseJson(), [
      batch<Raw>([
        env('{"n":1}', 1, { partition: 'events-3' }),
        env('{"n":', 2, { partition: 'events-3', position: { file: 'events-3.jsonl', line: 2 } }),
        env('{"n":3}', 3, { partition: 'events-3' }),
      ]),
    ]);
    expect(shape(out)).toEqual([{ batch: [{ n: 1 }, { n: 3 }] }]);
    expect(h.deadLetters).toHaveLength(1);
    const [entry] = h.deadLetters;
    expect(entry).toMatchObject({
      pipeline: 'test',
      stage: 'parse-json',
      code: ErrorCode.PARSE_ERROR,
      partition: 'events-3',
      position: { file: 'events-3.jsonl', line: 2 },
      raw: '{"n":',
    });
    expect(entry?.reason).toMatch(/^not valid JSON: /);
    // no event time was assigned yet, so the entry carries none
    expect(entry).not.toHaveProperty('time');
    expect(h.counters.get('dead_lettered')).toBe(1);
  });

  it('keeps valid UTF-8 bytes as text in the dead-letter entry', async () => {
    const h = harness();
    const bytes = utf8('naïve, not JSON');
    await h.run(parseJson(), [batch<Raw>([env(bytes, 4, { raw: bytes })])]);
    expect(h.deadLetters).toMatchObject([{ code: ErrorCode.PARSE_ERROR, raw: 'naïve, not JSON', position: { line: 4 } }]);
  });

  it('dead-letters bytes that are not UTF-8, with the original bytes as base64', async () => {
    const h = harness();
    // a view into a larger buffer: only the view's own bytes belong in the entry
    const backing = new Uint8Array([0x41, 0x42, 0xff, 0xfe, 0x7b, 0x7d, 0x43]);
    const bytes = backing.subarray(2, 6);
    const out = await h.run(parseJson(), [batch<Raw>([env('{"ok":true}', 1), env(bytes, 2, { raw: bytes }), env('{"ok":2}', 3)])]);
    expect(shape(out)).toEqual([{ batch: [{ ok: true }, { ok: 2 }] }]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({ stage: 'parse-json', code: ErrorCode.PARSE_ERROR, raw: 'base64:' + Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64') });
    expect(h.deadLetters[0]?.reason).toMatch(/^not valid JSON: /);
  });

  it('parses Buffers (as Kafka hands them over): ASCII, UTF-8 beyond it, and refuses bytes that are not UTF-8', async () => {
    const h = harness();
    const records = [Buffer.from('{"page":"/a"}'), Buffer.from('{"page":"/caf\u00e9 \u2615"}'), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d])];
    const out = await h.run(parseJson(), [batch<Raw>(records.map((bytes, i) => env(bytes, i + 1, { raw: bytes })))]);
    expect(shape(out)).toEqual([{ batch: [{ page: '/a' }, { page: '/café ☕' }] }]);
    expect(h.deadLetters).toMatchObject([{ code: ErrorCode.PARSE_ERROR, position: { line: 3 } }]);
  });

  it('keeps the envelope identity fields of parsed events', async () => {
    const h = harness();
    const out = await h.run(parseJson(), [batch<Raw>([env('{"x":1}', 9)])]);
    const [e] = events(out);
    expect(e).toMatchObject({ value: { x: 1 }, partition: 'p0', position: { file: 'in.jsonl', line: 9 }, raw: '{"x":1}', key: undefined });
    expect(e?.time).toBeNaN();
  });
});
