import type { Element } from '../core/elements.js';
import type { Envelope } from '../core/envelope.js';
import { NO_STATE, type PartitionContext, type StateHandle } from '../core/context.js';
import { ErrorCode } from '../core/errors.js';
import type { CompositeAggregate } from './aggregates/composite.js';
import type { WindowAssigner } from './assigners.js';
import { Combiner, type CombinerState } from './combiner.js';
import type { Bounds, Pane } from './pane.js';
import { windowResult, type WindowResult } from './result.js';
import { WindowOperator, type WindowOperatorState } from './window-operator.js';

export interface WindowStageOptions {
  readonly pipeline: string;
  readonly assigner: WindowAssigner;
  readonly aggregate: CompositeAggregate;
  readonly allowedLateness: number;
  /** Wall-clock time without input after which a partition is idle; undefined: never. */
  readonly idleTimeout: number | undefined;
  /** How partitions' results become the stage's results; see {@link WindowResults}. */
  readonly results: WindowResults;
  /** Contexts of the partitions feeding the stage, by partition id; their state handles keep
   * each partition's window state. */
  readonly partitions: ReadonlyMap<string, PartitionContext>;
  /** State shared by all partitions: the combined watermark and the combiner. */
  readonly shared?: StateHandle;
  /** Wall clock for idleness (the scheduler's `now`). */
  readonly now: () => number;
}

/**
 * How the partitions' windows become results:
 * - `combined`: one result per key and window, merged across every partition of the run once
 *   the minimum watermark passes (one process owns all partitions: files, generators);
 * - `per-partition`: one result per key, window and partition, the partition in its id;
 * - `keyed`: each partition's windows are final results, with the ids `combined` would give —
 *   for consumer groups, where partitions move between workers and each key must live in one
 *   partition (the topic is keyed by the window key). A key seen in two partitions is counted
 *   as `split_keys`: its results from each partition would share an id.
 */
export type WindowResults = 'combined' | 'per-partition' | 'keyed';

/** How many keys `keyed` results remember to notice a key in two partitions (then it starts over). */
const SPLIT_KEY_MEMORY = 65_536;

/** Checkpointed state of one partition's windows. */
interface SavedWindows {
  readonly window: WindowOperatorState;
}

/** Checkpointed state shared across partitions. */
interface SharedState {
  readonly watermark: number;
  readonly combiner: CombinerState | null;
}

interface PartitionState {
  readonly ctx: PartitionContext;
  readonly operator: WindowOperator;
  ended: boolean;
  idle: boolean;
  lastInput: number;
}

/**
 * The windowing step of a run: one {@link WindowOperator} per partition, and (for
 * `combined` results) a {@link Combiner} that merges their results per key and window once the
 * minimum watermark of the partitions passes. Idle partitions are left out of that minimum and
 * follow it instead, so their own windows fire with everyone else's — as Flink's idleness does
 * for a keyed window after a shuffle. Everything happens synchronously in `handle`.
 */
export class WindowStage {
  /** Watermark of the stage's output: the minimum over active partitions, never decreasing. */
  watermark = Number.NEGATIVE_INFINITY;
  /** Latest event time seen on any partition; minus `watermark`, how far results trail the data. */
  maxEventTime = Number.NEGATIVE_INFINITY;

  private readonly options: WindowStageOptions;
  private readonly states = new Map<string, PartitionState>();
  private readonly combiner: Combiner | undefined;
  /** `keyed` results: the partition each recently fired key came from. */
  private readonly keyHomes = new Map<string, string>();
  private output: Envelope<WindowResult>[] = [];

  constructor(options: WindowStageOptions) {
    this.options = options;
    const merging = options.assigner.kind === 'session';
    if (options.results === 'combined') {
      this.combiner = new Combiner({
        merging,
        aggregate: options.aggregate,
        allowedLateness: options.allowedLateness,
        openElsewhere: (key, start, end) => {
          for (const state of this.states.values()) if (state.operator.hasOpenSession(key, start, end)) return true;
          return false;
        },
        listener: {
          fire: (pane, revision, acc, supersedes) => this.emit(pane, revision, acc, undefined, supersedes),
          latePartial: (partition, pane) => {
            const ctx = this.states.get(partition)?.ctx;
            ctx?.counters.inc('late_partials');
            // the partial summarises many events; report it once, with its window
            ctx?.late(this.partialEnvelope(partition, pane), `partial result for window [${pane.start}, ${pane.end}) arrived after the combined window closed`);
          },
        },
      });
    }
    const shared = options.shared?.restored() as SharedState | undefined;
    if (shared !== undefined) {
      this.watermark = shared.watermark;
      if (shared.combiner !== null) this.combiner?.restore(shared.combiner);
    }
    for (const [partition, ctx] of options.partitions) this.addPartition(partition, ctx);
  }

  /** Saves every partition's windows and the shared state for checkpoint `checkpointId`. */
  snapshot(checkpointId: number): void {
    for (const state of this.states.values()) {
      state.ctx.state.save(checkpointId, { window: state.operator.snapshot() } satisfies SavedWindows);
    }
    (this.options.shared ?? NO_STATE).save(checkpointId, {
      watermark: this.watermark,
      combiner: this.combiner?.snapshot() ?? null,
    } satisfies SharedState);
  }

  /**
   * Takes a partition in (assigned while running), restoring its windows from its context's
   * checkpointed state when there is one.
   */
  addPartition(partition: string, ctx: PartitionContext): void {
    if (this.states.has(partition)) throw new Error(`window stage: partition ${partition} is already assigned`);
    const operator = new WindowOperator({
      assigner: this.options.assigner,
      aggregate: this.options.aggregate,
      allowedLateness: this.options.allowedLateness,
      listener: {
        fire: (pane, revision, supersedes) => this.partitionFired(partition, pane, revision, supersedes),
        late: (env, reason) => ctx.late(env, reason),
        reject: (env, reason) => ctx.deadLetter(env, 'window', ErrorCode.BAD_FIELD, reason),
        // Per event, not per batch: the combined watermark must move exactly when a
        // partition's does, or batch boundaries would change the order of results. Only a
        // partition that held the minimum can move it.
        advanced: (previous) => {
          if (!state.idle && previous <= this.watermark) this.advanceCombined();
        },
      },
    });
    const restored = ctx.state.restored() as SavedWindows | undefined;
    if (restored !== undefined) operator.restore(restored.window);
    const state: PartitionState = { ctx, operator, ended: false, idle: false, lastInput: this.options.now() };
    this.states.set(partition, state);
  }

  /**
   * Lets a revoked partition go, after its state was checkpointed. Its results already handed to
   * the combiner stay there; it no longer holds the combined watermark back.
   */
  removePartition(partition: string): Envelope<WindowResult>[] {
    this.states.delete(partition);
    // its keys may now arrive through another partition (a rebalance, a resharded stream)
    for (const [key, home] of this.keyHomes) if (home === partition) this.keyHomes.delete(key);
    this.advanceCombined();
    return this.take();
  }

  /** Processes one element of one partition; returns the results it produced, in order. */
  handle(partition: string, element: Element<unknown>): Envelope<WindowResult>[] {
    const state = this.states.get(partition);
    if (state === undefined) throw new Error(`window stage: unknown partition ${partition}`);
    state.lastInput = this.options.now();
    state.idle = false;
    switch (element.kind) {
      case 'batch': {
        let latest = this.maxEventTime;
        for (const env of element.events) {
          if (env.time > latest) latest = env.time;
          state.operator.process(env);
        }
        this.maxEventTime = latest;
        break;
      }
      case 'watermark':
        state.operator.advance(element.time);
        break;
      case 'end':
        state.operator.advance(Number.POSITIVE_INFINITY);
        state.ended = true;
        break;
      case 'barrier':
        break;
    }
    this.advanceCombined();
    return this.take();
  }

  /** Marks partitions without input for the idle timeout as idle; returns results this released. */
  checkIdle(): Envelope<WindowResult>[] {
    const timeout = this.options.idleTimeout;
    if (timeout === undefined) return [];
    const now = this.options.now();
    let changed = false;
    for (const state of this.states.values()) {
      if (!state.ended && !state.idle && now - state.lastInput >= timeout) {
        state.idle = true;
        changed = true;
      }
    }
    if (changed) this.advanceCombined();
    return this.take();
  }

  /** True once every partition has ended. */
  get finished(): boolean {
    for (const state of this.states.values()) if (!state.ended) return false;
    return true;
  }

  private partitionFired(partition: string, pane: Pane, revision: number, supersedes: readonly Bounds[] | undefined): void {
    if (this.combiner !== undefined) this.combiner.partial(partition, pane, supersedes);
    else if (this.options.results === 'per-partition') this.emit(pane, revision, pane.acc, partition, supersedes);
    else {
      this.checkHome(partition, pane.keyString);
      this.emit(pane, revision, pane.acc, undefined, supersedes, partition);
    }
  }

  /** `keyed` results assume each key lives in one partition; counts keys that do not. */
  private checkHome(partition: string, keyString: string): void {
    const home = this.keyHomes.get(keyString);
    if (home === partition) return;
    if (home !== undefined) {
      this.states.get(partition)?.ctx.counters.inc('split_keys');
      return;
    }
    if (this.keyHomes.size >= SPLIT_KEY_MEMORY) this.keyHomes.clear();
    this.keyHomes.set(keyString, partition);
  }

  /** Moves the output watermark to the minimum of active partitions; idle ones follow it. */
  private advanceCombined(): void {
    let min = Number.POSITIVE_INFINITY;
    let open = 0;
    let active = 0;
    for (const state of this.states.values()) {
      if (state.ended) continue;
      open++;
      if (state.idle) continue;
      active++;
      if (state.operator.watermark < min) min = state.operator.watermark;
    }
    // all remaining partitions idle: time stands still, as in Flink
    if (open > 0 && active === 0) return;
    if (!(min > this.watermark)) return;
    this.watermark = min;
    for (const state of this.states.values()) {
      if (state.idle && !state.ended && state.operator.watermark < min) state.operator.advance(min);
    }
    this.combiner?.advance(min);
  }

  private emit(
    pane: Pane,
    revision: number,
    acc: unknown[],
    partition: string | undefined,
    supersedes: readonly Bounds[] | undefined,
    from: string | undefined = partition,
  ): void {
    const value = windowResult(this.options.pipeline, pane, revision, this.options.aggregate.result(acc), partition, supersedes);
    this.output.push({
      value,
      time: pane.end - 1,
      wm: this.watermark,
      key: pane.keyString,
      keyValue: pane.keyValue,
      partition: from ?? '*',
      position: { windowStart: pane.start, windowEnd: pane.end },
      raw: undefined,
    });
  }

  private take(): Envelope<WindowResult>[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  private partialEnvelope(partition: string, pane: Pane): Envelope {
    return {
      value: undefined,
      time: pane.end - 1,
      wm: this.watermark,
      key: pane.keyString,
      keyValue: pane.keyValue,
      partition,
      position: { windowStart: pane.start, windowEnd: pane.end },
      raw: JSON.stringify({ key: pane.keyValue, windowStart: pane.start, windowEnd: pane.end }),
    };
  }
}
