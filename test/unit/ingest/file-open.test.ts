import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSource } from '../../../src/ingest/file/index.js';
import { batchesOf, linesOf, readAll, tempDir } from './file-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('file source: globs', () => {
  it('expands a glob into one partition per file, sorted, files only', async () => {
    await mkdir(join(dir, 'data', 'sub.jsonl'), { recursive: true });
    await writeFile(join(dir, 'data', 'b.jsonl'), 'b1\nb2\n');
    await writeFile(join(dir, 'data', 'a.jsonl'), gzipSync('a1\n'));
    await writeFile(join(dir, 'data', 'c.jsonl'), 'c1');
    await writeFile(join(dir, 'data', 'c.txt'), 'nope');
    const source = fileSource({ path: `${dir}/data/*.jsonl` });
    const readers = await source.open();
    expect(readers.map((r) => r.partition)).toEqual(['a', 'b', 'c'].map((n) => `${dir}/data/${n}.jsonl`));
    expect(source.description).toBe(`file:${dir}/data/*.jsonl (3 files)`);
    expect(linesOf((await batchesOf(readers[1]!)).flat())).toEqual([['b1', 1], ['b2', 2]]);
    const all = await readAll(fileSource({ path: `${dir}/data/*.jsonl` }));
    expect([...all.entries()].map(([p, envs]) => [p, envs.map((e) => e.value)])).toEqual([
      [`${dir}/data/a.jsonl`, ['a1']],
      [`${dir}/data/b.jsonl`, ['b1', 'b2']],
      [`${dir}/data/c.jsonl`, ['c1']],
    ]);
  });

  it('keeps a relative pattern relative, spelled as given', async () => {
    await writeFile(join(dir, 'x.jsonl'), 'x\n');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const readers = await fileSource({ path: './*.jsonl' }).open();
      expect(readers.map((r) => r.partition)).toEqual(['./x.jsonl']);
      expect(linesOf((await batchesOf(readers[0]!)).flat())).toEqual([['x', 1]]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('file source: open errors', () => {
  const unreadable = (message: string) => new UserError(ErrorCode.UNREADABLE_INPUT, message);

  it('names a missing file', async () => {
    const path = join(dir, 'missing.jsonl');
    await expect(fileSource({ path }).open()).rejects.toThrow(unreadable(`cannot read '${path}': no such file`));
    await expect(fileSource({ path }).open()).rejects.toMatchObject({ code: ErrorCode.UNREADABLE_INPUT });
  });

  it('names a directory', async () => {
    await expect(fileSource({ path: dir }).open()).rejects.toThrow(unreadable(`cannot read '${dir}': is a directory`));
  });

  it('names a glob that matches nothing', async () => {
    const path = `${dir}/data/*.jsonl`;
    await expect(fileSource({ path }).open()).rejects.toThrow(unreadable(`no files match the glob '${path}'`));
  });

  // permission denied: file-permission.test.ts (mocked EACCES) and the CLI test that runs as nobody

  it('describes the source before and after open', async () => {
    const path = join(dir, 'one.jsonl');
    await writeFile(path, 'x\n');
    const source = fileSource({ path });
    expect(source.description).toBe(`file:${path}`);
    await source.open();
    expect(source.description).toBe(`file:${path} (1 file)`);
    await source.close();
  });
});
