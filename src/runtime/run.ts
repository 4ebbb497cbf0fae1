import { asyncScheduler, finalize, map, mergeAll, Observable, Subject, tap, type SchedulerLike } from 'rxjs';
import type { AssignmentListener, PartitionReader, Sink, Source } from '../core/connectors.js';
import type { Element } from '../core/elements.js';
import type { Envelope, Position } from '../core/envelope.js';
import { createPartitionContext, NO_STATE, withState, type DeadLetter, type JournalProvider, type PartitionContext } from '../core/context.js';
import type { PipelineDefinition } from '../core/definition.js';
import { Counter, Counters } from '../core/metrics.js';
import { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import { CompositeAggregate } from '../windows/aggregates/composite.js';
import { WindowStage, type WindowResults } from '../windows/window-stage.js';
import { Aligner } from './align.js';
import { Gate } from './gate.js';
import { PartitionInput } from './input.js';
import { Outputs } from './outputs.js';
import { windowed } from './windowed.js';

/** Periodic checkpoints of a run. */
export interface CheckpointOptions {
  readonly store: CheckpointStore;
  /** Take a checkpoint every this many milliseconds of the scheduler's clock … */
  readonly everyMs?: number | undefined;
  /** … and/or every this many records read. */
  readonly everyRecords?: number | undefined;
}

export interface RunOptions {
  readonly definition: PipelineDefinition;
  readonly source: Source;
  readonly sinks: readonly Sink[];
  /** Where rejected records go, with their reason. */
  readonly deadLetter: Sink<DeadLetter>;
  /** Where late events go; without it they are dropped and counted. */
  readonly late?: Sink<DeadLetter> | undefined;
  /**
   * How partitions' window results are put together (see {@link WindowResults}); default
   * `keyed` for sources whose partitions move between workers (consumer groups), else `combined`.
   */
  readonly results?: WindowResults;
  /** Clock for idleness, checkpoint intervals and processing-time operators (virtual in tests). */
  readonly scheduler?: SchedulerLike;
  /** Batches a partition may have between its source and the window (default 4). */
  readonly maxInFlightBatches?: number;
  /** Records waiting for sinks before sources pause (default 65 536). */
  readonly maxPendingRecords?: number;
  /** Resume from the store's newest checkpoint and take new ones. */
  readonly checkpoint?: CheckpointOptions | undefined;
  /**
   * Graceful stop: no more reading; what was read is processed and written, a final checkpoint
   * is taken (when checkpointing), and the run resolves with `stopped: true`.
   */
  readonly signal?: AbortSignal;
  /** Journals of external calls (predictions) kept across restarts; see {@link Journal}. */
  readonly journals?: JournalProvider | undefined;
  /** Receives a live view of the run once it starts. */
  readonly view?: (view: RunView) => void;
}

/** A live look at a running pipeline, for dashboards such as `sluice demo`'s and the ops endpoints. */
export interface RunView {
  counters(): Record<string, number>;
  /** Output watermark (−∞ before the first, or without a window). */
  watermark(): number;
  /** Latest event time seen by the window (−∞ without one). */
  maxEventTime(): number;
  /** Newest durable checkpoint (0: none). */
  lastCheckpoint(): number;
  /** Window results fired so far (re-firings included), before any operator after the window. */
  windowsFired(): number;
  /** The partitions this run reads now (a consumer group's current assignment), by id. */
  partitions(): PartitionView[];
  /** How the source's consumer group treats this worker; undefined for sources without one. */
  membership(): GroupMembership | undefined;
}

/** One partition as {@link RunView.partitions} shows it. */
export interface PartitionView {
  readonly partition: string;
  /** Records read from it since this run took it. */
  readonly eventsIn: number;
  /** The last watermark its operators emitted (−∞ before the first, or without watermarks). */
  readonly watermark: number;
  /** When this run took the partition, and when it last read a batch of it (the run's clock). */
  readonly assignedAt: number;
  readonly lastReadAt: number | undefined;
  /** True once it reached the end of its input (bounded sources only). */
  readonly ended: boolean;
  /** What its reader knows of the input not read yet; undefined when it cannot tell (files). */
  readonly backlog: Backlog | undefined;
}

/** Input a partition has not read yet, as a {@link BacklogReader} reports it. */
export interface Backlog {
  /** Records between the last one read and the end of the partition's log; undefined until known. */
  readonly records: number | undefined;
  /** Since when (epoch ms) input is fetched and waiting for the pipeline to take it; undefined: none waits. */
  readonly waitingSince: number | undefined;
  /** How far behind the tip of its shard the latest fetch was (Kinesis MillisBehindLatest); absent elsewhere. */
  readonly millisBehind?: number | undefined;
}

/** A {@link PartitionReader} that can tell how much input it has not handed over (Kafka, Kinesis). */
export interface BacklogReader extends PartitionReader {
  backlog(): Backlog;
}

/** Implemented by sources read through a consumer group (Kafka), for readiness. */
export interface GroupMembershipSource extends Source {
  membership(): GroupMembership;
}

/** Where this worker stands in its consumer group. */
export interface GroupMembership {
  /** True once the group gave this worker an assignment (which may be empty). */
  readonly joined: boolean;
  /** Partitions in the group's latest assignment to this worker. */
  readonly assigned: number;
  /** Partitions of the topic (0: not known). */
  readonly topicPartitions: number;
}

function hasBacklog(reader: PartitionReader): reader is BacklogReader {
  return typeof (reader as Partial<BacklogReader>).backlog === 'function';
}

function hasMembership(source: Source): source is GroupMembershipSource {
  return typeof (source as Partial<GroupMembershipSource>).membership === 'function';
}

/** What the run's view keeps per partition: updated per batch, read only when someone looks. */
interface PartitionTrack {
  readonly reader: PartitionReader;
  readonly assignedAt: number;
  eventsIn: number;
  watermark: number;
  lastReadAt: number | undefined;
}

export interface RunSummary {
  readonly partitions: number;
  readonly counters: Record<string, number>;
  /** True when the run stopped before its input ended (signal, closed output). */
  readonly stopped: boolean;
  /** The checkpoint the run resumed from, and the newest one it completed (0: none). */
  readonly restoredFrom: number;
  readonly lastCheckpoint: number;
  /** Partitions taken over from a store shared by a group with a checkpoint to resume from. */
  readonly resumedPartitions: number;
}

/**
 * Runs a pipeline to the end of its input (or until stopped): one operator chain per partition,
 * the window stage, then the sinks. Sources read only while the partition's in-flight batches
 * and the sinks' unacknowledged records are under their bounds, so memory does not grow with
 * input size. With `checkpoint`, the run resumes from the newest checkpoint and takes aligned
 * checkpoints that are persisted only after every sink acknowledged the output before them.
 */
export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const { definition } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const counters = new Counters();
  const gate = new Gate();
  const maxInFlight = options.maxInFlightBatches ?? 4;
  const maxPending = options.maxPendingRecords ?? 65_536;
  const stopper = new AbortController();

  const restored = await options.checkpoint?.store.load();
  const outputs = new Outputs({ pipeline: definition.name, now: () => scheduler.now(), sinks: options.sinks, deadLetter: options.deadLetter, late: options.late, notify: () => gate.notify() });
  // A store shared by a group keeps no sink positions (they are one worker's): outputs then
  // carry on from where they are, and re-emitted results arrive again, identical.
  if (options.checkpoint !== undefined && options.checkpoint.store.leases === undefined) {
    await outputs.restore(restored?.shared['sinks'] as Record<string, unknown> | undefined);
  }

  const inputs = new Map<string, PartitionInput>();
  const tracks = new Map<string, PartitionTrack>();
  let windowsFired = 0;
  const inFlight = new Map<string, number>();
  /** Completes when a partition's chain has delivered everything (after a stop or its end). */
  const drained = new Map<string, Promise<void>>();
  const readers: PartitionReader[] = [];
  let aligner: Aligner | undefined;
  let emit: ((results: Envelope[]) => void) | undefined;
  let stage: WindowStage | undefined;

  const coordinator =
    options.checkpoint === undefined
      ? undefined
      : new CheckpointCoordinator(
          {
            pipeline: definition.name,
            store: options.checkpoint.store,
            restored,
            everyMs: options.checkpoint.everyMs,
            everyRecords: options.checkpoint.everyRecords,
            scheduler,
            now: () => new Date(scheduler.now()),
          },
          {
            injectBarriers: (id) => {
              const reading = [...inputs.values()].filter((input) => !input.finished);
              aligner?.expect(
                id,
                reading.map((input) => input.partition),
              );
              const where = new Map([...inputs.values()].map((input) => [input.partition, { position: input.lastPosition, ended: input.ended }]));
              for (const input of reading) input.injectBarrier(id);
              return where;
            },
            acknowledge: () => outputs.acknowledge(),
            committed: async (checkpoint, saved) => {
              await Promise.all(
                [...inputs.values()].map(async (input) => {
                  if (!saved.has(input.partition)) return;
                  const position = checkpoint.partitions[input.partition]?.position;
                  // the checkpoint is what resumes; a source's own progress marker (a group
                  // offset) is a courtesy, and failing to move it (mid-rebalance) loses nothing
                  if (position && input.reader.commit) await input.reader.commit(position).catch(() => counters.inc('commit_failures'));
                }),
              );
            },
          },
        );

  readers.push(...(await options.source.open(coordinator?.resumePositions())));
  const dynamic = options.source.listen !== undefined;
  try {
    const makeContext = (partition: string): PartitionContext =>
      createPartitionContext({
        pipeline: definition.name,
        partition,
        scheduler,
        counters,
        outlets: { deadLetter: (entry) => outputs.deadLetter(entry), late: (entry) => outputs.late(entry) },
        journals: options.journals,
      });
    const stateOf = (partition: string, operatorId: string) => coordinator?.partitionState(partition, operatorId) ?? NO_STATE;

    const roomFor = (partition: string) => (): boolean =>
      stopper.signal.aborted || ((inFlight.get(partition) ?? 0) < maxInFlight && outputs.pending < maxPending);
    const release = (partition: string): void => {
      inFlight.set(partition, (inFlight.get(partition) ?? 1) - 1);
      gate.notify();
    };

    const chainFor = (reader: PartitionReader): Observable<readonly [string, Element<unknown>]> => {
      const partition = reader.partition;
      const ctx = makeContext(partition);
      const track: PartitionTrack = { reader, assignedAt: scheduler.now(), eventsIn: 0, watermark: Number.NEGATIVE_INFINITY, lastReadAt: undefined };
      const input = new PartitionInput(
        reader,
        {
          room: roomFor(partition),
          gate,
          onBatch: (n) => {
            counters.inc(Counter.EVENTS_IN, n);
            inFlight.set(partition, (inFlight.get(partition) ?? 0) + 1);
            track.eventsIn += n;
            track.lastReadAt = scheduler.now();
          },
          afterBatch: (n) => coordinator?.recordsRead(n),
        },
        coordinator?.positionOf(partition) ?? null,
      );
      inputs.set(partition, input);
      tracks.set(partition, track);
      let chain: Observable<Element<unknown>> = input.elements();
      definition.before.forEach((op, i) => {
        chain = chain.pipe(op(withState(ctx, stateOf(partition, `before.${i}`))));
      });
      let settle!: () => void;
      drained.set(partition, new Promise<void>((resolve) => (settle = resolve)));
      return chain.pipe(
        map((element) => {
          if (element.kind === 'watermark') track.watermark = element.time;
          return [partition, element] as const;
        }),
        finalize(() => settle()),
      );
    };
    const windowContext = (partition: string): PartitionContext => withState(makeContext(partition), stateOf(partition, 'window'));

    /**
     * Bounded input is over: a last checkpoint records that, so a restart has nothing left to do.
     * Its barrier goes out before the output completes; the run waits for it to be durable.
     */
    let finalTaken = false;
    const finalCheckpoint = async (): Promise<void> => {
      if (coordinator === undefined || finalTaken) return;
      await coordinator.settle();
      if (finalTaken) return;
      finalTaken = true;
      void coordinator.trigger();
    };

    const partitions = new Subject<Observable<readonly [string, Element<unknown>]>>();
    const merged = partitions.pipe(mergeAll());
    const spec = definition.window;
    const sharedContext = makeContext('*');
    let output: Observable<Element<unknown>>;
    if (spec === undefined) {
      output = new Observable<Element<unknown>>((subscriber) => {
        aligner = new Aligner(
          (partition, element) => {
            if (element.kind === 'batch') release(partition);
            subscriber.next(element);
          },
          (id) => subscriber.next({ kind: 'barrier', checkpointId: id }),
        );
        const a = aligner;
        return merged.subscribe({
          next: ([partition, element]) => a.offer(partition, element),
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            void finalCheckpoint().then(
              () => subscriber.complete(),
              (err: unknown) => subscriber.error(err),
            );
          },
        });
      });
    } else {
      const contexts = new Map(readers.map((reader) => [reader.partition, windowContext(reader.partition)]));
      const results = options.results ?? (dynamic ? 'keyed' : 'combined');
      stage = new WindowStage({
        pipeline: definition.name,
        assigner: spec.assigner,
        aggregate: new CompositeAggregate(spec.aggregates, {
          needsMerge: spec.assigner.kind === 'session' || (results === 'combined' && (readers.length > 1 || dynamic)),
        }),
        allowedLateness: spec.allowedLateness,
        idleTimeout: definition.watermarks?.idleTimeout,
        results,
        partitions: contexts,
        shared: coordinator?.sharedState('window') ?? NO_STATE,
        now: () => scheduler.now(),
      });
      output = windowed({
        stage,
        input: merged,
        release,
        scheduler,
        idleTimeout: definition.watermarks?.idleTimeout,
        ready: (hooks) => {
          aligner = hooks.aligner;
          emit = hooks.emit;
        },
        beforeComplete: finalCheckpoint,
      }).pipe(
        tap((element) => {
          if (element.kind === 'batch') windowsFired += element.events.length;
        }),
      );
    }
    definition.after.forEach((op, i) => {
      output = output.pipe(op(withState(sharedContext, coordinator?.sharedState(`after.${i}`) ?? NO_STATE)));
    });

    const stop = (): void => {
      if (stopper.signal.aborted) return;
      void (async () => {
        if (coordinator !== undefined && !finalTaken) {
          await coordinator.settle();
          finalTaken = true;
          void coordinator.trigger();
        }
        stopper.abort();
        for (const input of inputs.values()) input.stop();
        if (dynamic) partitions.complete();
        gate.notify();
      })();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted) stop();
    outputs.onClosed(stop);

    let failure: { error: unknown } | undefined;
    const fail = (error: unknown): void => {
      failure ??= { error };
      stopper.abort();
      for (const input of inputs.values()) input.stop();
      if (dynamic) partitions.complete();
    };
    outputs.onFailure(fail);
    coordinator?.start(fail);
    options.view?.({
      counters: () => counters.snapshot(),
      watermark: () => stage?.watermark ?? Number.NEGATIVE_INFINITY,
      maxEventTime: () => stage?.maxEventTime ?? Number.NEGATIVE_INFINITY,
      lastCheckpoint: () => coordinator?.lastCompleted ?? 0,
      windowsFired: () => windowsFired,
      partitions: () =>
        [...tracks.entries()].map(([partition, track]) => ({
          partition,
          eventsIn: track.eventsIn,
          watermark: track.watermark,
          assignedAt: track.assignedAt,
          lastReadAt: track.lastReadAt,
          ended: inputs.get(partition)?.ended ?? false,
          backlog: hasBacklog(track.reader) ? track.reader.backlog() : undefined,
        })),
      membership: () => (hasMembership(options.source) ? options.source.membership() : undefined),
    });

    /** Assignment changes, one at a time and never while a checkpoint is in flight. */
    let changes = Promise.resolve();
    const serialized = (change: () => Promise<void>): Promise<void> => (changes = changes.then(change, change));
    const assignments = (): AssignmentListener => ({
      resume: async (partitions) => {
        const positions = new Map<string, Position>();
        await serialized(async () => {
          await coordinator?.settle();
          await coordinator?.claim(partitions);
          for (const partition of partitions) {
            const position = coordinator?.positionOf(partition);
            if (position !== undefined) positions.set(partition, position);
          }
        });
        return positions;
      },
      checkpointNow: async () => {
        if (coordinator === undefined || stopper.signal.aborted) return;
        await coordinator.settle();
        await coordinator.trigger();
      },
      assign: (assigned) =>
        serialized(async () => {
          await coordinator?.settle();
          for (const reader of assigned) {
            if (stopper.signal.aborted) {
              await reader.close();
              continue;
            }
            readers.push(reader);
            stage?.addPartition(reader.partition, windowContext(reader.partition));
            partitions.next(chainFor(reader));
          }
        }),
      revoke: (revoked) =>
        serialized(async () => {
          await coordinator?.settle();
          const leaving = revoked.map((partition) => inputs.get(partition)).filter((input) => input !== undefined);
          // the checkpoint's barrier goes into every partition, then the leaving ones stop after it
          const checkpoint = coordinator?.trigger();
          for (const input of leaving) input.stop();
          await checkpoint;
          for (const input of leaving) {
            await drained.get(input.partition);
            inputs.delete(input.partition);
            tracks.delete(input.partition);
            drained.delete(input.partition);
            aligner?.forget(input.partition);
            if (stage !== undefined) emit?.(stage.removePartition(input.partition));
            await input.reader.close();
          }
          await coordinator?.release(revoked);
        }),
    });

    const done = new Promise<void>((resolve, reject) => {
      output.subscribe({
        next(element) {
          if (element.kind === 'barrier') coordinator?.reachedOutputs(element.checkpointId);
          if (element.kind !== 'batch' || element.events.length === 0) return;
          counters.inc(Counter.RESULTS_OUT, element.events.length);
          outputs.write(element.events.map((env) => env.value));
        },
        error: reject,
        complete: resolve,
      });
    });
    for (const reader of readers) partitions.next(chainFor(reader));
    if (dynamic) options.source.listen?.(assignments());
    else partitions.complete();
    await done;
    await coordinator?.settle();
    coordinator?.stop();
    await outputs.drain();
    if (failure !== undefined) throw failure.error;
    return {
      partitions: new Set(readers.map((reader) => reader.partition)).size,
      counters: counters.snapshot(),
      // a stop after every partition reached its end stopped nothing
      stopped: stopper.signal.aborted && (dynamic || [...inputs.values()].some((input) => !input.ended)),
      restoredFrom: restored?.checkpointId ?? 0,
      lastCheckpoint: coordinator?.lastCompleted ?? 0,
      resumedPartitions: coordinator?.resumedPartitions ?? 0,
    };
  } finally {
    coordinator?.stop();
    await Promise.allSettled(readers.map((reader) => reader.close()));
    await options.source.close();
  }
}
