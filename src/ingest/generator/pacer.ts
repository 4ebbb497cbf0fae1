import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * A token bucket on a scheduler's clock: events are earned at a steady rate, and a batch is
 * released once the bucket holds all of its events. The bucket holds at most one batch, so a
 * reader that paused (backpressure) gets one batch at once on return, then the steady rate again:
 * never a burst to "catch up", which would distort the load a load test means to apply.
 *
 * Time is read from the injected scheduler only, so virtual-time tests drive it exactly.
 *
 * @example
 * const pacer = new Pacer({ scheduler: asyncScheduler, eventsPerSecond: 100, capacity: 50 });
 * if (await pacer.take(50)) emit(batch); // resolves after 0.5 s
 * @see GeneratorReader
 */
export class Pacer {
  private readonly scheduler: SchedulerLike;
  /** Milliseconds per event. */
  private readonly interval: number;
  private readonly capacity: number;
  /** The clock time up to which earned events have been spent. */
  private spent: number;
  private pending: { readonly action: Subscription; readonly resolve: (due: boolean) => void } | undefined;

  constructor(options: { readonly scheduler: SchedulerLike; readonly eventsPerSecond: number; readonly capacity: number }) {
    this.scheduler = options.scheduler;
    this.interval = 1000 / options.eventsPerSecond;
    this.capacity = options.capacity;
    // The bucket starts empty: the first batch waits its turn like every other.
    this.spent = this.scheduler.now();
  }

  /**
   * Resolves `true` once `n` events are due (at once if they already are), or `false` when
   * {@link Pacer.cancel} ends the wait. One take at a time.
   */
  take(n: number): Promise<boolean> {
    const now = this.scheduler.now();
    // Credit beyond the bucket's capacity is forfeited: that is what prevents bursts.
    const from = Math.max(this.spent, now - this.capacity * this.interval);
    const due = from + n * this.interval;
    if (due <= now) {
      this.spent = due;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      let fired = false;
      // Whole milliseconds, rounded up, so a batch is never early; `spent` keeps the exact
      // fraction so the rounding does not accumulate into drift.
      const action = this.scheduler.schedule(() => {
        fired = true;
        this.pending = undefined;
        this.spent = due;
        resolve(true);
      }, Math.ceil(due - now));
      // a scheduler that runs actions synchronously (queueScheduler) has already fired
      if (!fired) this.pending = { action, resolve };
    });
  }

  /** Ends a pending {@link Pacer.take} with `false`. */
  cancel(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.action.unsubscribe();
    pending?.resolve(false);
  }
}
