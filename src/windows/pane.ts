import type { TimerTarget } from './timers.js';

/** Bounds of a window, `[start, end)` in epoch ms. */
export interface Bounds {
  readonly start: number;
  readonly end: number;
}

/** The state of one key's window: its accumulator and how often it fired. */
export interface Pane extends TimerTarget, Bounds {
  readonly keyString: string;
  readonly keyValue: unknown;
  readonly acc: unknown[];
  /** Firings so far; the next firing has revision `firings`. */
  firings: number;
  alive: boolean;
  /** Fired sessions this pane absorbed and not yet reported; emitted with its next firing. */
  supersedes: Bounds[] | undefined;
  /**
   * The source's record key of the event that opened the pane (a Kinesis partition key): where
   * the key's events come from, so a resharded stream can hand the pane to the child shard that
   * now receives them.
   */
  readonly route: string | undefined;
}

export function newPane(keyString: string, keyValue: unknown, start: number, end: number, acc: unknown[], route?: string): Pane {
  return { keyString, keyValue, start, end, acc, firings: 0, alive: true, supersedes: undefined, route };
}

/** Flink's intersection rule for session windows: overlapping or touching windows merge. */
export function intersects(a: Bounds, start: number, end: number): boolean {
  return a.start <= end && a.end >= start;
}

/**
 * Fired windows a merged session replaces: each one that already fired, plus what they in turn
 * had replaced and not yet reported.
 */
export function supersededBy(merged: readonly Pane[]): Bounds[] | undefined {
  let out: Bounds[] | undefined;
  for (const pane of merged) {
    if (pane.supersedes) (out ??= []).push(...pane.supersedes);
    if (pane.firings > 0) (out ??= []).push({ start: pane.start, end: pane.end });
  }
  return out;
}

/** A pane as plain data, for checkpoints. */
export interface PaneState {
  readonly key: string;
  readonly keyValue: unknown;
  readonly start: number;
  readonly end: number;
  readonly acc: unknown;
  readonly firings: number;
  readonly supersedes: readonly Bounds[] | null;
  /** {@link Pane.route}; absent when the source gives no record keys (and in older checkpoints). */
  readonly route?: string;
}

export function paneState(pane: Pane, saveAcc: (acc: unknown[]) => unknown): PaneState {
  return {
    key: pane.keyString,
    keyValue: pane.keyValue,
    start: pane.start,
    end: pane.end,
    acc: saveAcc(pane.acc),
    firings: pane.firings,
    supersedes: pane.supersedes === undefined ? null : pane.supersedes.map((b) => ({ start: b.start, end: b.end })),
    ...(pane.route === undefined ? {} : { route: pane.route }),
  };
}

export function paneFromState(state: PaneState, loadAcc: (saved: unknown) => unknown[]): Pane {
  const pane = newPane(state.key, state.keyValue, state.start, state.end, loadAcc(state.acc), state.route);
  pane.firings = state.firings;
  pane.supersedes = state.supersedes === null ? undefined : state.supersedes.map((b) => ({ start: b.start, end: b.end }));
  return pane;
}
