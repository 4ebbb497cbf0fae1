import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionReader } from '../../../src/core/connectors.js';
import type { Raw } from '../../../src/core/envelope.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSource } from '../../../src/ingest/file/index.js';
import { readBack, tempDir } from './file-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const readFile = (name: string, content: string | Uint8Array, options: { batchSize?: number; chunkBytes?: number } = {}) =>
  readBack(dir, name, content, options);

describe('file source: gzip', () => {
  it('decompresses files that start with the gzip magic bytes, whatever their name', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `{"i":${i},"s":"ü"}`);
    const zipped = gzipSync(lines.join('\n') + '\n');
    expect(await readFile('plain-name.jsonl', zipped, { chunkBytes: 7 })).toEqual(lines.map((l, i) => [l, i + 1]));
  });

  it('reads a .gz-named file that is not compressed as plain text', async () => {
    expect(await readFile('not-really.jsonl.gz', '{"a":1}\n')).toEqual([['{"a":1}', 1]]);
  });

  it('rejects corrupt gzip data with the file and the line reached, after the records before it', async () => {
    const path = join(dir, 'corrupt.jsonl.gz');
    // A valid gzip member followed by a member whose header names no known compression method.
    const badMember = Buffer.from(gzipSync('d\n'));
    badMember[2] = 0;
    await writeFile(path, Buffer.concat([gzipSync('a\nb\n\nc\n'), badMember]));
    const [reader] = await fileSource({ path, chunkBytes: 8 }).open();
    const { values, error } = await readUntilError(reader!);
    expect(values).toEqual(['a', 'b', 'c']);
    expect(error).toEqual(new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${path}': corrupt gzip data at line 5`));
    // The failure sticks: the partition is not silently treated as finished.
    await expect(reader!.read()).rejects.toBe(error);
    await reader!.close();
  });

  it('rejects garbage inside a compressed block as corrupt gzip data, not a zlib stack', async () => {
    const path = join(dir, 'garbled.jsonl.gz');
    const zipped = Buffer.from(gzipSync(Array.from({ length: 5000 }, (_, i) => `{"i":${i}}`).join('\n')));
    zipped.fill(0xff, 200, 600);
    await writeFile(path, zipped);
    const [reader] = await fileSource({ path, batchSize: 100, chunkBytes: 64 }).open();
    const { error } = await readUntilError(reader!);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(new RegExp(`^cannot read '${path}': corrupt gzip data at line \\d+$`));
  });

  it('rejects truncated gzip data', async () => {
    const path = join(dir, 'truncated.jsonl.gz');
    const zipped = gzipSync('a\nb\nc\n');
    await writeFile(path, zipped.subarray(0, zipped.length - 12));
    const [reader] = await fileSource({ path }).open();
    const { values, error } = await readUntilError(reader!);
    expect(values.length).toBeLessThan(3);
    expect(error).toEqual(new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${path}': truncated gzip data at line ${values.length + 1}`));
  });
});

/** Values read before `read()` rejects, and the rejection (undefined if it never rejects). */
async function readUntilError(reader: PartitionReader): Promise<{ values: Raw[]; error: unknown }> {
  const values: Raw[] = [];
  try {
    for (let batch = await reader.read(); batch !== null; batch = await reader.read()) values.push(...batch.map((e) => e.value));
  } catch (error) {
    return { values, error };
  }
  return { values, error: undefined };
}
