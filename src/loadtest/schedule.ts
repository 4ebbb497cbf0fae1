/**
 * The load driver's open-loop send schedule.
 *
 * @module
 */

/** One step of a step-mode load test: a constant rate for a while. */
export interface Step {
  /** Records per second. */
  readonly rate: number;
  readonly durationMs: number;
}

/**
 * When every record of a stepped load is due: step `k` starts when step `k − 1` ends, and its
 * record `i` is due at `start + i · 1000 / rate` ms. It is a token bucket that earns tokens at the
 * step's rate and never forfeits them: a sender that fell behind (a slow broker, a GC pause)
 * sends everything due at once when it can, and each record keeps the moment it was due. Latency
 * measured from that moment is what a steady stream of users would have seen; measured from
 * when the late sender got round to it, the stall would vanish from the figures (coordinated
 * omission). The schedule is open loop: nothing the system under test does slows it down.
 *
 * Time is passed in, never read, so tests drive it exactly.
 *
 * @example
 * const s = new OpenLoopSchedule(0, [{ rate: 1000, durationMs: 3000 }]);
 * s.dueBy(10) // { step: 0, count: 11 }: records 0…10 of step 0 are due at 0, 1, … 10 ms
 */
export class OpenLoopSchedule {
  /** When each step starts, epoch ms; one more entry for the end of the last step. */
  readonly starts: readonly number[];
  /** Records of each step: rate × duration, rounded. */
  readonly counts: readonly number[];

  constructor(
    readonly startAt: number,
    readonly steps: readonly Step[],
  ) {
    const starts = [startAt];
    for (const step of steps) starts.push((starts[starts.length - 1] as number) + step.durationMs);
    this.starts = starts;
    this.counts = steps.map((s) => Math.round((s.rate * s.durationMs) / 1000));
  }

  /** When the whole load has been due. */
  get endAt(): number {
    return this.starts[this.steps.length] as number;
  }

  /** Records of the whole load. */
  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** The moment record `index` of step `step` is due, epoch ms. */
  dueAt(step: number, index: number): number {
    return (this.starts[step] as number) + (index * 1000) / (this.steps[step] as Step).rate;
  }

  /**
   * The step in progress at `now` and how many of its records are due by then (all of them once
   * it is over); `step` is the step count after the last step.
   */
  dueBy(now: number): { readonly step: number; readonly count: number } {
    for (let k = 0; k < this.steps.length; k++) {
      if (now < (this.starts[k + 1] as number)) {
        if (now < (this.starts[k] as number)) return { step: k, count: 0 };
        const count = Math.floor(((now - (this.starts[k] as number)) * (this.steps[k] as Step).rate) / 1000) + 1;
        return { step: k, count: Math.min(count, this.counts[k] as number) };
      }
    }
    return { step: this.steps.length, count: 0 };
  }

  /** The step whose time window holds `time` (−1 before the first, `steps.length` after the last). */
  stepAt(time: number): number {
    if (time < this.startAt) return -1;
    for (let k = 0; k < this.steps.length; k++) if (time < (this.starts[k + 1] as number)) return k;
    return this.steps.length;
  }
}
