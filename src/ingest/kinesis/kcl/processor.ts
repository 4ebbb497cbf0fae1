/**
 * Sluice as the MultiLangDaemon's record processor for one shard lease: a {@link Source} whose
 * one partition is the shard the daemon gives it, and the protocol's callbacks (`initialize`,
 * `processRecords`, `leaseLost`, `shardEnded`, `shutdownRequested`) mapped onto the runtime's
 * {@link AssignmentListener}. The aws-kcl wiring is in `service.ts`; this file depends only on
 * the narrow {@link KclCheckpointer}, so the protocol handling is unit-tested without a daemon.
 *
 * KCL checkpoints follow Sluice's: a KCL checkpoint is written only once a Sluice checkpoint
 * (state and every sink acknowledged) covering that record is durable — from the reader's
 * `commit` — and only while an action is in progress, because the daemon reads the processor's
 * messages only then (`callProcessRecordsEvenForEmptyRecordList` keeps idle shards flowing).
 *
 * @module
 */
import type { AssignmentListener, PartitionReader, Source } from '../../../core/connectors.js';
import type { Position } from '../../../core/envelope.js';
import { messageOf } from '../../../core/errors.js';
import type { KinesisEndpoint } from '../../../kinesis/endpoint.js';
import { comparePositions, kclPositionOf, KclShardReader, type KclPosition, type KclRecord } from './reader.js';

/**
 * The daemon's checkpointer, narrowed: `checkpoint(sequence)` checkpoints at that record,
 * `checkpoint()` at SHARD_END (after `shardEnded`). Rejects with the daemon's error name
 * (`ShutdownException` when the lease is gone, `ThrottlingException`, `InvalidStateException`).
 */
export interface KclCheckpointer {
  checkpoint(sequenceNumber?: string): Promise<void>;
}

/** What `initialize` receives. `sequenceNumber` is the lease's checkpoint, or a sentinel (TRIM_HORIZON, LATEST, AT_TIMESTAMP). */
export interface KclInitializeInput {
  readonly shardId: string;
  readonly sequenceNumber?: string | null;
  readonly subSequenceNumber?: number | null;
}

/** The protocol's callbacks, each resolving when the daemon may get its status. */
export interface KclRecordProcessor {
  initialize(input: KclInitializeInput): Promise<void>;
  processRecords(input: { readonly records: readonly KclRecord[]; readonly checkpointer: KclCheckpointer }): Promise<void>;
  leaseLost(): Promise<void>;
  shardEnded(input: { readonly checkpointer: KclCheckpointer }): Promise<void>;
  shutdownRequested(input: { readonly checkpointer: KclCheckpointer }): Promise<void>;
  /** The daemon closed the protocol's stdin: the processor is done. */
  closed(): void;
}

export interface KclShardSourceOptions {
  /** Called once the daemon is done with this processor: the run should stop (gracefully). */
  readonly stop: () => void;
  /** Sluice's own lines (never stdout). */
  readonly log: (line: string) => void;
}

/**
 * The record processor of one shard lease as a Source (see the module comment).
 *
 * @example const source = kclShardSource(endpoint, { stop: () => controller.abort(), log }); startKclProtocol(source)
 * @see KclShardReader
 */
export function kclShardSource(endpoint: KinesisEndpoint, options: KclShardSourceOptions): Source & KclRecordProcessor & { readonly kclCheckpointed: () => KclPosition | 'SHARD_END' | undefined } {
  return new KclShardSource(endpoint, options);
}

class KclShardSource implements Source, KclRecordProcessor {
  readonly description: string;
  private listener: AssignmentListener | undefined;
  private listening!: (listener: AssignmentListener) => void;
  private readonly listened = new Promise<AssignmentListener>((resolve) => (this.listening = resolve));
  private reader: KclShardReader | undefined;
  /** The checkpointer of the action in progress; undefined between actions (nothing can be sent then). */
  private checkpointer: KclCheckpointer | undefined;
  /** The newest position a durable Sluice checkpoint covers that KCL has not been told yet. */
  private pending: Position | undefined;
  private checkpointed: KclPosition | 'SHARD_END' | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private failures = 0;
  private done = false;

  constructor(
    private readonly endpoint: KinesisEndpoint,
    private readonly options: KclShardSourceOptions,
  ) {
    this.description = `${endpoint.url} (KCL record processor)`;
  }

  async open(): Promise<PartitionReader[]> {
    return [];
  }

  listen(listener: AssignmentListener): void {
    this.listener = listener;
    this.listening(listener);
  }

  async close(): Promise<void> {
    await this.reader?.close();
  }

  /** The last KCL checkpoint this processor wrote (for tests and the summary). */
  kclCheckpointed(): KclPosition | 'SHARD_END' | undefined {
    return this.checkpointed;
  }

  async initialize(input: KclInitializeInput): Promise<void> {
    const listener = await this.listened;
    const partition = `${this.endpoint.stream}/${input.shardId}`;
    const positions = await listener.resume([partition]);
    const covered = kclPositionOf(positions.get(partition));
    const start = this.endpoint.start;
    const arrivedFrom = covered === undefined && input.sequenceNumber === 'AT_TIMESTAMP' && start.kind === 'timestamp' ? start.time : undefined;
    this.reader = new KclShardReader(this.endpoint.stream, input.shardId, covered, arrivedFrom, (position) => this.committed(position));
    await listener.assign([this.reader]);
  }

  processRecords(input: { readonly records: readonly KclRecord[]; readonly checkpointer: KclCheckpointer }): Promise<void> {
    return this.during(input.checkpointer, async () => {
      await this.reader?.offer(input.records);
    });
  }

  /** Another worker holds the lease now: no KCL checkpoint is possible; Sluice's state is handed over. */
  async leaseLost(): Promise<void> {
    const reader = this.reader;
    this.checkpointer = undefined;
    this.pending = undefined;
    if (reader === undefined || this.listener === undefined) return;
    await this.listener.revoke([reader.partition]);
    this.reader = undefined;
  }

  /**
   * The shard is closed and every record of it was delivered: the partition ends (its windows
   * fire), a Sluice checkpoint records that, and then KCL's SHARD_END checkpoint lets the
   * daemon start the child shards.
   */
  shardEnded(input: { readonly checkpointer: KclCheckpointer }): Promise<void> {
    return this.during(input.checkpointer, async () => {
      const reader = this.reader;
      const listener = this.listener;
      if (reader !== undefined && listener !== undefined) {
        reader.end();
        await reader.ended;
        await listener.checkpointNow();
        await listener.revoke([reader.partition]);
        this.reader = undefined;
      }
      // SHARD_END covers everything: a position still pending need not go first
      this.pending = undefined;
      await this.flushing;
      await input.checkpointer.checkpoint();
      this.checkpointed = 'SHARD_END';
    });
  }

  /** The worker is shutting down: a Sluice checkpoint now, and KCL's after it. */
  shutdownRequested(input: { readonly checkpointer: KclCheckpointer }): Promise<void> {
    return this.during(input.checkpointer, async () => {
      await this.listener?.checkpointNow();
    });
  }

  closed(): void {
    if (this.done) return;
    this.done = true;
    this.options.stop();
  }

  /** Runs an action with its checkpointer at hand, and writes the pending KCL checkpoint before its status goes back. */
  private async during(checkpointer: KclCheckpointer, action: () => Promise<void>): Promise<void> {
    this.checkpointer = checkpointer;
    try {
      this.flush();
      await action();
      this.flush();
      await this.flushing;
    } finally {
      this.checkpointer = undefined;
    }
  }

  /** From the reader's commit: a Sluice checkpoint covering `position` is durable. */
  private committed(position: Position): void {
    const at = kclPositionOf(position);
    if (at === undefined || this.checkpointed === 'SHARD_END') return;
    if (this.checkpointed !== undefined && comparePositions(at, this.checkpointed) <= 0) return;
    const pending = kclPositionOf(this.pending);
    if (pending !== undefined && comparePositions(at, pending) <= 0) return;
    this.pending = position;
    this.flush();
  }

  /** Sends the pending checkpoint when an action is in progress; one at a time. */
  private flush(): void {
    this.flushing = this.flushing.then(async () => {
      const checkpointer = this.checkpointer;
      const position = this.pending;
      const at = kclPositionOf(position);
      if (checkpointer === undefined || position === undefined || at === undefined) return;
      this.pending = undefined;
      try {
        // aws-kcl's checkpointer carries no sub-sequence number: KCL then re-sends the rest of an
        // aggregated record after a restart, and the reader drops what Sluice's checkpoint covers
        await checkpointer.checkpoint(String(position['sequence']));
        this.checkpointed = at;
      } catch (err) {
        // Sluice's checkpoint is what resumes; KCL's only limits how much is re-read
        if (this.failures++ === 0) this.options.log(`sluice: KCL checkpoint at ${String(position['sequence'])} failed (later failures are not logged): ${messageOf(err)}`);
      }
    });
  }
}
