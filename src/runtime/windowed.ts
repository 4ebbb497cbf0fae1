import { Observable, type SchedulerLike } from 'rxjs';
import { batch, watermark, type Element } from '../core/elements.js';
import type { Envelope } from '../core/envelope.js';
import type { WindowStage } from '../windows/window-stage.js';
import { Aligner } from './align.js';

export interface WindowedOptions {
  readonly stage: WindowStage;
  readonly input: Observable<readonly [string, Element<unknown>]>;
  /** A batch of this partition left the operator chain (room for the next read). */
  readonly release: (partition: string) => void;
  readonly scheduler: SchedulerLike;
  readonly idleTimeout: number | undefined;
  /**
   * Receives, on subscription, the aligner (which the checkpoint coordinator tells what barriers
   * to expect) and `emit`, which sends results produced outside `handle` (a partition revoked).
   */
  readonly ready?: (hooks: { readonly aligner: Aligner; readonly emit: (results: Envelope[]) => void }) => void;
  /** Runs when the input completes; the output completes after it settles (a last checkpoint
   * may go out first). */
  readonly beforeComplete?: () => Promise<void>;
}

/**
 * Drives the window stage from the merged partitions: aligns checkpoint barriers (the stage
 * snapshots at alignment, then the barrier goes downstream), runs the idle-partition clock, and
 * emits results and the output watermark.
 */
export function windowed(options: WindowedOptions): Observable<Element<unknown>> {
  const { stage, input, release, scheduler, idleTimeout } = options;
  return new Observable<Element<unknown>>((subscriber) => {
    let emitted = Number.NEGATIVE_INFINITY;
    const forward = (results: Envelope[]): void => {
      if (results.length > 0) subscriber.next(batch(results));
      if (stage.watermark > emitted) {
        emitted = stage.watermark;
        subscriber.next(watermark(emitted));
      }
    };
    const aligner = new Aligner(
      (partition, element) => {
        if (element.kind === 'batch') release(partition);
        forward(stage.handle(partition, element));
      },
      (id) => {
        stage.snapshot(id);
        subscriber.next({ kind: 'barrier', checkpointId: id });
      },
    );
    options.ready?.({ aligner, emit: forward });
    const period = idleTimeout === undefined ? 0 : Math.max(1, Math.floor(idleTimeout / 4));
    const idleCheck =
      idleTimeout === undefined
        ? undefined
        : scheduler.schedule(function (this: { schedule(state?: undefined, delay?: number): unknown }) {
            forward(stage.checkIdle());
            this.schedule(undefined, period);
          }, period);
    const subscription = input.subscribe({
      next: ([partition, element]) => aligner.offer(partition, element),
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        void (options.beforeComplete?.() ?? Promise.resolve()).then(
          () => subscriber.complete(),
          (err: unknown) => subscriber.error(err),
        );
      },
    });
    return () => {
      subscription.unsubscribe();
      idleCheck?.unsubscribe();
    };
  });
}
