import { Observable, type Subscriber } from 'rxjs';
import type { PartitionReader } from '../core/connectors.js';
import { batch, END, type Element } from '../core/elements.js';
import type { Envelope, Position, Raw } from '../core/envelope.js';
import type { Gate } from './gate.js';

const STOPPED: unique symbol = Symbol('stopped');

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
  /**
   * Ends the read in flight on `stop()`, so a read that may wait for data forever (a live
   * source) is abandoned. One slot, cleared after each read: racing every read against one
   * long-lived promise would keep every batch ever read reachable from it.
   */
  private abandonRead: (() => void) | undefined;

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
    this.abandonRead?.();
    this.options.gate.notify();
  }

  private readOrStop(reading: Promise<Envelope<Raw>[] | null>): Promise<Envelope<Raw>[] | null | typeof STOPPED> {
    return new Promise((resolve, reject) => {
      this.abandonRead = () => resolve(STOPPED);
      reading.then(
        (events) => {
          this.abandonRead = undefined;
          resolve(events);
        },
        (err: unknown) => {
          this.abandonRead = undefined;
          reject(err);
        },
      );
    });
  }

  private async pull(subscriber: Subscriber<Element<Raw>>, cancelled: () => boolean): Promise<void> {
    const { gate, room, onBatch } = this.options;
    try {
      for (;;) {
        await gate.until(() => this.stopping || room());
        if (cancelled()) return;
        if (this.stopping) break;
        const reading = this.reader.read();
        const events = await this.readOrStop(reading);
        if (cancelled()) return;
        // what was read after a stop is not emitted: the checkpoint does not cover it either
        if (events === STOPPED || this.stopping) {
          reading.catch(() => undefined);
          break;
        }
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
      }
      this.finished = true;
      subscriber.complete();
    } catch (err) {
      this.finished = true;
      subscriber.error(err);
    }
  }
}
