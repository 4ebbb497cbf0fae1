import * as fsPromises from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CheckpointFs, fileCheckpointStore } from '../../../src/checkpoint/stores/file.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { sample, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const fsError = (code: string) => Object.assign(new Error(`${code}: failed`), { code });

/** The real file system, logging what matters for durability: writes, fsyncs and renames. */
function watchedFs(log: string[], overrides: Partial<CheckpointFs> = {}): CheckpointFs {
  const name = (path: string) => (path === dir ? 'DIR' : basename(path));
  return {
    mkdir: (path, options) => fsPromises.mkdir(path, options),
    readdir: (path) => fsPromises.readdir(path),
    readFile: (path, encoding) => fsPromises.readFile(path, encoding),
    rm: (path, options) => fsPromises.rm(path, options),
    rename: async (from, to) => {
      await fsPromises.rename(from, to);
      log.push(`rename ${name(from)} ${name(to)}`);
    },
    open: async (path, flags) => {
      const handle = await fsPromises.open(path, flags);
      return {
        writeFile: async (data, encoding) => {
          await handle.writeFile(data, encoding);
          log.push(`write ${name(path)}`);
        },
        sync: async () => {
          await handle.sync();
          log.push(`sync ${name(path)}`);
        },
        close: () => handle.close(),
      };
    },
    ...overrides,
  };
}

const C1 = 'checkpoint-000000000001.json';
const C2 = 'checkpoint-000000000002.json';

describe('file checkpoint store: durability', () => {
  it('fsyncs the file before the rename and the directory after it', async () => {
    const log: string[] = [];
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', fs: watchedFs(log) });
    await store.save(sample(1));
    // The first save also creates DIR/clicks, whose entry lives in DIR.
    expect(log).toEqual(['sync DIR', `write ${C1}.tmp`, `sync ${C1}.tmp`, `rename ${C1}.tmp ${C1}`, 'sync clicks']);
    log.length = 0;
    await store.save(sample(2));
    expect(log).toEqual([`write ${C2}.tmp`, `sync ${C2}.tmp`, `rename ${C2}.tmp ${C2}`, 'sync clicks']);
  });

  it('lands concurrent saves in call order even when an earlier write is slower', async () => {
    const log: string[] = [];
    const fs = watchedFs(log);
    const slowFirst: CheckpointFs = {
      ...fs,
      open: async (path, flags) => {
        const handle = await fs.open(path, flags);
        if (!path.endsWith(`${C1}.tmp`)) return handle;
        return { ...handle, writeFile: async (...args) => (await new Promise((r) => setTimeout(r, 50)), handle.writeFile(...args)) };
      },
    };
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', keep: 5, fs: slowFirst });
    await Promise.all([1, 2, 3].map((id) => store.save(sample(id))));
    expect(log.filter((line) => line.startsWith('rename')).map((line) => line.slice(-7, -5))).toEqual(['01', '02', '03']);
  });

  it('reports a failed write in plain words, removes its temporary file and keeps the previous checkpoint', async () => {
    const rename = (): Promise<void> => Promise.reject(fsError('ENOSPC'));
    await fileCheckpointStore({ dir, pipeline: 'clicks' }).save(sample(1));
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', fs: watchedFs([], { rename }) });
    const path = join(dir, 'clicks', C2);
    await expect(store.save(sample(2))).rejects.toThrow(new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write checkpoint '${path}': no space left on device`));
    expect(await fsPromises.readdir(join(dir, 'clicks'))).toEqual([C1]);
    expect(await store.load()).toEqual(sample(1));
  });

  it('accepts the same id again after a failed save', async () => {
    let failures = 1;
    const rename: CheckpointFs['rename'] = (from, to) => (failures-- > 0 ? Promise.reject(fsError('EIO')) : fsPromises.rename(from, to));
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', fs: watchedFs([], { rename }) });
    await expect(store.save(sample(1))).rejects.toMatchObject({ code: ErrorCode.UNWRITABLE_OUTPUT });
    await store.save(sample(1));
    expect(await store.load()).toEqual(sample(1));
  });

  it('reports old checkpoints it cannot remove', async () => {
    const rm: CheckpointFs['rm'] = (path, options) => (path.endsWith('.json') ? Promise.reject(fsError('EACCES')) : fsPromises.rm(path, options));
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', keep: 1, fs: watchedFs([], { rm }) });
    await store.save(sample(1));
    await expect(store.save(sample(2))).rejects.toThrow(`cannot remove old checkpoints in '${join(dir, 'clicks')}': permission denied`);
  });
});

describe('file checkpoint store: unreadable', () => {
  it('reports a directory it cannot list in plain words', async () => {
    const readdir = (): Promise<string[]> => Promise.reject(fsError('EACCES'));
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', fs: watchedFs([], { readdir }) });
    await expect(store.load()).rejects.toThrow(new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read checkpoint directory '${join(dir, 'clicks')}': permission denied`));
  });

  it('reports a checkpoint it cannot read in plain words, rather than loading an older one', async () => {
    await fileCheckpointStore({ dir, pipeline: 'clicks' }).save(sample(1));
    await fileCheckpointStore({ dir, pipeline: 'clicks' }).save(sample(2));
    const readFile: CheckpointFs['readFile'] = (path, encoding) => (path.endsWith(C2) ? Promise.reject(fsError('EIO')) : fsPromises.readFile(path, encoding));
    const store = fileCheckpointStore({ dir, pipeline: 'clicks', fs: watchedFs([], { readFile }) });
    await expect(store.load()).rejects.toThrow(new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read checkpoint '${join(dir, 'clicks', C2)}': input/output error`));
  });
});
