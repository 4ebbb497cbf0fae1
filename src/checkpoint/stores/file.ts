/**
 * The local file checkpoint store behind `--checkpoint file:DIR`, for development and tests:
 * `DIR/<pipeline>/checkpoint-000000000042.json`, written atomically (temporary file, fsync,
 * rename, fsync of the directory) so that a crash at any point leaves the previous checkpoint
 * whole. It has no fencing: two runs of one pipeline must not share a directory.
 */
import * as nodeFs from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, writeDurably, type CheckpointFs } from './durable.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from '../../ingest/file/fs-errors.js';
import { CHECKPOINT_ADVICE, decodeCheckpoint, encodeCheckpoint } from '../codec.js';
import type { Checkpoint, CheckpointStore } from '../store.js';

export type { CheckpointFs } from './durable.js';

/**
 * Options of {@link fileCheckpointStore}.
 *
 * @example const options: FileCheckpointStoreOptions = { dir: '.checkpoints', pipeline: 'clicks', keep: 5 }
 * @see fileCheckpointStore
 */
export interface FileCheckpointStoreOptions {
  /** The directory given as `file:DIR`; each pipeline gets its own subdirectory. */
  readonly dir: string;
  readonly pipeline: string;
  /** How many of the newest checkpoints to keep on disk; at least 1. */
  readonly keep?: number;
  readonly fs?: CheckpointFs;
}

const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CHECKPOINT_NAME = /^checkpoint-(\d+)\.json$/;
const LEFTOVER_NAME = /^checkpoint-\d+\.json\.tmp$/;

/**
 * A checkpoint store keeping the newest `keep` checkpoints of one pipeline as files in `dir`.
 * `save` resolves once the checkpoint is durable; saves run one at a time, in call order, and a
 * save whose id is not above every id already saved is a bug (plain `Error`). `load` returns
 * the newest checkpoint or throws a `UserError` if it cannot be used: it never falls back to an
 * older file on its own.
 *
 * @example
 * const store = fileCheckpointStore({ dir: '.checkpoints', pipeline: 'clicks' });
 * const resumeFrom = await store.load();
 * @see CheckpointStore
 * @see encodeCheckpoint
 */
export function fileCheckpointStore({ dir, pipeline, keep = 3, fs = nodeFs }: FileCheckpointStoreOptions): CheckpointStore {
  // definePipeline already restricts names; checked again because the name becomes a path.
  if (!PIPELINE_NAME.test(pipeline)) throw new Error(`pipeline name '${pipeline}' cannot name a checkpoint directory`);
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new UserError(ErrorCode.BAD_OPTION, `checkpoint keep must be a whole number of at least 1, got ${keep}`);
  }
  const home = join(dir, pipeline);
  const description = `file:${dir}`;
  /** Highest id saved, loaded or found on disk; undefined until the directory was first read. */
  let lastId: number | undefined;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  /** Checkpoint ids (ascending) and crash leftovers in `home`; undefined when it does not exist. */
  async function list(): Promise<{ ids: number[]; leftovers: string[] } | undefined> {
    let names: string[];
    try {
      names = await fs.readdir(home);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const ids: number[] = [];
    for (const name of names) {
      const id = Number(CHECKPOINT_NAME.exec(name)?.[1]);
      // Files not named exactly as this store names them (checkpoint-5.json) are not ours.
      if (Number.isSafeInteger(id) && fileName(id) === name) ids.push(id);
    }
    return { ids: ids.sort((a, b) => a - b), leftovers: names.filter((n) => LEFTOVER_NAME.test(n)) };
  }

  async function write(checkpoint: Checkpoint): Promise<void> {
    const { checkpointId: id } = checkpoint;
    if (checkpoint.pipeline !== pipeline) throw new Error(`cannot save pipeline '${checkpoint.pipeline}' checkpoint in ${description} of '${pipeline}'`);
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`checkpoint id ${id} is not a non-negative integer`);
    const text = encodeCheckpoint(checkpoint);
    const path = join(home, fileName(id));
    try {
      // A new directory's entry must be durable too, or a crash could lose the whole directory.
      await ensureDirectory(fs, home);
      lastId ??= (await list())?.ids.at(-1) ?? -1;
    } catch (err) {
      throw unwritable(`cannot write checkpoint directory '${home}'`, err);
    }
    // Checked against the files on disk as well: retention would otherwise delete the new
    // checkpoint as the oldest, and load would return a stale one.
    if (id <= lastId) throw new Error(`checkpoint id ${id} is not greater than the last saved id ${lastId} in ${description}`);
    try {
      await writeDurably(fs, path, text);
    } catch (err) {
      throw unwritable(`cannot write checkpoint '${path}'`, err);
    }
    lastId = id;
    try {
      const ids = (await list())?.ids ?? [];
      for (const old of ids.slice(0, Math.max(0, ids.length - keep))) await fs.rm(join(home, fileName(old)), { force: true });
    } catch (err) {
      throw unwritable(`cannot remove old checkpoints in '${home}'`, err);
    }
  }

  return {
    description,
    async load() {
      await queue;
      let listing: Awaited<ReturnType<typeof list>>;
      try {
        listing = await list();
      } catch (err) {
        throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read checkpoint directory '${home}': ${describeFsError(err)}`, { cause: err });
      }
      if (listing === undefined) return undefined;
      // A leftover is a save that crashed before its rename: never a checkpoint, and the next
      // save of that id truncates it anyway, so failing to remove it is no reason to stop.
      for (const name of listing.leftovers) await fs.rm(join(home, name), { force: true }).catch(() => undefined);
      const id = listing.ids.at(-1);
      if (id === undefined) return undefined;
      const path = join(home, fileName(id));
      let text: string;
      try {
        text = await fs.readFile(path, 'utf8');
      } catch (err) {
        throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read checkpoint '${path}': ${describeFsError(err)}`, { cause: err });
      }
      const checkpoint = decodeCheckpoint(text, path);
      if (checkpoint.pipeline !== pipeline) {
        throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${path}' belongs to pipeline '${checkpoint.pipeline}', not '${pipeline}'${CHECKPOINT_ADVICE}`);
      }
      if (checkpoint.checkpointId !== id) {
        throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${path}' holds checkpoint ${checkpoint.checkpointId}, not ${id}${CHECKPOINT_ADVICE}`);
      }
      lastId = Math.max(lastId ?? -1, id);
      return checkpoint;
    },
    save(checkpoint) {
      if (closed) return Promise.reject(new Error(`checkpoint store ${description} is closed`));
      const saved = queue.then(() => write(checkpoint));
      // One failed save must not fail the ones queued behind it.
      queue = saved.catch(() => undefined);
      return saved;
    },
    async close() {
      closed = true;
      await queue;
    },
  };
}

function fileName(id: number): string {
  return `checkpoint-${String(id).padStart(12, '0')}.json`;
}

function unwritable(what: string, err: unknown): UserError {
  return new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${what}: ${describeFsError(err)}`, { cause: err });
}
