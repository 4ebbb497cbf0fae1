/**
 * Additive-increase, multiplicative-decrease concurrency for calls to one endpoint, as TCP does
 * for its window: every call that succeeds raises the limit by 1/limit (about one more call in
 * flight per round of calls), and a throttled or too-slow call halves it, down to `min`. Calls
 * that started before the last decrease do not decrease it again, so one burst of throttling
 * (every call in flight refused at once) halves the limit once, not once per call.
 *
 * @module
 */

/** How a call went, as far as the endpoint's capacity is concerned. */
export type CallOutcome = 'ok' | 'throttled' | 'slow' | 'failed';

/** The right to have one call in flight; give it back with {@link AimdLimiter.release}. */
export interface Permit {
  /** The number of decreases when the call started. */
  readonly epoch: number;
  released: boolean;
}

/** Limits of an {@link AimdLimiter}. */
export interface AimdOptions {
  readonly min: number;
  readonly max: number;
  /** Where the limit starts (default `max`: an endpoint is assumed healthy until it says not). */
  readonly initial?: number;
  /** Factor applied on a decrease (default 0.5). */
  readonly backoff?: number;
}

/**
 * A concurrency limit that adapts to the endpoint; waiting callers are served first come, first
 * served.
 *
 * @example
 * const limiter = new AimdLimiter({ min: 1, max: 8 });
 * const permit = await limiter.acquire();
 * try { await call(); limiter.release(permit, 'ok'); } catch { limiter.release(permit, 'throttled'); }
 */
export class AimdLimiter {
  private current: number;
  private running = 0;
  private epoch = 0;
  private readonly queue: ((permit: Permit) => void)[] = [];
  private readonly min: number;
  private readonly max: number;
  private readonly backoff: number;
  /** The lowest limit so far, and how many times it was decreased. */
  lowest: number;
  decreases = 0;

  constructor(options: AimdOptions) {
    this.min = options.min;
    this.max = options.max;
    this.backoff = options.backoff ?? 0.5;
    this.current = Math.min(this.max, Math.max(this.min, options.initial ?? this.max));
    this.lowest = this.limit;
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return Math.floor(this.current);
  }

  get inFlight(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves when the call may start. */
  acquire(): Promise<Permit> {
    if (this.queue.length === 0 && this.running < this.limit) return Promise.resolve(this.grant());
    return new Promise((resolve) => this.queue.push(resolve));
  }

  /** Ends a call and adapts the limit to how it went; a permit counts once. */
  release(permit: Permit, outcome: CallOutcome): void {
    if (permit.released) return;
    permit.released = true;
    this.running--;
    if (outcome === 'ok') this.current = Math.min(this.max, this.current + 1 / this.current);
    else if ((outcome === 'throttled' || outcome === 'slow') && permit.epoch === this.epoch) {
      this.current = Math.max(this.min, this.current * this.backoff);
      this.epoch++;
      this.decreases++;
      this.lowest = Math.min(this.lowest, this.limit);
    }
    while (this.queue.length > 0 && this.running < this.limit) (this.queue.shift() as (permit: Permit) => void)(this.grant());
  }

  private grant(): Permit {
    this.running++;
    return { epoch: this.epoch, released: false };
  }
}
