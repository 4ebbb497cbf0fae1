import type { Sink, Source } from '../core/connectors.js';
import type { DeadLetter } from '../core/context.js';
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { handleShutdownSignals } from './signals.js';
import { runPipeline, type RunSummary, type RunView } from '../runtime/run.js';
import { fileJournals } from '../checkpoint/journal.js';
import { onEcs } from '../runtime/ops/ecs.js';
import type { ObservedSink, Ops } from '../runtime/ops/index.js';
import { createLog, type Log, type LogFormat } from '../runtime/ops/log.js';
import { checkpointDir, checkpointInterval, checkpointStoreFor, journalsFor, sinkOpener, sourceFor } from './endpoints.js';

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
  /** Serve /healthz, /readyz and /metrics on this port (0: any free one). */
  readonly opsPort?: number | undefined;
  readonly opsHost?: string | undefined;
  /** How Sluice's own lines are written (default text). */
  readonly logFormat?: LogFormat | undefined;
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
export async function execute(definition: PipelineDefinition, flags: RunFlags, io: ExecuteIo, options: { readonly source?: Source } = {}): Promise<RunSummary> {
  const sourceUrl = flags.source ?? definition.defaults.source;
  if (sourceUrl === undefined && options.source === undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, `pipeline '${definition.name}' names no source; pass --source URL (for example --source file:events.jsonl)`);
  }
  const sinkUrls = flags.sink && flags.sink.length > 0 ? flags.sink : (definition.defaults.sinks ?? ['stdout:']);
  const deadLetterUrl = flags.deadLetter ?? definition.defaults.deadLetter ?? 'stderr:';
  const lateUrl = flags.late ?? definition.defaults.late ?? 'drop';
  const shutdownMs = parseDuration(flags.shutdownTimeout ?? '25s', '--shutdown-timeout');

  // a backfill brings its own bounded source (S3 hours, a Kafka time range)
  const source = options.source ?? sourceFor(sourceUrl as string, { batchSize: flags.batchSize });
  const store =
    source.checkpointStore !== undefined
      ? source.checkpointStore(definition.name, flags.checkpoint === undefined ? undefined : checkpointDir(flags.checkpoint))
      : flags.checkpoint === undefined
        ? undefined
        : checkpointStoreFor(flags.checkpoint, definition.name, { shared: source.listen !== undefined });
  const journals =
    flags.journal !== undefined ? fileJournals(flags.journal) : flags.checkpoint === undefined ? undefined : journalsFor(flags.checkpoint, definition.name);
  const interval = checkpointInterval(flags.checkpointInterval ?? '10s');
  const resume = { resume: store !== undefined, pipeline: definition.name };
  const openers = sinkUrls.map((url) => sinkOpener(url, '--sink', resume));
  const openDeadLetter = sinkOpener(deadLetterUrl, '--dead-letter', resume);
  const openLate = lateUrl === 'drop' ? undefined : sinkOpener(lateUrl, '--late', resume);

  const log = createLog({ format: flags.logFormat ?? 'text', pipeline: definition.name, text: io.report });
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
    report: (line) => log.warn(line),
    exit: io.exit ?? ((code: number) => process.exit(code)),
  });
  const started = performance.now();
  let ops: Ops | undefined;
  try {
    // the endpoints come up first: /healthz answers while checkpoints load and sinks connect;
    // loaded only when asked for, so a plain CLI run starts as fast as before
    if (flags.opsPort !== undefined || onEcs()) {
      const { predictionsOf, startOps } = await import('../runtime/ops/index.js');
      ops = await startOps({ pipeline: definition.name, log, port: flags.opsPort, host: flags.opsHost, predictions: predictionsOf(definition), stopping: stop.signal });
    }
    const sinks: Sink[] = [];
    for (const opener of openers) sinks.push(await open(opener));
    const deadLetter = await open<DeadLetter>(openDeadLetter);
    const late = openLate === undefined ? undefined : await open<DeadLetter>(openLate);
    ops?.observeSinks([
      ...sinks.map((sink): ObservedSink => ({ sink, role: 'result' })),
      { sink: deadLetter, role: 'dead-letter' },
      ...(late === undefined ? [] : [{ sink: late, role: 'late' } satisfies ObservedSink]),
    ]);
    startupLine(log, { pipeline: definition.name, source: source.description, sinks: sinks.map((sink) => sink.description), ops: ops?.url });
    if (log.format === 'json') stop.signal.addEventListener('abort', () => log.info('sluice: stopping: finishing what was read and taking a final checkpoint'), { once: true });
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
      ...(ops === undefined ? {} : { view: (view: RunView) => ops?.attach(view) }),
    });
    const elapsedMs = performance.now() - started;
    // the last EMF document goes out first: the summary stays the last line
    await ops?.close();
    log.info(summaryLine(summary, elapsedMs), summaryFields(summary, elapsedMs));
    return summary;
  } finally {
    removeSignals();
    await ops?.close();
    await Promise.allSettled(opened.map((sink) => sink.close()));
    await store?.close();
    await journals?.close();
  }
}

/**
 * The start-up line: in text, only when the operations endpoints are on (their address, which
 * `--ops-port 0` chooses); in JSON, always, with where the run reads and writes.
 */
function startupLine(log: Log, run: { readonly pipeline: string; readonly source: string; readonly sinks: readonly string[]; readonly ops: string | undefined }): void {
  const endpoints = run.ops === undefined ? '' : `; operations endpoints on ${run.ops} (/healthz, /readyz, /metrics)`;
  if (log.format === 'json') log.info(`sluice: started pipeline '${run.pipeline}'${endpoints}`, { source: run.source, sinks: run.sinks, ...(run.ops === undefined ? {} : { ops: run.ops }) });
  else if (run.ops !== undefined) log.info(`sluice: operations endpoints on ${run.ops} (/healthz, /readyz, /metrics)`);
}

/** The summary as JSON fields, beside its sentence. */
function summaryFields(summary: RunSummary, elapsedMs: number): Record<string, unknown> {
  const c = summary.counters;
  return {
    eventsIn: c['events_in'] ?? 0,
    resultsOut: c['results_out'] ?? 0,
    late: c['late'] ?? 0,
    deadLettered: c['dead_lettered'] ?? 0,
    partitions: summary.partitions,
    stopped: summary.stopped,
    restoredFrom: summary.restoredFrom,
    lastCheckpoint: summary.lastCheckpoint,
    elapsedMs: Math.round(elapsedMs),
    counters: c,
  };
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
