import type { Envelope } from '../core/envelope.js';
import type { CompositeAggregate } from './aggregates/composite.js';
import { windowStart, type WindowAssigner } from './assigners.js';
import { intersects, newPane, paneFromState, paneState, supersededBy, type Bounds, type Pane, type PaneState } from './pane.js';
import { TimerQueue } from './timers.js';

/** What a window operator reports; all calls happen synchronously, in output order. */
export interface WindowListener {
  /** A window fired; `revision` 0 is its first firing, each late re-firing adds one. */
  fire(pane: Pane, revision: number, supersedes: readonly Bounds[] | undefined): void;
  /** Every window of the event was already past its allowed lateness. */
  late(env: Envelope, reason: string): void;
  /** An aggregate refused the event's value (a string where a number belongs). */
  reject(env: Envelope, reason: string): void;
  /** The watermark moved forward (after the windows it made due have fired). */
  advanced(previous: number): void;
}

export interface WindowOperatorOptions {
  readonly assigner: WindowAssigner;
  readonly aggregate: CompositeAggregate;
  readonly allowedLateness: number;
  readonly listener: WindowListener;
}

const NO_KEY = '';

/** Checkpointed state of a {@link WindowOperator}. */
export interface WindowOperatorState {
  readonly watermark: number;
  readonly panes: readonly PaneState[];
}

/**
 * Event-time windows for one partition, with Apache Flink's `WindowOperator` semantics and
 * `EventTimeTrigger`:
 * - a window fires when the watermark reaches its max timestamp (end − 1);
 * - an event is dropped for a window whose max timestamp + allowed lateness ≤ watermark, and is
 *   late when that holds for all its windows;
 * - an event within allowed lateness re-fires its (already fired) window at once, with the
 *   accumulated result and the next revision;
 * - session windows merge when they overlap or touch (`MergingWindowSet`), and a merged window
 *   that is already due fires at once.
 *
 * The watermark used for each event is the one stamped on it (in effect just before it), so the
 * output is the same for every batching of the same event sequence.
 */
export class WindowOperator {
  /** Current watermark (Flink's `currentWatermark`). */
  watermark = Number.NEGATIVE_INFINITY;

  private readonly assigner: WindowAssigner;
  private readonly aggregate: CompositeAggregate;
  private readonly lateness: number;
  private readonly listener: WindowListener;
  private readonly timers = new TimerQueue<Pane>();
  /** Fixed windows: start → key → pane. */
  private readonly fixed = new Map<number, Map<string, Pane>>();
  /** Session windows: key → panes sorted by start, never overlapping. */
  private readonly sessions = new Map<string, Pane[]>();
  private cachedStart = Number.NaN;
  private cachedPanes: Map<string, Pane> | undefined;

  private readonly onFire = (pane: Pane): void => this.fire(pane);
  private readonly onCleanup = (pane: Pane): void => this.retire(pane);

  constructor(options: WindowOperatorOptions) {
    this.assigner = options.assigner;
    this.aggregate = options.aggregate;
    this.lateness = options.allowedLateness;
    this.listener = options.listener;
  }

  /** Processes one event, first advancing to the watermark stamped on it. */
  process(env: Envelope): void {
    if (env.wm > this.watermark) this.advance(env.wm);
    const problem = this.aggregate.check(env.value);
    if (problem !== undefined) {
      this.listener.reject(env, problem);
      return;
    }
    const assigner = this.assigner;
    if (assigner.kind === 'session') {
      this.addToSession(env, assigner.gap);
      return;
    }
    let added: boolean;
    if (assigner.kind === 'tumbling') {
      const start = windowStart(env.time, assigner.size, assigner.offset);
      added = this.addToFixed(env, start, start + assigner.size);
    } else {
      added = false;
      const last = windowStart(env.time, assigner.slide, assigner.offset);
      for (let start = last; start > env.time - assigner.size; start -= assigner.slide) {
        if (this.addToFixed(env, start, start + assigner.size)) added = true;
      }
    }
    if (!added) this.listener.late(env, this.lateReason(env));
  }

  /** Advances event time, firing and cleaning up every window that became due. */
  advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.timers.advance(watermark, this.onFire, this.onCleanup);
    const previous = this.watermark;
    this.watermark = watermark;
    this.listener.advanced(previous);
  }

  /** True when a session of `keyString` that has not fired yet intersects `[start, end]`. */
  hasOpenSession(keyString: string, start: number, end: number): boolean {
    const list = this.sessions.get(keyString);
    return list !== undefined && list.some((pane) => pane.firings === 0 && intersects(pane, start, end));
  }

  /** The operator's state as plain data: watermark and live panes (timers follow from them). */
  snapshot(): WindowOperatorState {
    const save = (acc: unknown[]): unknown => this.aggregate.save(acc);
    const panes: PaneState[] = [];
    for (const byKey of this.fixed.values()) for (const pane of byKey.values()) panes.push(paneState(pane, save));
    for (const list of this.sessions.values()) for (const pane of list) panes.push(paneState(pane, save));
    return { watermark: this.watermark, panes };
  }

  /** Loads a snapshot into a fresh operator, re-registering the timers its panes still need. */
  restore(state: WindowOperatorState): void {
    this.watermark = state.watermark;
    const load = (saved: unknown): unknown[] => this.aggregate.load(saved as unknown[]);
    for (const saved of state.panes) {
      const pane = paneFromState(saved, load);
      if (this.assigner.kind === 'session') {
        const list = this.sessions.get(pane.keyString) ?? [];
        list.push(pane);
        list.sort((a, b) => a.start - b.start);
        this.sessions.set(pane.keyString, list);
      } else {
        let byKey = this.fixed.get(pane.start);
        if (byKey === undefined) this.fixed.set(pane.start, (byKey = new Map()));
        byKey.set(pane.keyString, pane);
      }
      this.timers.register(pane, pane.end - 1, this.lateness, this.watermark);
    }
  }

  /** Number of live panes (state size). */
  get paneCount(): number {
    let n = 0;
    for (const panes of this.fixed.values()) n += panes.size;
    for (const list of this.sessions.values()) n += list.length;
    return n;
  }

  private addToFixed(env: Envelope, start: number, end: number): boolean {
    const maxTimestamp = end - 1;
    if (maxTimestamp + this.lateness <= this.watermark) return false;
    let panes = start === this.cachedStart ? this.cachedPanes : this.fixed.get(start);
    if (panes === undefined) {
      panes = new Map();
      this.fixed.set(start, panes);
    }
    this.cachedStart = start;
    this.cachedPanes = panes;
    const key = env.key ?? NO_KEY;
    let pane = panes.get(key);
    if (pane === undefined) {
      pane = newPane(key, env.keyValue ?? null, start, end, this.aggregate.create(), env.meta?.route);
      panes.set(key, pane);
      this.timers.register(pane, maxTimestamp, this.lateness, this.watermark);
    }
    this.aggregate.add(pane.acc, env.value);
    if (maxTimestamp <= this.watermark) this.fire(pane);
    return true;
  }

  private addToSession(env: Envelope, gap: number): void {
    const key = env.key ?? NO_KEY;
    const start = env.time;
    const end = start + gap;
    let list = this.sessions.get(key);
    let first = -1;
    let count = 0;
    let mergedStart = start;
    let mergedEnd = end;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const pane = list[i] as Pane;
        if (pane.start > end) break;
        if (!intersects(pane, start, end)) continue;
        if (first < 0) first = i;
        count++;
        if (pane.start < mergedStart) mergedStart = pane.start;
        if (pane.end > mergedEnd) mergedEnd = pane.end;
      }
    }
    if (mergedEnd - 1 + this.lateness <= this.watermark) {
      this.listener.late(env, this.lateReason(env));
      return;
    }
    let target: Pane;
    const only = count === 1 ? (list as Pane[])[first] : undefined;
    if (only !== undefined && only.start <= start && only.end >= end) {
      target = only;
    } else {
      target = newPane(key, env.keyValue ?? null, mergedStart, mergedEnd, this.aggregate.create(), env.meta?.route);
      if (list === undefined) {
        list = [];
        this.sessions.set(key, list);
      }
      if (count > 0) {
        const merged = list.splice(first, count, target);
        for (const pane of merged) {
          this.aggregate.merge(target.acc, pane.acc);
          pane.alive = false;
        }
        target.supersedes = supersededBy(merged);
      } else {
        let at = 0;
        while (at < list.length && (list[at] as Pane).start < start) at++;
        list.splice(at, 0, target);
      }
      this.timers.register(target, mergedEnd - 1, this.lateness, this.watermark);
    }
    this.aggregate.add(target.acc, env.value);
    if (target.end - 1 <= this.watermark) this.fire(target);
  }

  private fire(pane: Pane): void {
    const revision = pane.firings++;
    const supersedes = pane.supersedes;
    pane.supersedes = undefined;
    this.listener.fire(pane, revision, supersedes);
  }

  private retire(pane: Pane): void {
    pane.alive = false;
    if (this.assigner.kind === 'session') {
      const list = this.sessions.get(pane.keyString);
      if (list === undefined) return;
      const at = list.indexOf(pane);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.sessions.delete(pane.keyString);
      return;
    }
    const panes = this.fixed.get(pane.start);
    if (panes === undefined) return;
    panes.delete(pane.keyString);
    if (panes.size === 0) {
      this.fixed.delete(pane.start);
      if (this.cachedStart === pane.start) {
        this.cachedStart = Number.NaN;
        this.cachedPanes = undefined;
      }
    }
  }

  private lateReason(env: Envelope): string {
    return `every window of event time ${env.time} has closed: watermark ${this.watermark} ≥ window end − 1 + allowed lateness (${this.lateness} ms)`;
  }
}
