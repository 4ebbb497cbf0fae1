/**
 * `sluice record`'s engine: reads every partition of a source and writes each record as a capture
 * line. It only observes: it never commits positions and never takes part in checkpoints.
 *
 * @module
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { AssignmentListener, PartitionReader, Source } from '../core/connectors.js';
import type { Envelope, Raw } from '../core/envelope.js';
import { captureRecordOf, encodeCaptureLine } from './capture-format.js';

/** Options of {@link recordSource}. */
export interface RecordOptions {
  readonly source: Source;
  /**
   * Called once the source is open, before the first read: where the output is created, so a
   * source that cannot be read does not truncate an earlier capture.
   */
  readonly opened?: (() => Promise<void>) | undefined;
  /** Receives whole lines; one call per batch read, so a partition's lines stay in order. */
  readonly write: (text: string) => Promise<void>;
  /** Stop after this many records. */
  readonly limit?: number | undefined;
  /** Stop after this long on the scheduler's clock. */
  readonly durationMs?: number | undefined;
  /** Graceful stop (SIGINT, SIGTERM): what was read so far is written, nothing more. */
  readonly signal?: AbortSignal | undefined;
  readonly scheduler?: SchedulerLike | undefined;
}

/** Why a recording ended. */
export type RecordEnd = 'end' | 'limit' | 'duration' | 'stopped' | 'failed';

/** What a recording captured. */
export interface RecordSummary {
  readonly records: number;
  /** Partitions that contributed at least one record. */
  readonly partitions: number;
  readonly end: RecordEnd;
}

interface Pump {
  readonly quit: AbortController;
  readonly done: Promise<void>;
}

/**
 * Records a source until its bounded input ends, `limit` records are written, `durationMs`
 * passes or `signal` aborts, whichever comes first. Partitions are read concurrently, so the
 * capture interleaves them, each partition in its own order. Sources whose partitions are
 * assigned while running (Kafka groups) are followed: assigned partitions are read from where the
 * source starts them, revoked ones are let go. Such a source has no end; stop it by limit,
 * duration or signal. Rejects with the first read or write error, after closing the source.
 *
 * @example
 * const out = await openCaptureWriter('c.jsonl');
 * const summary = await recordSource({ source, write: (t) => out.write(t), limit: 1000 });
 * await out.close();
 * @see captureRecordOf
 */
export async function recordSource(options: RecordOptions): Promise<RecordSummary> {
  const { source, limit } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const stop = new AbortController();
  let end: RecordEnd = 'end';
  let failure: { readonly err: unknown } | undefined;
  const halt = (why: RecordEnd): void => {
    if (stop.signal.aborted) return;
    end = why;
    stop.abort();
  };
  const stopped = aborted(stop.signal);
  const onSignal = (): void => halt('stopped');
  options.signal?.addEventListener('abort', onSignal, { once: true });
  if (options.signal?.aborted === true) halt('stopped');
  const timer = options.durationMs === undefined ? undefined : scheduler.schedule(() => halt('duration'), options.durationMs);

  let records = 0;
  const seen = new Set<string | number>();
  const pumps = new Map<string, Pump>();

  const take = (batch: readonly Envelope<Raw>[]): string => {
    let text = '';
    for (const env of batch) {
      if (limit !== undefined && records >= limit) break;
      const record = captureRecordOf(env);
      records++;
      seen.add(record.partition);
      text += encodeCaptureLine(record);
    }
    return text;
  };

  const pump = async (reader: PartitionReader, quit: AbortSignal): Promise<void> => {
    const released = Promise.race([stopped, aborted(quit)]);
    while (!quit.aborted) {
      const read = reader.read();
      // a read that loses the race may still fail later: nobody waits for it then
      read.catch(() => undefined);
      const batch = await Promise.race([read, released]);
      if (batch === null || batch === undefined) return;
      // counting and encoding happen synchronously, so the limit holds across partitions exactly
      const text = take(batch);
      if (text !== '') await options.write(text);
      if (limit !== undefined && records >= limit) halt('limit');
    }
  };

  const start = (reader: PartitionReader): void => {
    pumps.get(reader.partition)?.quit.abort();
    const quit = new AbortController();
    stop.signal.addEventListener('abort', () => quit.abort(), { once: true });
    const done = pump(reader, quit.signal).catch((err: unknown) => {
      failure ??= { err };
      halt('failed');
    });
    pumps.set(reader.partition, { quit, done });
  };

  let readers: PartitionReader[] = [];
  try {
    readers = await source.open();
    await options.opened?.();
    const listener: AssignmentListener = {
      // no checkpoints: a partition starts wherever the source starts it (the group's committed
      // offset, else the URL's start position)
      resume: () => Promise.resolve(new Map()),
      checkpointNow: () => Promise.resolve(),
      assign: async (assigned) => {
        readers.push(...assigned);
        if (!stop.signal.aborted) for (const reader of assigned) start(reader);
      },
      revoke: async (partitions) => {
        const leaving = partitions.map((p) => pumps.get(p)).filter((p): p is Pump => p !== undefined);
        for (const p of leaving) p.quit.abort();
        await Promise.all(leaving.map((p) => p.done));
      },
    };
    if (limit === 0) halt('limit');
    for (const reader of readers) if (!stop.signal.aborted) start(reader);
    if (source.listen !== undefined) {
      source.listen(listener);
      await stopped;
    } else {
      await Promise.race([Promise.all([...pumps.values()].map((p) => p.done)), stopped]);
    }
    halt('end');
    await Promise.all([...pumps.values()].map((p) => p.done));
  } finally {
    timer?.unsubscribe();
    options.signal?.removeEventListener('abort', onSignal);
    halt(end);
    await Promise.allSettled(readers.map((reader) => reader.close()));
    await source.close();
  }
  if (failure !== undefined) throw failure.err;
  return { records, partitions: seen.size, end };
}

/** Resolves (with undefined) once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
}
