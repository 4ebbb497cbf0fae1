import type * as fsPromises from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSource } from '../../../src/ingest/file/index.js';
import { tempDir } from './file-helpers.js';

// Tests often run as root, which chmod cannot lock out, so `open` fails the way it would for
// an ordinary user on any path containing "locked".
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  const open: typeof actual.open = (path, ...rest) =>
    String(path).includes('locked')
      ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES', errno: -13 }))
      : actual.open(path, ...rest);
  return { ...actual, open, default: { ...actual, open } };
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('file source: permission denied', () => {
  it('names a file that cannot be opened for reading', async () => {
    const path = join(dir, 'locked.jsonl');
    await writeFile(path, 'x\n');
    await expect(fileSource({ path }).open()).rejects.toThrow(new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${path}': permission denied`));
  });

  it('names the first unreadable file of a glob, in path order', async () => {
    for (const name of ['a.jsonl', 'b-locked.jsonl', 'c-locked.jsonl']) await writeFile(join(dir, name), 'x\n');
    await expect(fileSource({ path: `${dir}/*.jsonl` }).open()).rejects.toThrow(`cannot read '${dir}/b-locked.jsonl': permission denied`);
  });
});
