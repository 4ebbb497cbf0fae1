import type { SchedulerLike, Subscription } from 'rxjs';
import type { Position } from '../core/envelope.js';
import type { StateHandle } from '../core/context.js';
import type { Checkpoint, CheckpointStore, PartitionCheckpoint } from './store.js';

/** What the coordinator needs from the run. */
export interface CoordinatorHooks {
  /**
   * Slips barrier `checkpointId` into every partition now reading (alignment downstream then
   * waits for each of them) and returns where every partition of the run, reading or finished,
   * stands at this moment.
   */
  injectBarriers(checkpointId: number): ReadonlyMap<string, { readonly position: Position | null; readonly ended: boolean }>;
  /** Waits until every sink wrote all output before the barrier; their positions, by sink. */
  acknowledge(): Promise<Record<string, unknown>>;
  /**
   * The checkpoint is durable: sources may commit their positions now — those of `partitions`
   * (a shared store may have refused partitions another worker took over).
   */
  committed(checkpoint: Checkpoint, partitions: ReadonlySet<string>): Promise<void>;
}

export interface CoordinatorOptions {
  readonly pipeline: string;
  readonly store: CheckpointStore;
  /** The checkpoint the run resumed from, if any. */
  readonly restored: Checkpoint | undefined;
  readonly everyMs?: number | undefined;
  readonly everyRecords?: number | undefined;
  readonly scheduler: SchedulerLike;
  readonly now: () => Date;
}

interface Pending {
  readonly id: number;
  /** Where each partition stood when the barrier went in. */
  positions: ReadonlyMap<string, { readonly position: Position | null; readonly ended: boolean }>;
  readonly partitions: Map<string, Record<string, unknown>>;
  readonly shared: Record<string, unknown>;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Takes checkpoints, one at a time, as Flink's checkpoint coordinator does: inject barrier N
 * into every reading partition (recording where each stands), let operators snapshot as the
 * barrier passes them, wait for alignment and for every sink to acknowledge all output before
 * the barrier, and only then persist the checkpoint and let sources commit. A checkpoint
 * persisted before its output is acknowledged is the data-loss bug this order prevents.
 */
export class CheckpointCoordinator {
  /** Id of the newest durable checkpoint (0: none yet). */
  lastCompleted: number;
  /** Partitions claimed from a shared store with a checkpoint to resume from. */
  resumedPartitions = 0;
  private last: Checkpoint | undefined;
  private pending: Pending | undefined;
  private readsSince = 0;
  private timer: Subscription | undefined;
  private failure: ((err: unknown) => void) | undefined;

  constructor(
    private readonly options: CoordinatorOptions,
    private readonly hooks: CoordinatorHooks,
  ) {
    this.last = options.restored;
    this.lastCompleted = options.restored?.checkpointId ?? 0;
  }

  /** Where each partition resumes: the positions of the newest checkpoint. */
  resumePositions(): Map<string, Position> {
    const out = new Map<string, Position>();
    for (const [partition, saved] of Object.entries(this.last?.partitions ?? {})) {
      if (saved.position !== null) out.set(partition, saved.position);
    }
    return out;
  }

  /**
   * Partitions assigned while running: with a store shared by workers, claims them and takes
   * their newest checkpoints in (fencing their previous owners); otherwise a no-op, as the run's
   * own checkpoint already holds them.
   */
  async claim(partitions: readonly string[]): Promise<void> {
    const leases = this.options.store.leases;
    if (leases === undefined || partitions.length === 0) return;
    const states = await leases.claim(partitions);
    this.resumedPartitions += states.size;
    const merged = { ...this.last?.partitions };
    for (const partition of partitions) {
      const state = states.get(partition);
      if (state === undefined) delete merged[partition];
      else merged[partition] = state;
    }
    this.last = this.withPartitions(merged);
  }

  /** Revoked partitions after their last checkpoint: a shared store's later saves skip them. */
  async release(partitions: readonly string[]): Promise<void> {
    const leases = this.options.store.leases;
    if (leases === undefined) return;
    await leases.release(partitions);
    const kept = { ...this.last?.partitions };
    for (const partition of partitions) delete kept[partition];
    this.last = this.withPartitions(kept);
  }

  /** Where a partition resumes: the newest checkpoint's position for it (assignments). */
  positionOf(partition: string): Position | undefined {
    return this.last?.partitions[partition]?.position ?? undefined;
  }

  /** The state handle of one operator of one partition (`window`, `before.2`). */
  partitionState(partition: string, operatorId: string): StateHandle {
    return {
      restored: () => this.last?.partitions[partition]?.operators[operatorId],
      save: (id, state) => {
        const pending = this.pending;
        if (pending === undefined || pending.id !== id) return;
        let operators = pending.partitions.get(partition);
        if (operators === undefined) pending.partitions.set(partition, (operators = {}));
        operators[operatorId] = state;
      },
    };
  }

  /** The state handle of run-wide state (`combiner`, `after.0`). */
  sharedState(id: string): StateHandle {
    return {
      restored: () => this.options.restored?.shared[id],
      save: (checkpointId, state) => {
        if (this.pending?.id === checkpointId) this.pending.shared[id] = state;
      },
    };
  }

  /** Starts the interval timer; `fail` receives errors of checkpoints taken in the background. */
  start(fail: (err: unknown) => void): void {
    this.failure = fail;
    const every = this.options.everyMs;
    if (every === undefined) return;
    this.timer = this.options.scheduler.schedule(
      function (this: { schedule(state?: CheckpointCoordinator, delay?: number): unknown }, coordinator) {
        coordinator?.trigger();
        this.schedule(coordinator, every);
      },
      every,
      this,
    );
  }

  /** Counts records read; triggers a checkpoint when the record interval is reached. */
  recordsRead(count: number): void {
    const every = this.options.everyRecords;
    if (every === undefined) return;
    this.readsSince += count;
    if (this.readsSince >= every) this.trigger();
  }

  /** Starts a checkpoint unless one is in flight; resolves when it is durable. */
  trigger(): Promise<void> {
    if (this.pending !== undefined) return this.pending.done;
    this.readsSince = 0;
    const id = this.lastCompleted + 1;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // a background checkpoint's failure is reported through start()'s callback
    done.catch((err: unknown) => this.failure?.(err));
    const pending: Pending = { id, positions: new Map(), partitions: new Map(), shared: {}, done, resolve, reject };
    this.pending = pending;
    pending.positions = this.hooks.injectBarriers(id);
    return done;
  }

  /** Barrier `id` passed every operator and reached the sinks: acknowledge, persist, commit. */
  reachedOutputs(id: number): void {
    const pending = this.pending;
    if (pending === undefined || pending.id !== id) return;
    void this.complete(pending).then(pending.resolve, pending.reject);
  }

  /** Waits for a checkpoint in flight, if any. */
  async settle(): Promise<void> {
    await this.pending?.done.catch(() => undefined);
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private withPartitions(partitions: Record<string, PartitionCheckpoint>): Checkpoint {
    return {
      pipeline: this.options.pipeline,
      checkpointId: this.lastCompleted,
      createdAt: this.last?.createdAt ?? this.options.now().toISOString(),
      partitions,
      shared: this.last?.shared ?? {},
    };
  }

  private async complete(pending: Pending): Promise<void> {
    try {
      const sinks = await this.hooks.acknowledge();
      const partitions: Record<string, PartitionCheckpoint> = {};
      // partitions this run no longer reads (revoked, or gone from the source) keep their last state
      for (const [partition, saved] of Object.entries(this.last?.partitions ?? {})) partitions[partition] = saved;
      for (const [partition, now] of pending.positions) {
        partitions[partition] = {
          position: now.position,
          ended: now.ended,
          operators: { ...this.last?.partitions[partition]?.operators, ...pending.partitions.get(partition) },
        };
      }
      const checkpoint: Checkpoint = {
        pipeline: this.options.pipeline,
        checkpointId: pending.id,
        createdAt: this.options.now().toISOString(),
        partitions,
        shared: { ...pending.shared, sinks },
      };
      await this.options.store.save(checkpoint);
      this.last = checkpoint;
      this.lastCompleted = pending.id;
      const leases = this.options.store.leases;
      const saved = Object.keys(partitions).filter((partition) => leases?.holds(partition) ?? true);
      await this.hooks.committed(checkpoint, new Set(saved));
    } finally {
      this.pending = undefined;
    }
  }
}
