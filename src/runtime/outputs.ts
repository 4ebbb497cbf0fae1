import type { Sink, SinkRejection } from '../core/connectors.js';
import type { DeadLetter } from '../core/context.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { SinkQueue } from './sink-queue.js';

export interface OutputsOptions {
  /** The pipeline's name, for dead-letter entries of records a sink refused. */
  readonly pipeline: string;
  readonly sinks: readonly Sink[];
  readonly deadLetter: Sink<DeadLetter>;
  readonly late: Sink<DeadLetter> | undefined;
  /** Called whenever room may have been freed (a write finished). */
  readonly notify: () => void;
  /** The run's clock (epoch ms), for the time dead-letter and late entries are written. */
  readonly now: () => number;
}

/**
 * Everything a run writes to: result sinks, the dead-letter sink and the late sink, each behind
 * its own queue. Knows how much is unacknowledged (for backpressure), and can wait until
 * everything written so far is acknowledged (for checkpoints).
 */
export class Outputs {
  private readonly results: SinkQueue<unknown>[];
  private readonly deadLetters: SinkQueue<DeadLetter>;
  private readonly lates: SinkQueue<DeadLetter> | undefined;
  private readonly all: SinkQueue<unknown>[];
  private closedListener: (() => void) | undefined;
  private failureListener: ((err: unknown) => void) | undefined;
  private failed = false;
  /** Dead letters from after a checkpoint's barrier, held while the writes before it finish. */
  private holding: DeadLetter[] | undefined;

  constructor(private readonly options: OutputsOptions) {
    const progress = (): void => {
      for (const queue of this.all) {
        if (queue.error !== undefined && !this.failed) {
          this.failed = true;
          this.failureListener?.(queue.error);
        } else if ((queue.sink as { closedEarly?: boolean }).closedEarly === true) this.closedListener?.();
      }
      options.notify();
    };
    this.results = options.sinks.map(
      (sink) => new SinkQueue<unknown>(sink, progress, (rejected) => this.refused(options.pipeline, sink.description, rejected)),
    );
    // nowhere left to send what these refuse: the run fails, naming the first reason
    const unrecoverable = (sink: Sink<DeadLetter>) => (rejected: readonly SinkRejection<DeadLetter>[]) => {
      throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `${sink.description} refused ${rejected.length} entries: ${rejected[0]?.reason ?? ''}`);
    };
    this.deadLetters = new SinkQueue<DeadLetter>(options.deadLetter, progress, unrecoverable(options.deadLetter));
    this.lates = options.late === undefined ? undefined : new SinkQueue<DeadLetter>(options.late, progress, unrecoverable(options.late));
    this.all = [...this.results, this.deadLetters as SinkQueue<unknown>, ...(this.lates ? [this.lates as SinkQueue<unknown>] : [])];
  }

  /** Records written but not yet acknowledged, across every sink. */
  get pending(): number {
    let n = this.holding?.length ?? 0;
    for (const queue of this.all) n += queue.pending;
    return n;
  }

  write(values: readonly unknown[]): void {
    for (const queue of this.results) queue.push(values);
  }

  deadLetter(entry: DeadLetter): void {
    if (this.holding !== undefined) this.holding.push(this.stamped(entry));
    else this.deadLetters.push([this.stamped(entry)]);
  }

  late(entry: DeadLetter): void {
    this.lates?.push([this.stamped(entry)]);
  }

  private stamped(entry: DeadLetter): DeadLetter {
    return { ...entry, at: new Date(this.options.now()).toISOString() };
  }

  /**
   * Waits until everything written so far is acknowledged; each sink's position, by sink. Called
   * as a checkpoint's barrier reaches the outputs. What result sinks refuse while they finish the
   * writes before the barrier goes to the dead-letter output ahead of entries from after the
   * barrier (those wait meanwhile), so the dead-letter position the checkpoint keeps covers
   * exactly the records before it.
   */
  async acknowledge(): Promise<Record<string, unknown>> {
    const rest = this.lates ? [this.lates as SinkQueue<unknown>] : [];
    const marks = rest.map((queue) => queue.mark());
    this.holding ??= [];
    let positions: unknown[];
    try {
      const results = await Promise.all(this.results.map((queue) => queue.mark()));
      const deadLetters = this.deadLetters.mark();
      positions = [...results, await deadLetters, ...(await Promise.all(marks))];
    } finally {
      const held = this.holding;
      this.holding = undefined;
      if (held.length > 0) this.deadLetters.push(held);
    }
    const out: Record<string, unknown> = {};
    [...this.results, this.deadLetters as SinkQueue<unknown>, ...rest].forEach((queue, i) => {
      if (positions[i] !== undefined) out[queue.sink.description] = positions[i];
    });
    return out;
  }

  /** Rewinds sinks that can to the positions of a checkpoint (`undefined`: a fresh start). */
  async restore(positions: Record<string, unknown> | undefined): Promise<void> {
    for (const queue of this.all) await queue.sink.restore?.(positions?.[queue.sink.description]);
  }

  /** Records a result sink refused for good become dead-letter entries with the reason. */
  private refused(pipeline: string, sink: string, rejected: readonly SinkRejection[]): void {
    for (const { record, code, reason } of rejected) {
      const result = (typeof record === 'object' && record !== null ? record : {}) as { id?: unknown; partition?: unknown; windowEnd?: unknown };
      const entry: DeadLetter = {
        pipeline,
        stage: `sink ${sink}`,
        code,
        reason,
        partition: typeof result.partition === 'string' ? result.partition : '*',
        position: typeof result.id === 'string' ? { id: result.id } : {},
        raw: JSON.stringify(record),
        ...(typeof result.windowEnd === 'number' ? { time: result.windowEnd - 1 } : {}),
      };
      this.deadLetters.push([this.stamped(entry)]);
    }
  }

  onClosed(listener: () => void): void {
    this.closedListener = listener;
  }

  onFailure(listener: (err: unknown) => void): void {
    this.failureListener = listener;
  }

  /** Waits for every queued write; a failed sink's error is reported through `onFailure`. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.all.map((queue) => queue.drain()));
  }
}
