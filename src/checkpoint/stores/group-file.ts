/**
 * The file checkpoint store for a group of workers on one machine (a consumer group run as
 * several `sluice` processes against one `--checkpoint file:DIR`): one file per partition,
 * `DIR/<pipeline>/partitions/<partition>.json`, each holding the partition's newest checkpoint
 * and its lease — the worker that claimed it last and the epoch of that claim.
 *
 * Every read-modify-write of a partition file happens under a lock (proper-lockfile: a lock
 * directory beside the file, stale after a few seconds if its holder died), and the write itself
 * is atomic and durable. Each worker also holds a lock of its own while it runs
 * (`workers/<owner>`, refreshed every second), which is how others tell a live owner from a dead
 * one: a partition still leased to a live worker is claimed only once that worker released it
 * (after the checkpoint that drains it) or after `handoffMs` — so a rebalance hands over fresh
 * state, and a dead worker's partitions are taken at once. For workers on different machines, use a store with conditional writes
 * (DynamoDB) instead: a local directory is only shared by processes of one host.
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from '../../ingest/file/fs-errors.js';
import { CHECKPOINT_ADVICE, decodeCheckpoint, encodeCheckpoint } from '../codec.js';
import type { Checkpoint, CheckpointStore, PartitionCheckpoint, PartitionLeases } from '../store.js';
import { ensureDirectory, writeDurably, type CheckpointFs } from './durable.js';

export interface GroupFileCheckpointStoreOptions {
  /** The directory given as `file:DIR`; each pipeline gets its own subdirectory. */
  readonly dir: string;
  readonly pipeline: string;
  /** This worker's name in leases; default `host:pid:random`. */
  readonly owner?: string;
  /** How long a claim waits for a live owner to release a partition (default 20 s). */
  readonly handoffMs?: number;
  readonly fs?: CheckpointFs;
}

/** The lease a partition file records next to the checkpoint. */
interface Lease {
  readonly owner: string;
  readonly epoch: number;
}

/** A lock older than this is taken over: its holder died (kill -9) while writing. */
const STALE_LOCK_MS = 5_000;
/** How often a worker's own lock is refreshed; it is stale (the worker dead) after STALE_LOCK_MS. */
const ALIVE_REFRESH_MS = 1_000;
/** Between two looks at a partition a live owner has not released yet. */
const HANDOFF_POLL_MS = 50;
const DEFAULT_HANDOFF_MS = 20_000;
const LOCK_RETRIES = { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100 };
const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A {@link CheckpointStore} with {@link PartitionLeases}: partitions are claimed, saved and
 * released one by one, and a save by a worker that lost a partition is refused for that
 * partition. `load` returns `undefined`: state that is not a partition's (sink positions,
 * operators after the window) belongs to one worker and is not kept.
 *
 * @example
 * const store = groupFileCheckpointStore({ dir: '.checkpoints', pipeline: 'page-views' });
 * const states = await store.leases.claim(['clicks/0', 'clicks/1']);
 * @see PartitionLeases
 */
export function groupFileCheckpointStore(options: GroupFileCheckpointStoreOptions): CheckpointStore & { readonly leases: PartitionLeases } {
  const { dir, pipeline, fs = nodeFs } = options;
  if (!PIPELINE_NAME.test(pipeline)) throw new Error(`pipeline name '${pipeline}' cannot name a checkpoint directory`);
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const home = join(dir, pipeline, 'partitions');
  const workers = join(dir, pipeline, 'workers');
  const handoffMs = options.handoffMs ?? DEFAULT_HANDOFF_MS;
  const workerPath = (name: string): string => join(workers, encodeURIComponent(name));
  /** This worker's own lock, taken with its first claim and held until close. */
  let alive: Promise<() => Promise<void>> | undefined;
  const description = `file:${dir} (shared by a group)`;
  /** Epoch of this worker's claim, by partition held. */
  const held = new Map<string, number>();
  let ready: Promise<void> | undefined;
  let closed = false;

  const pathOf = (partition: string): string => join(home, `${encodeURIComponent(partition)}.json`);

  /** Runs `change` on one partition's file with the file locked; one process at a time. */
  async function locked<T>(partition: string, change: (current: Checkpoint | undefined, path: string) => Promise<T>): Promise<T> {
    const path = pathOf(partition);
    try {
      ready ??= ensureDirectory(fs, home);
      await ready;
    } catch (err) {
      ready = undefined;
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write checkpoint directory '${home}': ${describeFsError(err)}`, { cause: err });
    }
    let unlock: () => Promise<void>;
    try {
      unlock = await lockfile.lock(path, { realpath: false, stale: STALE_LOCK_MS, retries: LOCK_RETRIES, onCompromised: () => undefined });
    } catch (err) {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot lock checkpoint '${path}': ${describeFsError(err)}`, { cause: err });
    }
    try {
      return await change(await read(path), path);
    } finally {
      await unlock().catch(() => undefined);
    }
  }

  async function read(path: string): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read checkpoint '${path}': ${describeFsError(err)}`, { cause: err });
    }
    const entry = decodeCheckpoint(text, path);
    if (entry.pipeline !== pipeline) {
      throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${path}' belongs to pipeline '${entry.pipeline}', not '${pipeline}'${CHECKPOINT_ADVICE}`);
    }
    return entry;
  }

  async function write(path: string, entry: Checkpoint): Promise<void> {
    try {
      await writeDurably(fs, path, encodeCheckpoint(entry));
    } catch (err) {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write checkpoint '${path}': ${describeFsError(err)}`, { cause: err });
    }
  }

  async function liveLock(): Promise<() => Promise<void>> {
    try {
      await ensureDirectory(fs, workers);
      return await lockfile.lock(workerPath(owner), { realpath: false, stale: STALE_LOCK_MS, update: ALIVE_REFRESH_MS, onCompromised: () => undefined });
    } catch (err) {
      alive = undefined;
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot register this worker in '${workers}': ${describeFsError(err)}`, { cause: err });
    }
  }

  /** Whether worker `name` still runs: its own lock is held and fresh. */
  const isAlive = (name: string): Promise<boolean> =>
    lockfile.check(workerPath(name), { realpath: false, stale: STALE_LOCK_MS }).catch(() => false);

  const entryFor = (partition: string, lease: Lease, checkpointId: number, state: PartitionCheckpoint | undefined): Checkpoint => ({
    pipeline,
    checkpointId,
    createdAt: new Date().toISOString(),
    partitions: state === undefined ? {} : { [partition]: state },
    shared: { lease: { owner: lease.owner, epoch: lease.epoch } },
  });

  const leases: PartitionLeases = {
    owner,
    async claim(partitions) {
      await (alive ??= liveLock());
      const out = new Map<string, PartitionCheckpoint>();
      const deadline = Date.now() + handoffMs;
      for (const partition of partitions) {
        for (;;) {
          const taken = await locked(partition, async (current, path) => {
            const lease = leaseOf(current, path);
            // still someone else's, and they are alive: let them drain it first
            if (lease.owner !== '' && lease.owner !== owner && Date.now() < deadline && (await isAlive(lease.owner))) return false;
            const epoch = lease.epoch + 1;
            const state = current?.partitions[partition];
            await write(path, entryFor(partition, { owner, epoch }, current?.checkpointId ?? 0, state));
            held.set(partition, epoch);
            if (state !== undefined) out.set(partition, state);
            return true;
          });
          if (taken) break;
          await new Promise((resolve) => setTimeout(resolve, HANDOFF_POLL_MS));
        }
      }
      return out;
    },
    async release(partitions) {
      for (const partition of partitions) {
        const epoch = held.get(partition);
        held.delete(partition);
        if (epoch === undefined) continue;
        // an empty owner tells the next claimer it may take the partition now
        await locked(partition, async (current, path) => {
          const lease = leaseOf(current, path);
          if (lease.owner === owner && lease.epoch === epoch) {
            await write(path, entryFor(partition, { owner: '', epoch }, current?.checkpointId ?? 0, current?.partitions[partition]));
          }
        });
      }
    },
    holds: (partition) => held.has(partition),
  };

  return {
    description,
    leases,
    load: () => Promise.resolve(undefined),
    async save(checkpoint) {
      if (closed) throw new Error(`checkpoint store ${description} is closed`);
      if (checkpoint.pipeline !== pipeline) throw new Error(`cannot save pipeline '${checkpoint.pipeline}' checkpoint in ${description} of '${pipeline}'`);
      for (const [partition, state] of Object.entries(checkpoint.partitions)) {
        const epoch = held.get(partition);
        if (epoch === undefined) continue;
        await locked(partition, async (current, path) => {
          const lease = leaseOf(current, path);
          // another worker claimed it since: the partition is theirs, and so is its state
          if (lease.owner !== owner || lease.epoch !== epoch) {
            held.delete(partition);
            return;
          }
          await write(path, entryFor(partition, lease, checkpoint.checkpointId, state));
        });
      }
    },
    async close() {
      closed = true;
      const unlock = await alive?.catch(() => undefined);
      await unlock?.().catch(() => undefined);
    },
  };
}

/** The lease recorded in a partition file; epoch 0 when the partition was never claimed. */
function leaseOf(entry: Checkpoint | undefined, path: string): Lease {
  if (entry === undefined) return { owner: '', epoch: 0 };
  const lease = entry.shared['lease'] as Partial<Lease> | undefined;
  if (typeof lease?.owner !== 'string' || !Number.isSafeInteger(lease.epoch)) {
    throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${path}' has no valid lease: it was not written by a group of workers${CHECKPOINT_ADVICE}`);
  }
  return lease as Lease;
}
