import type { Envelope, Position, Raw } from './envelope.js';
import type { ErrorCode } from './errors.js';
import type { CheckpointStore } from '../checkpoint/store.js';

/**
 * Reads one partition (a file, a Kafka partition, a Kinesis shard) in order.
 *
 * Contract, after Benthos: `read` resolves with the next batch of raw records, or `null` once the
 * partition is at its end (bounded input only); it is never called again after `null` or while a
 * previous call is pending. `close` releases the partition and may be called at any time.
 */
export interface PartitionReader {
  readonly partition: string;
  read(): Promise<Envelope<Raw>[] | null>;
  /**
   * Called once a checkpoint covering everything up to `position` is durable: a source that
   * keeps its own progress (Kafka offsets, KCL checkpoints) records it now, never earlier.
   */
  commit?(position: Position): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a source with changing partitions (Kafka consumer groups, Kinesis leases) tells the
 * runtime what it reads. The runtime serializes calls with its checkpoints.
 */
export interface AssignmentListener {
  /**
   * Call first for partitions about to be assigned: takes them over in the checkpoint store (a
   * store shared by workers fences their previous owners) and returns where each resumes — the
   * position its newest checkpoint covers; partitions never checkpointed are absent.
   */
  resume(partitions: readonly string[]): Promise<ReadonlyMap<string, Position>>;
  /** Starts reading new partitions (opened at their resume positions), restoring their state. */
  assign(readers: readonly PartitionReader[]): Promise<void>;
  /**
   * Gives partitions up: stops reading them, drains what was read, takes a checkpoint that covers
   * it, then releases their state. Resolves when that is done — inside the broker's deadline.
   */
  revoke(partitions: readonly string[]): Promise<void>;
  /**
   * A rebalance is under way and the current partitions may go to other workers: takes a
   * checkpoint now, so whoever gets them next resumes from fresh state. Resolves when it is
   * durable (or at once without checkpoints).
   */
  checkpointNow(): Promise<void>;
}

/**
 * A source of partitions. `open` fails with a `UserError` when the input cannot be read.
 *
 * `resume` maps partition ids to the position of the last record a checkpoint covers: those
 * readers start with the record right after it (a partition not in the map starts at its
 * beginning). A position the source cannot find (a file that shrank) is a `UserError`.
 */
export interface Source {
  /** Human-readable description for logs, e.g. `file:data/*.jsonl (3 files)`. */
  readonly description: string;
  open(resume?: ReadonlyMap<string, Position>): Promise<PartitionReader[]>;
  /**
   * For sources whose partitions change while running: called once after `open` with the
   * listener to report assignments and revocations to. Such a run ends only when stopped.
   */
  listen?(listener: AssignmentListener): void;
  /**
   * For sources that keep checkpoints with their partitions' leases (Kinesis): the store the run
   * uses, in place of one made from `--checkpoint` (whose directory, if given, is `checkpointDir`).
   * Called once, before `open`.
   */
  checkpointStore?(pipeline: string, checkpointDir: string | undefined): CheckpointStore;
  close(): Promise<void>;
}

/** A record a service refused for good (a mapping error, a rejected record), and why. */
export interface SinkRejection<T = unknown> {
  readonly record: T;
  readonly code: ErrorCode;
  /** The service's own words, e.g. Timestream's RejectedRecords reason. */
  readonly reason: string;
}

/** What a write could not deliver and never will: the runtime dead-letters these. */
export interface WriteResult<T = unknown> {
  readonly rejected: readonly SinkRejection<T>[];
}

/**
 * A destination for records. `write` resolves only once the records are delivered (written to
 * the file, accepted by the service); that resolution is the acknowledgement checkpoints wait
 * for. Writes are issued one at a time per sink. Records the service refuses for good are not
 * retried: `write` resolves with them (a {@link WriteResult}) and the runtime sends them to the
 * dead-letter output before the checkpoint that covers them completes. Errors that may pass
 * (throttling, timeouts) are retried inside `write`; a write that rejects fails the run.
 */
export interface Sink<T = unknown> {
  readonly description: string;
  write(records: readonly T[]): Promise<void | WriteResult<T>>;
  /**
   * Where the output stands after every write so far (a file's length), saved with checkpoints.
   * Sinks that can rewind implement it with {@link Sink.restore}; the others rely on result ids
   * to make re-emitted results harmless.
   */
  position?(): unknown;
  /** Rewinds to a saved position before the first write of a resumed run (a file truncates). */
  restore?(position: unknown): Promise<void>;
  close(): Promise<void>;
}
