import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../../src/checkpoint/codec.js';
import { fileCheckpointStore } from '../../../src/checkpoint/stores/file.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { expectBadCheckpoint, sample, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const store = (keep?: number) => fileCheckpointStore({ dir, pipeline: 'clicks', ...(keep === undefined ? {} : { keep }) });
const file = (id: number) => join(dir, 'clicks', `checkpoint-${String(id).padStart(12, '0')}.json`);
const files = () => readdir(join(dir, 'clicks'));

async function saveAll(ids: number[], keep?: number): Promise<void> {
  const s = store(keep);
  for (const id of ids) await s.save(sample(id));
  await s.close();
}

describe('file checkpoint store: save and load', () => {
  it('has no checkpoint while its directory does not exist, or is empty', async () => {
    expect(await store().load()).toBeUndefined();
    await mkdir(join(dir, 'clicks'));
    expect(await store().load()).toBeUndefined();
  });

  it('describes itself as its --checkpoint URL', () => {
    expect(store().description).toBe(`file:${dir}`);
  });

  it('writes DIR/<pipeline>/checkpoint-<id>.json in the codec format, and a later run loads it', async () => {
    await saveAll([7]);
    expect(await files()).toEqual(['checkpoint-000000000007.json']);
    expect(await readFile(file(7), 'utf8')).toBe(encodeCheckpoint(sample(7)));
    expect(await store().load()).toEqual(sample(7));
  });

  it('loads the newest by id, even past the 12 digits of the file name', async () => {
    await saveAll([9, 10, 1e12]);
    expect((await store().load())?.checkpointId).toBe(1e12);
  });

  it('keeps the newest three by default, or as many as asked', async () => {
    await saveAll([1, 2, 3, 4, 5]);
    expect(await files()).toEqual([3, 4, 5].map((id) => `checkpoint-00000000000${id}.json`));
    await saveAll([6, 7], 1);
    expect(await files()).toEqual(['checkpoint-000000000007.json']);
  });

  it('refuses to keep fewer than one', () => {
    expect(() => store(0)).toThrow(new UserError(ErrorCode.BAD_OPTION, 'checkpoint keep must be a whole number of at least 1, got 0'));
  });

  it('ignores files it did not write', async () => {
    await saveAll([1]);
    await writeFile(join(dir, 'clicks', 'checkpoint-9.json'), 'not ours');
    await writeFile(join(dir, 'clicks', 'notes.txt'), 'not ours');
    expect((await store().load())?.checkpointId).toBe(1);
  });
});

describe('file checkpoint store: crashes', () => {
  it('ignores and removes a .tmp leftover: a crash between write and rename keeps the previous checkpoint', async () => {
    await saveAll([1]);
    // The crash wrote all of checkpoint 2, or only part of it, but never renamed it.
    await writeFile(`${file(2)}.tmp`, encodeCheckpoint(sample(2)));
    await writeFile(`${file(3)}.tmp`, encodeCheckpoint(sample(3)).slice(0, 20));
    const s = store();
    expect(await s.load()).toEqual(sample(1));
    expect(await files()).toEqual(['checkpoint-000000000001.json']);
    await s.save(sample(2));
    expect(await store().load()).toEqual(sample(2));
  });

  it('refuses a truncated newest checkpoint rather than falling back to an older one', async () => {
    await saveAll([1, 2]);
    const text = await readFile(file(2), 'utf8');
    await writeFile(file(2), text.slice(0, 100));
    await expectBadCheckpoint(() => store().load(), `checkpoint '${file(2)}' is corrupt: not valid JSON (the file may be truncated)`);
  });

  it('refuses a newest checkpoint with one flipped bit', async () => {
    await saveAll([1, 2]);
    const bytes = await readFile(file(2));
    const at = bytes.indexOf('2025-01-02');
    bytes[at] = bytes[at]! ^ 0x01; // '2' becomes '3'
    await writeFile(file(2), bytes);
    await expectBadCheckpoint(() => store().load(), `checkpoint '${file(2)}' is corrupt: checksum mismatch`);
  });

  it('refuses a checkpoint of another format version, naming both versions', async () => {
    await saveAll([1]);
    await writeFile(file(1), (await readFile(file(1), 'utf8')).replace('"version":1', '"version":7'));
    await expectBadCheckpoint(() => store().load(), `checkpoint '${file(1)}' has format version 7; this Sluice reads version 1`);
  });

  it('refuses a file that is not a checkpoint', async () => {
    await saveAll([1]);
    await writeFile(file(1), (await readFile(file(1), 'utf8')).replace('sluice-checkpoint', 'sluice-checkpoints'));
    await expectBadCheckpoint(() => store().load(), `checkpoint '${file(1)}' is not a Sluice checkpoint: its format is not 'sluice-checkpoint'`);
  });

  it("refuses another pipeline's checkpoint", async () => {
    await saveAll([1]);
    const other = fileCheckpointStore({ dir, pipeline: 'orders' });
    const path = join(dir, 'orders', 'checkpoint-000000000001.json');
    await mkdir(join(dir, 'orders'));
    await copyFile(file(1), path);
    await expectBadCheckpoint(() => other.load(), `checkpoint '${path}' belongs to pipeline 'clicks', not 'orders'`);
  });

  it('refuses a checkpoint whose file name does not match its id', async () => {
    await saveAll([1]);
    await rename(file(1), file(5));
    await expectBadCheckpoint(() => store().load(), `checkpoint '${file(5)}' holds checkpoint 1, not 5`);
  });
});

describe('file checkpoint store: ordering', () => {
  it('throws on an id not greater than the last saved one, and keeps working after', async () => {
    const s = store();
    await s.save(sample(2));
    await expect(s.save(sample(2))).rejects.toThrow(new Error(`checkpoint id 2 is not greater than the last saved id 2 in file:${dir}`));
    await expect(s.save(sample(1))).rejects.not.toBeInstanceOf(UserError);
    await s.save(sample(3));
    expect((await s.load())?.checkpointId).toBe(3);
  });

  it('compares with checkpoints already on disk, so retention never deletes the one just saved', async () => {
    await saveAll([5]);
    await expect(store().save(sample(3))).rejects.toThrow('checkpoint id 3 is not greater than the last saved id 5');
    const s = store();
    await s.load();
    await expect(s.save(sample(5))).rejects.toThrow('checkpoint id 5 is not greater than the last saved id 5');
    expect(await files()).toEqual(['checkpoint-000000000005.json']);
  });

  it("throws on another pipeline's checkpoint or state that is not plain data, writing nothing", async () => {
    const s = store();
    await expect(s.save(sample(1, 'orders'))).rejects.toThrow(`cannot save pipeline 'orders' checkpoint in file:${dir} of 'clicks'`);
    await expect(s.save({ ...sample(1), shared: { at: new Date() } })).rejects.toThrow('shared.at is not a plain object');
    expect(await s.load()).toBeUndefined();
  });

  it('lands concurrent saves in call order, one after the other', async () => {
    const s = store(10);
    await Promise.all([1, 2, 3, 4].map((id) => s.save(sample(id))));
    expect(await files()).toHaveLength(4);
    const late = s.save(sample(5));
    const early = s.save(sample(4)); // called after 5: a bug, however it is timed
    await expect(late).resolves.toBeUndefined();
    await expect(early).rejects.toThrow('checkpoint id 4 is not greater than the last saved id 5');
  });

  it('finishes pending saves on close and refuses saves after it', async () => {
    const s = store();
    const pending = s.save(sample(1));
    await s.close();
    await expect(pending).resolves.toBeUndefined();
    expect(await files()).toEqual(['checkpoint-000000000001.json']);
    await expect(s.save(sample(2))).rejects.toThrow(`checkpoint store file:${dir} is closed`);
  });
});
