import { asyncScheduler, map, merge, Observable, type SchedulerLike } from 'rxjs';
import type { PartitionReader, Sink, Source } from '../core/connectors.js';
import { batch, END, type Element } from '../core/elements.js';
import type { Raw } from '../core/envelope.js';
import { createPartitionContext, type DeadLetter, type PartitionContext } from '../core/context.js';
import type { PipelineDefinition } from '../core/definition.js';
import { Counter, Counters } from '../core/metrics.js';
import { CompositeAggregate } from '../windows/aggregates/composite.js';
import { WindowStage } from '../windows/window-stage.js';
import { windowed } from './windowed.js';
import { Gate } from './gate.js';
import { SinkQueue } from './sink-queue.js';

export interface RunOptions {
  readonly definition: PipelineDefinition;
  readonly source: Source;
  readonly sinks: readonly Sink[];
  /** Where rejected records go, with their reason. */
  readonly deadLetter: Sink<DeadLetter>;
  /** Where late events go; without it they are dropped and counted. */
  readonly late?: Sink<DeadLetter> | undefined;
  /** Keep per-partition window results instead of combining them. */
  readonly perPartition?: boolean;
  /** Clock for idleness and processing-time operators (virtual in tests). */
  readonly scheduler?: SchedulerLike;
  /** Batches a partition may have between its source and the window (default 4). */
  readonly maxInFlightBatches?: number;
  /** Records waiting for sinks before sources pause (default 65 536). */
  readonly maxPendingRecords?: number;
  /** Stops reading; what was read is still processed and written. */
  readonly signal?: AbortSignal;
}

export interface RunSummary {
  readonly partitions: number;
  readonly counters: Record<string, number>;
  /** True when the run stopped before its input ended (signal, closed output). */
  readonly stopped: boolean;
}

/**
 * Runs a pipeline to the end of its input: one operator chain per partition, the window stage,
 * then the sinks. Sources read only while the partition's in-flight batches and the sinks'
 * unacknowledged records are under their bounds, so memory does not grow with input size.
 */
export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const { definition } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const counters = new Counters();
  const gate = new Gate();
  const maxInFlight = options.maxInFlightBatches ?? 4;
  const maxPending = options.maxPendingRecords ?? 65_536;

  let failure: { error: unknown } | undefined;
  // a failed or closed output ends the run: stop reading, let what was read drain
  const notify = (): void => {
    for (const queue of queues) {
      if (queue.error !== undefined && failure === undefined) {
        failure = { error: queue.error };
        stop();
      } else if (isClosed(queue.sink)) stop();
    }
    gate.notify();
  };
  const outputs = options.sinks.map((sink) => new SinkQueue<unknown>(sink, notify));
  const deadLetters = new SinkQueue<DeadLetter>(options.deadLetter, notify);
  const late = options.late === undefined ? undefined : new SinkQueue<DeadLetter>(options.late, notify);
  const queues: SinkQueue<unknown>[] = [...outputs, deadLetters as SinkQueue<unknown>, ...(late ? [late as SinkQueue<unknown>] : [])];

  const stopper = new AbortController();
  const stop = (): void => {
    stopper.abort();
    gate.notify();
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();

  const readers = await options.source.open();
  try {
    const contexts = new Map<string, PartitionContext>();
    const makeContext = (partition: string): PartitionContext =>
      createPartitionContext({
        pipeline: definition.name,
        partition,
        scheduler,
        counters,
        outlets: { deadLetter: (entry) => deadLetters.push([entry]), late: (entry) => late?.push([entry]) },
      });
    for (const reader of readers) contexts.set(reader.partition, makeContext(reader.partition));

    const inFlight = new Map<string, number>();
    const roomFor = (partition: string) => (): boolean =>
      stopper.signal.aborted || ((inFlight.get(partition) ?? 0) < maxInFlight && queues.reduce((n, q) => n + q.pending, 0) < maxPending);
    const release = (partition: string): void => {
      inFlight.set(partition, (inFlight.get(partition) ?? 1) - 1);
      gate.notify();
    };

    const chains = readers.map((reader) => {
      const ctx = contexts.get(reader.partition) as PartitionContext;
      let chain: Observable<Element<unknown>> = pull(reader, {
        room: roomFor(reader.partition),
        gate,
        stopped: () => stopper.signal.aborted,
        onBatch: (n) => {
          counters.inc(Counter.EVENTS_IN, n);
          inFlight.set(reader.partition, (inFlight.get(reader.partition) ?? 0) + 1);
        },
      });
      for (const op of definition.before) chain = chain.pipe(op(ctx));
      return chain.pipe(map((element) => [reader.partition, element] as const));
    });
    const merged = merge(...chains);

    let output: Observable<Element<unknown>>;
    const spec = definition.window;
    if (spec === undefined) {
      output = merged.pipe(
        map(([partition, element]) => {
          if (element.kind === 'batch') release(partition);
          return element;
        }),
      );
    } else {
      const stage = new WindowStage({
        pipeline: definition.name,
        assigner: spec.assigner,
        aggregate: new CompositeAggregate(spec.aggregates, {
          needsMerge: spec.assigner.kind === 'session' || (options.perPartition !== true && readers.length > 1),
        }),
        allowedLateness: spec.allowedLateness,
        idleTimeout: definition.watermarks?.idleTimeout,
        perPartition: options.perPartition === true,
        partitions: contexts,
        now: () => scheduler.now(),
      });
      output = windowed(stage, merged, release, scheduler, definition.watermarks?.idleTimeout);
      const resultContext = makeContext('*');
      for (const op of definition.after) output = output.pipe(op(resultContext));
    }

    await new Promise<void>((resolve, reject) => {
      output.subscribe({
        next(element) {
          if (element.kind !== 'batch' || element.events.length === 0) return;
          const values = element.events.map((env) => env.value);
          counters.inc(Counter.RESULTS_OUT, values.length);
          for (const queue of outputs) queue.push(values);
        },
        error: reject,
        complete: resolve,
      });
    });
    await Promise.allSettled(queues.map((queue) => queue.drain()));
    if (failure !== undefined) throw failure.error;
    return { partitions: readers.length, counters: counters.snapshot(), stopped: stopper.signal.aborted || queues.some((q) => isClosed(q.sink)) };
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await Promise.allSettled(readers.map((reader) => reader.close()));
    await options.source.close();
  }
}

function isClosed(sink: Sink): boolean {
  return (sink as { closedEarly?: boolean }).closedEarly === true;
}

interface PullControl {
  readonly room: () => boolean;
  readonly gate: Gate;
  readonly stopped: () => boolean;
  readonly onBatch: (events: number) => void;
}

/** Reads a partition batch by batch, only while there is room downstream. */
function pull(reader: PartitionReader, control: PullControl): Observable<Element<Raw>> {
  return new Observable<Element<Raw>>((subscriber) => {
    let cancelled = false;
    void (async () => {
      try {
        for (;;) {
          await control.gate.until(control.room);
          if (cancelled) return;
          if (control.stopped()) {
            subscriber.complete();
            return;
          }
          const events = await reader.read();
          if (cancelled) return;
          if (events === null) {
            subscriber.next(END);
            subscriber.complete();
            return;
          }
          control.onBatch(events.length);
          subscriber.next(batch(events));
        }
      } catch (err) {
        subscriber.error(err);
      }
    })();
    return () => {
      cancelled = true;
    };
  });
}
