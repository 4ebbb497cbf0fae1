import { Observable, type SchedulerLike } from 'rxjs';
import { batch, watermark, type Element } from '../core/elements.js';
import type { Envelope } from '../core/envelope.js';
import type { WindowStage } from '../windows/window-stage.js';

/** Drives the window stage from the merged partitions, plus the idle-partition clock. */
export function windowed(
  stage: WindowStage,
  input: Observable<readonly [string, Element<unknown>]>,
  release: (partition: string) => void,
  scheduler: SchedulerLike,
  idleTimeout: number | undefined,
): Observable<Element<unknown>> {
  return new Observable<Element<unknown>>((subscriber) => {
    let emitted = Number.NEGATIVE_INFINITY;
    const forward = (results: Envelope[]): void => {
      if (results.length > 0) subscriber.next(batch(results));
      if (stage.watermark > emitted) {
        emitted = stage.watermark;
        subscriber.next(watermark(emitted));
      }
    };
    const period = idleTimeout === undefined ? 0 : Math.max(1, Math.floor(idleTimeout / 4));
    const idleCheck =
      idleTimeout === undefined
        ? undefined
        : scheduler.schedule(function (this: { schedule(state?: undefined, delay?: number): unknown }) {
            forward(stage.checkIdle());
            this.schedule(undefined, period);
          }, period);
    const subscription = input.subscribe({
      next([partition, element]) {
        if (element.kind === 'batch') release(partition);
        forward(stage.handle(partition, element));
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    return () => {
      subscription.unsubscribe();
      idleCheck?.unsubscribe();
    };
  });
}
