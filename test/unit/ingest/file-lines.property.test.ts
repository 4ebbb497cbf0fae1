import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../../src/ingest/file/index.js';
import { linesOf, readAll, tempDir } from './file-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** The reference: a plain split, blank lines dropped, physical line numbers kept. */
function expected(content: string): [string, number][] {
  const text = content.startsWith('\uFEFF') ? content.slice(1) : content;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines
    .map((line, i): [string, number] => [line.endsWith('\r') ? line.slice(0, -1) : line, i + 1])
    .filter(([line]) => line.trim() !== '');
}

// Few distinct characters so that newlines, CRs, blanks and multi-byte code points are common.
const content = fc
  .array(fc.constantFrom('a', 'b', '{', '"', ' ', '\n', '\n', '\r', '\r\n', 'é', '€', '😀', '日'), { maxLength: 300 })
  .map((parts) => parts.join(''));

let file = 0;

describe('file source: line splitting (property)', () => {
  it('gives the same lines as a plain split whatever the chunk and batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(content, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 10 }), fc.boolean(), async (text, chunkBytes, batchSize, gzip) => {
        const path = join(dir, `p${file++}.jsonl`);
        await writeFile(path, gzip ? gzipSync(text) : text);
        const read = await readAll(fileSource({ path, chunkBytes, batchSize }));
        expect(linesOf(read.get(path))).toEqual(expected(text));
      }),
      { numRuns: 300 },
    );
  });
});
