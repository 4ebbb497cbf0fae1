import type * as fsPromises from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSink, openFileSink } from '../../../src/sinks/file/index.js';

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
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sink-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('file sink: permission denied', () => {
  it('openFileSink rejects before anything is written', async () => {
    const path = join(dir, 'locked.jsonl');
    await expect(openFileSink({ path })).rejects.toThrow(new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${path}': permission denied`));
  });

  it('fileSink rejects its first write', async () => {
    const path = join(dir, 'locked.jsonl');
    await expect(fileSink({ path }).write([{ a: 1 }])).rejects.toThrow(`cannot write '${path}': permission denied`);
  });
});
