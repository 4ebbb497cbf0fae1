import type { Position } from '../core/envelope.js';

/** What one partition contributes to a checkpoint. */
export interface PartitionCheckpoint {
  /** Position of the last record read before the barrier; null when nothing was read yet. */
  readonly position: Position | null;
  /** True once the partition reached its end (bounded input): nothing more to read. */
  readonly ended: boolean;
  /** Snapshots of the partition's stateful operators, by operator id (`before.2`, `window`). */
  readonly operators: Readonly<Record<string, unknown>>;
}

/**
 * One consistent checkpoint of a run: every partition's position and operator state at the
 * same barrier, plus the state shared by all partitions (the combiner, operators after the
 * window). Plain data: numbers (±Infinity and NaN included), strings, booleans, null, arrays
 * and plain objects only.
 */
export interface Checkpoint {
  readonly pipeline: string;
  readonly checkpointId: number;
  /** Wall-clock time it was taken, ISO-8601; informational only. */
  readonly createdAt: string;
  readonly partitions: Readonly<Record<string, PartitionCheckpoint>>;
  /** State shared across partitions, by operator id (`combiner`, `after.0`). */
  readonly shared: Readonly<Record<string, unknown>>;
}

/**
 * Where checkpoints are kept. `save` resolves only once the checkpoint is durable (it survives
 * `kill -9` and power loss as far as the medium allows); `load` returns the newest checkpoint,
 * `undefined` when there is none, and throws a `UserError` naming the file and what is wrong when
 * the newest one cannot be read (corrupt, unknown format version, another pipeline's) — never a
 * silent fresh start.
 */
export interface CheckpointStore {
  readonly description: string;
  /**
   * Present on stores that a group of workers shares (partitions move between them): each
   * partition's checkpoint is kept on its own and written only by the worker that claimed it
   * last. `load` of such a store returns `undefined` (nothing is run-wide), and `save` writes
   * only the partitions this worker still holds.
   */
  readonly leases?: PartitionLeases;
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
  close(): Promise<void>;
}

/**
 * Ownership of partitions in a store shared by workers, fenced like KCL's lease counter: a claim
 * raises the partition's epoch, and a save by a worker whose epoch is no longer the partition's
 * is refused for that partition — a worker that lost a partition can never overwrite the state
 * its new owner resumes from.
 */
export interface PartitionLeases {
  /** This worker, as saves record it (`host:pid:random`). */
  readonly owner: string;
  /**
   * Takes `partitions` over and returns their newest checkpoints (partitions never checkpointed
   * are absent). A partition its previous owner still holds and runs is taken once that owner
   * released it, or after a bounded wait; a dead owner's at once.
   */
  claim(partitions: readonly string[]): Promise<ReadonlyMap<string, PartitionCheckpoint>>;
  /**
   * Stops holding `partitions` after their last checkpoint, and tells whoever claims them next
   * that they may; later saves leave them alone.
   */
  release(partitions: readonly string[]): Promise<void>;
  /** Whether this worker still holds `partition` (false after a save found it taken over). */
  holds(partition: string): boolean;
}
