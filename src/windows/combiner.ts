import type { CompositeAggregate } from './aggregates/composite.js';
import { intersects, newPane, paneFromState, paneState, supersededBy, type Bounds, type Pane, type PaneState } from './pane.js';
import { TimerQueue } from './timers.js';

/** A window combined across partitions: the partitions' fired panes for one key and window. */
export interface CombinedPane extends Pane {
  /** Partition panes by `partition@start`; their accumulators are read, never written. */
  readonly parts: Map<string, Pane>;
}

/** Checkpointed state of a {@link Combiner}: combined panes with copies of their parts. */
export interface CombinerState {
  readonly watermark: number;
  readonly panes: readonly (PaneState & { readonly waiting: boolean; readonly parts: readonly (readonly [string, PaneState])[] })[];
}

export interface CombinerListener {
  fire(pane: CombinedPane, revision: number, acc: unknown[], supersedes: readonly Bounds[] | undefined): void;
  /** A partial arrived for a window already past its allowed lateness. */
  latePartial(partition: string, pane: Pane): void;
}

export interface CombinerOptions {
  readonly merging: boolean;
  readonly aggregate: CompositeAggregate;
  readonly allowedLateness: number;
  readonly listener: CombinerListener;
  /** Whether some partition still holds an unfired session of this key that intersects the window. */
  readonly openElsewhere: (keyString: string, start: number, end: number) => boolean;
}

/**
 * Combines per-partition window results ("partials") into one result per key and window, once the
 * minimum watermark across the partitions passes the window — the in-process equivalent of
 * Flink's keyed window after a shuffle, while state stays per partition.
 *
 * It uses the same timer rules as the window operator: fire at max timestamp, re-fire on each
 * partial that arrives within allowed lateness, clean up after. Sessions from different
 * partitions merge when they intersect, and a due session waits while any partition still holds
 * an open session that could extend it.
 */
export class Combiner {
  watermark = Number.NEGATIVE_INFINITY;

  private readonly options: CombinerOptions;
  private readonly timers = new TimerQueue<CombinedPane>();
  private readonly fixed = new Map<string, CombinedPane>();
  private readonly sessions = new Map<string, CombinedPane[]>();
  private readonly waiting = new Set<CombinedPane>();

  private readonly onFire = (pane: CombinedPane): void => this.tryFire(pane);
  // A session still waiting for another partition has not fired: its state must outlive its
  // cleanup time until it does (retryWaiting retires it then).
  private readonly onCleanup = (pane: CombinedPane): void => {
    if (!this.waiting.has(pane)) this.retire(pane);
  };

  constructor(options: CombinerOptions) {
    this.options = options;
  }

  /** Takes a fired partition pane; `supersedes` lists that partition's sessions it replaced. */
  partial(partition: string, pane: Pane, supersedes: readonly Bounds[] | undefined): void {
    const target = this.options.merging ? this.sessionFor(partition, pane, supersedes) : this.fixedFor(pane);
    if (target === undefined) {
      this.options.listener.latePartial(partition, pane);
      return;
    }
    target.parts.set(`${partition}@${pane.start}`, pane);
    if (target.end - 1 <= this.watermark) this.tryFire(target);
    this.retryWaiting();
  }

  /** Advances the combined watermark (the minimum over partitions). */
  advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    this.timers.advance(watermark, this.onFire, this.onCleanup);
    this.retryWaiting();
  }

  /** Re-checks sessions that waited for another partition; call after partitions advance. */
  retryWaiting(): void {
    if (this.waiting.size === 0) return;
    for (const pane of [...this.waiting]) {
      if (!pane.alive) this.waiting.delete(pane);
      else if (!this.options.openElsewhere(pane.keyString, pane.start, pane.end)) {
        this.waiting.delete(pane);
        this.fire(pane);
        if (this.isLate(pane.end)) this.retire(pane);
      }
    }
  }

  /**
   * The combiner as plain data. Parts are saved as copies: after a restore, a partition pane
   * that changes again re-fires, and its partial replaces the copy.
   */
  snapshot(): CombinerState {
    const save = (acc: unknown[]): unknown => this.options.aggregate.save(acc);
    const panes: CombinerState['panes'][number][] = [];
    const all = this.options.merging ? [...this.sessions.values()].flat() : [...this.fixed.values()];
    for (const pane of all) {
      const parts = [...pane.parts].map(([id, part]) => [id, paneState(part, save)] as const);
      panes.push({ ...paneState({ ...pane, acc: [] }, () => null), waiting: this.waiting.has(pane), parts });
    }
    return { watermark: this.watermark, panes };
  }

  /** Loads a snapshot into a fresh combiner. */
  restore(state: CombinerState): void {
    this.watermark = state.watermark;
    const load = (saved: unknown): unknown[] => this.options.aggregate.load(saved as unknown[]);
    for (const saved of state.panes) {
      const base = paneFromState({ ...saved, acc: null }, () => []);
      const pane: CombinedPane = { ...base, parts: new Map(saved.parts.map(([id, part]) => [id, paneFromState(part, load)])) };
      if (this.options.merging) {
        const list = this.sessions.get(pane.keyString) ?? [];
        list.push(pane);
        list.sort((a, b) => a.start - b.start);
        this.sessions.set(pane.keyString, list);
      } else {
        this.fixed.set(`${pane.start}\u0000${pane.keyString}`, pane);
      }
      if (saved.waiting) this.waiting.add(pane);
      this.timers.register(pane, pane.end - 1, this.options.allowedLateness, this.watermark);
    }
  }

  private fixedFor(pane: Pane): CombinedPane | undefined {
    const id = `${pane.start}\u0000${pane.keyString}`;
    let target = this.fixed.get(id);
    if (target === undefined) {
      if (this.isLate(pane.end)) return undefined;
      target = this.create(pane.keyString, pane.keyValue, pane.start, pane.end);
      this.fixed.set(id, target);
    }
    return target;
  }

  private sessionFor(partition: string, pane: Pane, supersedes: readonly Bounds[] | undefined): CombinedPane | undefined {
    const list = this.sessions.get(pane.keyString);
    if (list !== undefined) {
      // the partition's own earlier results for this session are replaced by the new one
      for (const old of supersedes ?? []) for (const c of list) c.parts.delete(`${partition}@${old.start}`);
      for (const c of list) c.parts.delete(`${partition}@${pane.start}`);
    }
    const overlapping = list?.filter((c) => intersects(c, pane.start, pane.end)) ?? [];
    if (overlapping.length === 1) {
      const only = overlapping[0] as CombinedPane;
      if (only.start <= pane.start && only.end >= pane.end) return only;
    }
    let start = pane.start;
    let end = pane.end;
    for (const c of overlapping) {
      start = Math.min(start, c.start);
      end = Math.max(end, c.end);
    }
    if (overlapping.length === 0 && this.isLate(end)) return undefined;
    const target = this.create(pane.keyString, pane.keyValue, start, end);
    for (const c of overlapping) {
      for (const [id, part] of c.parts) target.parts.set(id, part);
      c.alive = false;
      this.waiting.delete(c);
    }
    target.supersedes = supersededBy(overlapping);
    const kept = (list ?? []).filter((c) => c.alive);
    kept.push(target);
    kept.sort((a, b) => a.start - b.start);
    this.sessions.set(pane.keyString, kept);
    return target;
  }

  private create(keyString: string, keyValue: unknown, start: number, end: number): CombinedPane {
    const pane: CombinedPane = { ...newPane(keyString, keyValue, start, end, []), parts: new Map() };
    this.timers.register(pane, end - 1, this.options.allowedLateness, this.watermark);
    return pane;
  }

  private isLate(end: number): boolean {
    return end - 1 + this.options.allowedLateness <= this.watermark;
  }

  private tryFire(pane: CombinedPane): void {
    if (this.options.merging && this.options.openElsewhere(pane.keyString, pane.start, pane.end)) {
      this.waiting.add(pane);
      return;
    }
    this.fire(pane);
  }

  private fire(pane: CombinedPane): void {
    const revision = pane.firings++;
    const supersedes = pane.supersedes;
    pane.supersedes = undefined;
    this.options.listener.fire(pane, revision, this.combinedAcc(pane), supersedes);
  }

  /** Merges the parts in a fixed order (by partition) so results never depend on arrival order. */
  private combinedAcc(pane: CombinedPane): unknown[] {
    if (pane.parts.size === 1) return (pane.parts.values().next().value as Pane).acc;
    const aggregate = this.options.aggregate;
    const acc = aggregate.create();
    const ids = [...pane.parts.keys()].sort();
    for (const id of ids) aggregate.merge(acc, (pane.parts.get(id) as Pane).acc);
    return acc;
  }

  private retire(pane: CombinedPane): void {
    pane.alive = false;
    this.waiting.delete(pane);
    if (!this.options.merging) {
      this.fixed.delete(`${pane.start}\u0000${pane.keyString}`);
      return;
    }
    const list = this.sessions.get(pane.keyString);
    if (list === undefined) return;
    const kept = list.filter((c) => c !== pane);
    if (kept.length === 0) this.sessions.delete(pane.keyString);
    else this.sessions.set(pane.keyString, kept);
  }
}
