import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSource } from '../../../src/ingest/file/index.js';
import { batchesOf, linesOf, readBack, tempDir } from './file-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const readFile = (name: string, content: string | Uint8Array, options: { batchSize?: number; chunkBytes?: number } = {}) =>
  readBack(dir, name, content, options);

describe('file source: lines', () => {
  it('yields one envelope per line with value and raw equal to the line, at { file, line }', async () => {
    const path = join(dir, 'a.jsonl');
    await writeFile(path, '{"a":1}\n{"a":2}\n');
    const [reader] = await fileSource({ path }).open();
    const batch = await reader!.read();
    expect(batch).toHaveLength(2);
    expect(batch![1]).toMatchObject({ value: '{"a":2}', raw: '{"a":2}', partition: path, position: { file: path, line: 2 } });
    expect(Number.isNaN(batch![1]!.time)).toBe(true);
    expect(await reader!.read()).toBeNull();
  });

  it('strips CRLF line endings', async () => {
    expect(await readFile('crlf.jsonl', 'a\r\nb\r\nc\r\n', { chunkBytes: 1 })).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  });

  it('keeps a final line without a newline, with or without a trailing \\r', async () => {
    expect(await readFile('last.jsonl', 'a\nb')).toEqual([['a', 1], ['b', 2]]);
    expect(await readFile('last-cr.jsonl', 'a\nb\r')).toEqual([['a', 1], ['b', 2]]);
  });

  it('skips blank and whitespace-only lines but counts them', async () => {
    expect(await readFile('blank.jsonl', '\n\na\n\r\n  \t\nb\n\n')).toEqual([['a', 3], ['b', 6]]);
  });

  it('keeps a carriage return that is not at the end of a line', async () => {
    expect(await readFile('cr.jsonl', 'a\rb\n')).toEqual([['a\rb', 1]]);
  });

  it('returns null at once for an empty file', async () => {
    expect(await readFile('empty.jsonl', '')).toEqual([]);
  });

  it('decodes multi-byte UTF-8 split across every possible chunk boundary', async () => {
    const lines = ['{"city":"Zürich"}', '{"s":"日本語"}', '{"e":"😀👍🏽"}', 'ñ'];
    for (const chunkBytes of [1, 2, 3, 5, 7]) {
      expect(await readFile(`utf8-${chunkBytes}.jsonl`, lines.join('\n'), { chunkBytes })).toEqual(lines.map((l, i) => [l, i + 1]));
    }
  });

  it('drops a leading byte-order mark', async () => {
    expect(await readFile('bom.jsonl', '\uFEFF{"a":1}\n', { chunkBytes: 2 })).toEqual([['{"a":1}', 1]]);
  });
});

describe('file source: batches', () => {
  it('returns batches of at most batchSize envelopes, then null', async () => {
    const path = join(dir, 'b.jsonl');
    await writeFile(path, Array.from({ length: 10 }, (_, i) => `{"i":${i}}`).join('\n') + '\n');
    const [reader] = await fileSource({ path, batchSize: 4, chunkBytes: 3 }).open();
    const batches = await batchesOf(reader!);
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(batches.flat().map((e) => e.position['line'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await reader!.read()).toBeNull();
  });

  it('rejects a batch size that is not a positive integer', () => {
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => fileSource({ path: 'x', batchSize })).toThrow(new UserError(ErrorCode.BAD_OPTION, `file source batchSize must be a positive integer, got ${batchSize}`));
    }
    expect(() => fileSource({ path: 'x', chunkBytes: 0 })).toThrow(/chunkBytes must be a positive integer/);
  });
});

describe('file source: close', () => {
  it('makes later reads return null, mid-file and before the first read', async () => {
    const path = join(dir, 'close.jsonl');
    await writeFile(path, 'a\nb\nc\n');
    const [early] = await fileSource({ path }).open();
    await early!.close();
    expect(await early!.read()).toBeNull();
    const [reader] = await fileSource({ path, batchSize: 1, chunkBytes: 2 }).open();
    expect(linesOf((await reader!.read()) ?? [])).toEqual([['a', 1]]);
    await reader!.close();
    expect(await reader!.read()).toBeNull();
  });
});
