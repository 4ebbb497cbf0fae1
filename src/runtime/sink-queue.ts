import type { Sink, SinkRejection } from '../core/connectors.js';

/** One write a run made to a sink, as {@link observeSinkWrites} reports it. */
export interface SinkWrite {
  /** Records in the write. */
  readonly records: number;
  /** Of those, records the sink refused for good (they go to the dead-letter output). */
  readonly rejected: number;
  /** How long the sink took to acknowledge them (retries included), in milliseconds. */
  readonly ms: number;
  /** False when the write failed, which fails the run. */
  readonly ok: boolean;
}

type WriteObserver = (write: SinkWrite) => void;

/** Observers by sink: the queue is made inside the runtime, the metrics live outside it. */
const observers = new WeakMap<object, Set<WriteObserver>>();

/**
 * Calls `observer` after every write a run's queue makes to `sink` — the one place every sink's
 * latency can be measured the same way. Returns the function that stops observing.
 *
 * @example const stop = observeSinkWrites(sink, ({ ms }) => histogram.observe(ms / 1000));
 * @see SinkQueue
 */
export function observeSinkWrites(sink: Sink<never> | Sink<unknown>, observer: WriteObserver): () => void {
  const set = observers.get(sink) ?? new Set<WriteObserver>();
  observers.set(sink, set);
  set.add(observer);
  return () => set.delete(observer);
}

/**
 * Feeds one sink: records pushed while a write is in flight are coalesced into the next write
 * (up to `maxBatch`), writes never overlap, and `pending` counts what is not yet acknowledged
 * so the runtime can hold sources back.
 */
export class SinkQueue<T> {
  pending = 0;
  /** Records pushed and records acknowledged, since the start of the run. */
  private pushed = 0;
  private written = 0;
  /** Checkpoint marks waiting for the records pushed before them to be written. */
  private marks: { readonly at: number; readonly resolve: (position: unknown) => void; readonly reject: (err: unknown) => void }[] = [];
  private buffer: T[] = [];
  private running: Promise<void> | undefined;
  private failure: unknown;
  private failed = false;

  constructor(
    readonly sink: Sink<T>,
    private readonly onProgress: () => void,
    /** Records the sink refused for good; called before the write counts as acknowledged. */
    private readonly onRejected: (rejected: readonly SinkRejection<T>[]) => void,
    private readonly maxBatch = 8192,
  ) {}

  /** Queues records; once a write has failed nothing more is taken (the run ends with `error`). */
  push(records: readonly T[]): void {
    if (this.failed || records.length === 0) return;
    for (const record of records) this.buffer.push(record);
    this.pending += records.length;
    this.pushed += records.length;
    this.running ??= this.pump();
  }

  /**
   * Resolves once every record pushed so far is written, with the sink's position right after
   * them (not after later records: writes are split at marks), for the checkpoint to keep.
   */
  mark(): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failure);
    if (this.written === this.pushed) return Promise.resolve(this.sink.position?.());
    return new Promise((resolve, reject) => this.marks.push({ at: this.pushed, resolve, reject }));
  }

  /** Resolves when everything pushed so far is written; rejects with the sink's error. */
  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
    if (this.failed) throw this.failure;
  }

  get error(): unknown {
    return this.failed ? this.failure : undefined;
  }

  /**
   * One write, timed for its observers. Wall-clock (not the run's scheduler): this measures the
   * service, and nothing a result depends on reads it.
   */
  private async timed(chunk: T[]): ReturnType<Sink<T>['write']> {
    const watching = observers.get(this.sink);
    if (watching === undefined || watching.size === 0) return this.sink.write(chunk);
    const records = chunk.length;
    const started = performance.now();
    let ok = false;
    let rejected = 0;
    try {
      const result = await this.sink.write(chunk);
      ok = true;
      rejected = result?.rejected.length ?? 0;
      return result;
    } finally {
      const write: SinkWrite = { records, rejected, ms: performance.now() - started, ok };
      for (const observer of watching) observer(write);
    }
  }

  private async pump(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const mark = this.marks[0];
        const size = Math.min(this.maxBatch, mark === undefined ? Number.POSITIVE_INFINITY : mark.at - this.written);
        const chunk = this.buffer.length <= size ? this.buffer : this.buffer.slice(0, size);
        this.buffer = chunk === this.buffer ? [] : this.buffer.slice(size);
        const result = await this.timed(chunk);
        if (result !== undefined && result.rejected.length > 0) this.onRejected(result.rejected);
        this.pending -= chunk.length;
        this.written += chunk.length;
        while (this.marks[0] !== undefined && this.marks[0].at <= this.written) this.marks.shift()?.resolve(this.sink.position?.());
        this.onProgress();
      }
    } catch (err) {
      this.failed = true;
      this.failure = err;
      this.buffer = [];
      for (const mark of this.marks.splice(0)) mark.reject(err);
      this.onProgress();
    } finally {
      this.running = undefined;
    }
  }
}
