import { Observable, type Subscriber } from 'rxjs';
import type { PartitionReader } from '../core/connectors.js';
import { batch, END, type Element } from '../core/elements.js';
import type { Envelope, Position, Raw } from '../core/envelope.js';
import type { Gate } from './gate.js';

export interface InputOptions {
  /** True while the partition may read another batch (in-flight and sink bounds). */
  readonly room: () => boolean;
  readonly gate: Gate;
  /** Called with each batch's size just before it is emitted. */
  readonly onBatch: (events: number) => void;
  /** Called once the batch is emitted and counts as read: a barrier may follow it now. */
  readonly afterBatch?: (events: number) => void;
}

/**
 * One partition's input: reads batch after batch, only while there is room downstream, and lets
 * the checkpoint coordinator slip a barrier in between two batches at any moment. Remembers the
 * position of the last record it emitted, which is what a barrier covers.
 */
export class PartitionInput {
  /** Position of the last record emitted; null before the first. */
  lastPosition: Position | null = null;
  /** True once the partition emitted its end or was stopped: no barrier can follow. */
  finished = false;
  /** True once the partition reached the end of its input. */
  ended = false;
  private subscriber: Subscriber<Element<Raw>> | undefined;
  private stopping = false;
  /** A read is in flight: a stop then completes the partition at once instead of waiting for it. */
  private reading = false;

  constructor(
    readonly reader: PartitionReader,
    private readonly options: InputOptions,
    resumeFrom: Position | null,
  ) {
    this.lastPosition = resumeFrom;
  }

  get partition(): string {
    return this.reader.partition;
  }

  /** The partition's elements; subscribe once. */
  elements(): Observable<Element<Raw>> {
    return new Observable<Element<Raw>>((subscriber) => {
      this.subscriber = subscriber;
      let cancelled = false;
      void this.pull(subscriber, () => cancelled);
      return () => {
        cancelled = true;
      };
    });
  }

  /** Emits checkpoint barrier `id` now, between batches; false when the partition is finished. */
  injectBarrier(id: number): boolean {
    if (this.finished || this.subscriber === undefined) return false;
    this.subscriber.next({ kind: 'barrier', checkpointId: id });
    return true;
  }

  /** Stops reading: the partition completes without an end (its windows stay open). */
  stop(): void {
    this.stopping = true;
    // a live source's read may wait for data forever: abandon it (its result is dropped unread,
    // and no checkpoint covers it). Wrapping every read in a race would cost ~20% throughput.
    if (this.reading && !this.finished) {
      this.finished = true;
      this.subscriber?.complete();
    }
    this.options.gate.notify();
  }

  private async pull(subscriber: Subscriber<Element<Raw>>, cancelled: () => boolean): Promise<void> {
    const { gate, room, onBatch } = this.options;
    try {
      for (;;) {
        await gate.until(() => this.stopping || room());
        if (cancelled()) return;
        if (this.stopping) break;
        this.reading = true;
        let events: Envelope<Raw>[] | null;
        try {
          events = await this.reader.read();
        } finally {
          this.reading = false;
        }
        // stopped while reading: already completed; what was read is not emitted, and the
        // checkpoint does not cover it either
        if (cancelled() || this.finished) return;
        if (this.stopping) break;
        if (events === null) {
          this.finished = true;
          this.ended = true;
          subscriber.next(END);
          subscriber.complete();
          return;
        }
        if (events.length === 0) continue;
        const count = events.length;
        // read before emitting: operators compact the batch array in place
        const position = (events[count - 1] as { position: Position }).position;
        onBatch(count);
        subscriber.next(batch(events));
        // only now does a barrier cover this batch: it went out before any barrier can follow
        this.lastPosition = position;
        this.options.afterBatch?.(count);
        // A source with data buffered resolves reads as microtasks, which would starve timers
        // and I/O callbacks (checkpoint saves, sink writes) until its chunk runs dry.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.finished = true;
      subscriber.complete();
    } catch (err) {
      if (this.finished) return;
      this.finished = true;
      subscriber.error(err);
    }
  }
}
