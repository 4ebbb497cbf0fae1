import type { Sink } from '../core/connectors.js';

/**
 * Feeds one sink: records pushed while a write is in flight are coalesced into the next write
 * (up to `maxBatch`), writes never overlap, and `pending` counts what is not yet acknowledged
 * so the runtime can hold sources back.
 */
export class SinkQueue<T> {
  pending = 0;
  private buffer: T[] = [];
  private running: Promise<void> | undefined;
  private failure: unknown;
  private failed = false;

  constructor(
    readonly sink: Sink<T>,
    private readonly onProgress: () => void,
    private readonly maxBatch = 8192,
  ) {}

  /** Queues records; once a write has failed nothing more is taken (the run ends with `error`). */
  push(records: readonly T[]): void {
    if (this.failed || records.length === 0) return;
    for (const record of records) this.buffer.push(record);
    this.pending += records.length;
    this.running ??= this.pump();
  }

  /** Resolves when everything pushed so far is written; rejects with the sink's error. */
  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
    if (this.failed) throw this.failure;
  }

  get error(): unknown {
    return this.failed ? this.failure : undefined;
  }

  private async pump(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const chunk = this.buffer.length <= this.maxBatch ? this.buffer : this.buffer.slice(0, this.maxBatch);
        this.buffer = chunk === this.buffer ? [] : this.buffer.slice(this.maxBatch);
        await this.sink.write(chunk);
        this.pending -= chunk.length;
        this.onProgress();
      }
    } catch (err) {
      this.failed = true;
      this.failure = err;
      this.buffer = [];
      this.onProgress();
    } finally {
      this.running = undefined;
    }
  }
}
