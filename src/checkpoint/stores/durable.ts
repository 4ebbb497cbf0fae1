/**
 * Durable file writes shared by the file checkpoint stores: a temporary file, fsync, rename over
 * the target, fsync of the directory — so a crash at any point leaves either the old file or the
 * new one whole, never a mix.
 */
import { dirname } from 'node:path';

/**
 * The file system calls the file stores make, a subset of `node:fs/promises` (the default).
 * Tests pass a wrapper to watch fsync and to inject failures.
 *
 * @example fileCheckpointStore({ dir, pipeline: 'clicks', fs: { ...fsPromises, rename: failingRename } })
 * @see fileCheckpointStore
 */
export interface CheckpointFs {
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  open(path: string, flags: 'r' | 'w'): Promise<{ writeFile(data: string, encoding: 'utf8'): Promise<void>; sync(): Promise<void>; close(): Promise<void> }>;
  rename(from: string, to: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  rm(path: string, options: { force: true }): Promise<void>;
}

/** Makes a directory's entries (a rename, a new file) durable. */
export async function syncDirectory(fs: CheckpointFs, path: string): Promise<void> {
  // Windows cannot open a directory to fsync it; there the rename is as durable as it gets.
  if (process.platform === 'win32') return;
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` if needed; a new directory's entry is made durable in its parent (enough when
 * the parent existed, the usual case for a local store).
 */
export async function ensureDirectory(fs: CheckpointFs, dir: string): Promise<void> {
  if ((await fs.mkdir(dir, { recursive: true })) !== undefined) await syncDirectory(fs, dirname(dir));
}

/** Replaces `path` with `text` atomically and durably; a failed write leaves no temporary file. */
export async function writeDurably(fs: CheckpointFs, path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
    await syncDirectory(fs, dirname(path));
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
