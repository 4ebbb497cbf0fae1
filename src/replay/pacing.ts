/**
 * When each captured record is due during a replay. Time is read from an injected scheduler only,
 * so unit tests drive replays in virtual time.
 *
 * @module
 */
import type { SchedulerLike } from 'rxjs';

/**
 * How fast to replay: as fast as possible, the captured timing sped up by `factor` (1 = the
 * original pace, 10 = ten times faster), or evenly spaced at `perSecond` records per second.
 */
export type Pace =
  | { readonly kind: 'max' }
  | { readonly kind: 'speed'; readonly factor: number }
  | { readonly kind: 'rate'; readonly perSecond: number };

/**
 * Due times of a replay's records on the scheduler's clock.
 *
 * `speed`: a record is due `(timestamp − first timestamp of the pass) / factor` after the pass
 * started. Due times count from the start, not from the previous send, so time spent sending does
 * not accumulate into drift: a replay that falls behind sends what is due at once. Records without
 * a timestamp, and records whose timestamp goes back (another partition, CreateTime set by a
 * producer), are due at once — records are never reordered to honour a timestamp.
 *
 * `rate`: record n (counted over all passes) is due n / perSecond after the first pass started.
 *
 * @example
 * const due = new DueTimes({ kind: 'speed', factor: 2 });
 * due.startPass(0); due.next(1000); due.next(3000) // 0, then 1000
 * @see replayCapture
 */
export class DueTimes {
  private passStart = 0;
  /** The first timestamp of the pass: the origin its records' timing is measured from. */
  private anchor: number | undefined;
  private rateOrigin: number | undefined;
  private sent = 0;

  constructor(private readonly pace: Pace) {
    if (pace.kind === 'speed' && !(pace.factor > 0 && Number.isFinite(pace.factor))) throw new RangeError(`speed must be > 0, got ${pace.factor}`);
    if (pace.kind === 'rate' && !(pace.perSecond > 0 && Number.isFinite(pace.perSecond))) throw new RangeError(`rate must be > 0, got ${pace.perSecond}`);
  }

  /** Starts a pass over the capture (the first, or the next with `--loop`) at clock time `now`. */
  startPass(now: number): void {
    this.passStart = now;
    // a new pass has no timing relation to the end of the previous one
    this.anchor = undefined;
    this.rateOrigin ??= now;
  }

  /** The clock time the next record, captured at `timestamp`, is due. */
  next(timestamp: number | null): number {
    switch (this.pace.kind) {
      case 'max':
        return Number.NEGATIVE_INFINITY;
      case 'rate':
        return (this.rateOrigin ?? this.passStart) + (this.sent++ * 1000) / this.pace.perSecond;
      case 'speed':
        if (timestamp === null) return Number.NEGATIVE_INFINITY;
        this.anchor ??= timestamp;
        return this.passStart + (timestamp - this.anchor) / this.pace.factor;
    }
  }
}

/**
 * Resolves after `ms` on the scheduler's clock, or at once when `signal` aborts.
 *
 * @example await sleep(asyncScheduler, 250, stop.signal)
 */
export function sleep(scheduler: SchedulerLike, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = (): void => {
      action.unsubscribe();
      resolve();
    };
    const action = scheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
