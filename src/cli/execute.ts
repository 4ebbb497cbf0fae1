import type { Sink } from '../core/connectors.js';
import type { DeadLetter } from '../core/context.js';
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { handleShutdownSignals } from './signals.js';
import { runPipeline, type RunSummary } from '../runtime/run.js';
import { fileJournals } from '../checkpoint/journal.js';
import { checkpointInterval, checkpointStoreFor, journalsFor, sinkOpener, sourceFor } from './endpoints.js';

/** Flags shared by the commands that run a pipeline. */
export interface RunFlags {
  readonly source?: string | undefined;
  readonly sink?: readonly string[] | undefined;
  readonly deadLetter?: string | undefined;
  readonly late?: string | undefined;
  readonly perPartition?: boolean | undefined;
  readonly batchSize?: number | undefined;
  readonly checkpoint?: string | undefined;
  readonly checkpointInterval?: string | undefined;
  readonly journal?: string | undefined;
  readonly shutdownTimeout?: string | undefined;
}

/** How the CLI reports and ends: injectable so tests can drive signals. */
export interface ExecuteIo {
  readonly report: (line: string) => void;
  /** Ends the process at once (second signal, missed shutdown deadline). */
  readonly exit?: (code: number) => never;
}

/**
 * Runs a pipeline as the CLI does: resolve every URL first (so a typo fails before anything is
 * opened), open the sinks, run, close the sinks, and report one summary line on stderr.
 *
 * SIGTERM or SIGINT stops intake; the run finishes what it read, takes a final checkpoint and
 * exits 0 within `--shutdown-timeout` — or reports that it could not and exits 1. A second
 * signal exits at once.
 */
export async function execute(definition: PipelineDefinition, flags: RunFlags, io: ExecuteIo): Promise<RunSummary> {
  const sourceUrl = flags.source ?? definition.defaults.source;
  if (sourceUrl === undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, `pipeline '${definition.name}' names no source; pass --source URL (for example --source file:events.jsonl)`);
  }
  const sinkUrls = flags.sink && flags.sink.length > 0 ? flags.sink : (definition.defaults.sinks ?? ['stdout:']);
  const deadLetterUrl = flags.deadLetter ?? definition.defaults.deadLetter ?? 'stderr:';
  const lateUrl = flags.late ?? definition.defaults.late ?? 'drop';
  const shutdownMs = parseDuration(flags.shutdownTimeout ?? '25s', '--shutdown-timeout');

  const source = sourceFor(sourceUrl, { batchSize: flags.batchSize });
  const store = flags.checkpoint === undefined ? undefined : checkpointStoreFor(flags.checkpoint, definition.name, { shared: source.listen !== undefined });
  const journals =
    flags.journal !== undefined ? fileJournals(flags.journal) : flags.checkpoint === undefined ? undefined : journalsFor(flags.checkpoint, definition.name);
  const interval = checkpointInterval(flags.checkpointInterval ?? '10s');
  const resume = { resume: store !== undefined, pipeline: definition.name };
  const openers = sinkUrls.map((url) => sinkOpener(url, '--sink', resume));
  const openDeadLetter = sinkOpener(deadLetterUrl, '--dead-letter', resume);
  const openLate = lateUrl === 'drop' ? undefined : sinkOpener(lateUrl, '--late', resume);

  const opened: Sink[] = [];
  const open = async <T>(opener: () => Promise<Sink>): Promise<Sink<T>> => {
    const sink = await opener();
    opened.push(sink);
    return sink as Sink<T>;
  };

  const stop = new AbortController();
  const removeSignals = handleShutdownSignals({
    stop,
    deadlineMs: shutdownMs,
    report: io.report,
    exit: io.exit ?? ((code: number) => process.exit(code)),
  });
  const started = performance.now();
  try {
    const sinks: Sink[] = [];
    for (const opener of openers) sinks.push(await open(opener));
    const deadLetter = await open<DeadLetter>(openDeadLetter);
    const late = openLate === undefined ? undefined : await open<DeadLetter>(openLate);
    const summary = await runPipeline({
      definition,
      source,
      sinks,
      deadLetter,
      late,
      ...(flags.perPartition === true ? { results: 'per-partition' as const } : {}),
      signal: stop.signal,
      checkpoint: store === undefined ? undefined : { store, ...interval },
      journals,
    });
    io.report(summaryLine(summary, performance.now() - started));
    return summary;
  } finally {
    removeSignals();
    await Promise.allSettled(opened.map((sink) => sink.close()));
    await store?.close();
    await journals?.close();
  }
}

/** `sluice: 12000 events in, 48 results out, 2 late, 1 dead-lettered from 1 partition in 0.4 s` */
export function summaryLine(summary: RunSummary, elapsedMs: number): string {
  const c = summary.counters;
  const parts = [
    `${c['events_in'] ?? 0} events in`,
    `${c['results_out'] ?? 0} results out`,
    `${c['late'] ?? 0} late`,
    `${c['dead_lettered'] ?? 0} dead-lettered`,
  ];
  if ((c['duplicates'] ?? 0) > 0) parts.push(`${c['duplicates']} duplicates dropped`);
  // keyed results (consumer groups) are only right when each key lives in one partition
  if ((c['split_keys'] ?? 0) > 0) parts.push(`${c['split_keys']} window keys also seen in another partition (key the topic by the window key; see README, Kafka)`);
  const files = summary.partitions === 1 ? '1 partition' : `${summary.partitions} partitions`;
  const stopped = summary.stopped ? ', stopped before the end of input' : '';
  const resumed =
    summary.restoredFrom > 0
      ? `, resumed from checkpoint ${summary.restoredFrom}`
      : summary.resumedPartitions > 0
        ? `, resumed ${summary.resumedPartitions} partition${summary.resumedPartitions === 1 ? '' : 's'} from checkpoints`
        : '';
  const saved = summary.lastCheckpoint > summary.restoredFrom ? `, checkpoint ${summary.lastCheckpoint} saved` : '';
  return `sluice: ${parts.join(', ')} from ${files} in ${(elapsedMs / 1000).toFixed(1)} s${stopped}${resumed}${saved}`;
}
