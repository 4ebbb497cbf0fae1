import { describe, expect, it } from 'vitest';
import { encodeJsonLines } from '../../../src/sinks/jsonl/encoder.js';

describe('encodeJsonLines', () => {
  it('writes one JSON document per record, each ending in a newline', () => {
    expect(encodeJsonLines([{ a: 1, b: 'x\ny' }, 'str', 3, null, [1, 2]])).toBe('{"a":1,"b":"x\\ny"}\n"str"\n3\nnull\n[1,2]\n');
  });

  it('writes nothing for no records', () => {
    expect(encodeJsonLines([])).toBe('');
  });

  it('keeps one line per record for values JSON cannot represent', () => {
    expect(encodeJsonLines([undefined, () => 1, { a: undefined }])).toBe('null\nnull\n{}\n');
  });

  it('round-trips through JSON.parse line by line', () => {
    const records = [{ page: '/é', n: 1.5, nested: { ok: true } }, { emoji: '😀' }];
    const lines = encodeJsonLines(records).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(records);
  });
});
