import { Heap } from 'heap-js';

/** Anything a timer can refer to: ordered by key string, then window start. */
export interface TimerTarget {
  readonly keyString: string;
  readonly start: number;
  alive: boolean;
}

interface Entry<P extends TimerTarget> {
  readonly pane: P;
  readonly fire: boolean;
  readonly cleanup: boolean;
}

function byKeyThenStart(a: Entry<TimerTarget>, b: Entry<TimerTarget>): number {
  if (a.pane.keyString !== b.pane.keyString) return a.pane.keyString < b.pane.keyString ? -1 : 1;
  return a.pane.start - b.pane.start;
}

/**
 * Event-time timers of a window operator: "fire" at a window's max timestamp and "cleanup" at max
 * timestamp + allowed lateness, as Flink registers them. Timers due together run in a fixed order
 * (timestamp, then key, then window start), so output order never depends on hash iteration.
 * Timers of retired panes are skipped rather than deleted.
 */
export class TimerQueue<P extends TimerTarget> {
  private readonly due = new Heap<number>((a, b) => a - b);
  private readonly entries = new Map<number, Entry<P>[]>();

  /** Registers the timers a new pane needs, given the current watermark. */
  register(pane: P, maxTimestamp: number, allowedLateness: number, watermark: number): void {
    if (maxTimestamp > watermark) this.add(maxTimestamp, { pane, fire: true, cleanup: allowedLateness === 0 });
    if (allowedLateness > 0) this.add(maxTimestamp + allowedLateness, { pane, fire: false, cleanup: true });
  }

  /** Runs every timer due at or before `watermark`, in order. */
  advance(watermark: number, onFire: (pane: P) => void, onCleanup: (pane: P) => void): void {
    for (let ts = this.due.peek(); ts !== undefined && ts <= watermark; ts = this.due.peek()) {
      this.due.pop();
      const list = this.entries.get(ts) as Entry<P>[];
      this.entries.delete(ts);
      if (list.length > 1) list.sort(byKeyThenStart);
      for (const entry of list) {
        if (!entry.pane.alive) continue;
        if (entry.fire) onFire(entry.pane);
        if (entry.cleanup) onCleanup(entry.pane);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private add(ts: number, entry: Entry<P>): void {
    const list = this.entries.get(ts);
    if (list) list.push(entry);
    else {
      this.entries.set(ts, [entry]);
      this.due.push(ts);
    }
  }
}
