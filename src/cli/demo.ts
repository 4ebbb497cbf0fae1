import { join } from 'node:path';
import type { Command } from 'commander';
import type { DeadLetter } from '../core/context.js';
import type { Sink } from '../core/connectors.js';
import { parseDuration } from '../core/duration.js';
import { fileCheckpointStore } from '../checkpoint/stores/file.js';
import { generatorSource } from '../ingest/generator/index.js';
import type { Workload } from '../ingest/generator/config.js';
import { clickstreamPageViews, clickstreamSessions } from '../pipelines/clickstream.js';
import { telemetryBraking, telemetryDriving } from '../pipelines/telemetry.js';
import { openFileSink } from '../sinks/file/index.js';
import { runPipeline, type RunSummary, type RunView } from '../runtime/run.js';
import type { PipelineDefinition } from '../core/definition.js';
import { wholeNumber, type CliIo } from './common.js';
import { Dashboard } from './dashboard.js';
import { handleShutdownSignals } from './signals.js';
import { summaryLine } from './execute.js';

interface DemoFlags {
  readonly duration?: string;
  readonly out: string;
  readonly rate: string;
  readonly partitions: string;
  readonly seed: string;
}

/** The demo's pipelines and the workload each one reads. */
const DEMO: readonly (readonly [PipelineDefinition, Workload])[] = [
  [clickstreamPageViews, 'clickstream'],
  [clickstreamSessions, 'clickstream'],
  [telemetryDriving, 'telemetry'],
  [telemetryBraking, 'telemetry'],
];

/** `sluice demo`: the built-in pipelines over generated traffic, checkpointed, with a live view. */
export function demoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the built-in clickstream and telemetry pipelines over generated traffic, with checkpoints and a live summary')
    .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)')
    .option('--out <dir>', 'results, dead letters, late events and checkpoints go here', 'sluice-demo')
    .option('--rate <n>', 'events per second for each workload', '2000')
    .option('--partitions <n>', 'partitions of each workload', '4')
    .option('--seed <n>', 'generator seed; the same seed gives the same events', '1')
    .action(async (flags: DemoFlags) => {
      await runDemo(flags, io);
    });
}


/**
 * Runs every demo pipeline until `--duration` passes or a signal arrives, then stops them
 * gracefully (each takes a final checkpoint). Run it again with the same `--out` and it resumes.
 */
export async function runDemo(flags: DemoFlags, io: CliIo): Promise<RunSummary[]> {
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration');
  const rate = wholeNumber(flags.rate, '--rate');
  const partitions = wholeNumber(flags.partitions, '--partitions');
  const seed = wholeNumber(flags.seed, '--seed', 0);
  const stop = new AbortController();
  const opened: Sink[] = [];
  const open = async (name: string): Promise<Sink> => {
    const sink = await openFileSink({ path: join(flags.out, name), append: true });
    opened.push(sink);
    return sink;
  };

  const views: { pipeline: string; view: RunView }[] = [];
  const started = performance.now();
  const removeSignals = handleShutdownSignals({ stop, deadlineMs: 25_000, report: io.report, exit: (code) => process.exit(code) });
  const timer = durationMs === undefined ? undefined : setTimeout(() => stop.abort(), durationMs);
  // the live table only on a terminal: redirected output stays quiet until the summary
  const dashboard = new Dashboard(views, (text) => process.stderr.write(text), () => performance.now());
  const refresh = process.stderr.isTTY === true ? setInterval(() => dashboard.draw(), 1_000) : undefined;
  try {
    const runs = await Promise.all(
      DEMO.map(async ([definition, workload]) => {
        const name = definition.name;
        const store = fileCheckpointStore({ dir: join(flags.out, 'checkpoints'), pipeline: name });
        const sinks = [await open(`${name}.jsonl`)];
        const deadLetter = (await open(`${name}.dead-letters.jsonl`)) as Sink<DeadLetter>;
        const late = (await open(`${name}.late.jsonl`)) as Sink<DeadLetter>;
        return runPipeline({
          definition,
          source: generatorSource({ workload, rate, partitions, seed }),
          sinks,
          deadLetter,
          late,
          checkpoint: { store, everyMs: 5_000 },
          signal: stop.signal,
          view: (view) => views.push({ pipeline: name, view }),
        }).finally(() => store.close());
      }),
    );
    if (refresh !== undefined) dashboard.draw();
    const elapsed = performance.now() - started;
    runs.forEach((summary, i) => io.report(`${summaryLine(summary, elapsed).replace(/^sluice:/, `sluice demo ${DEMO[i]?.[0].name}:`)}`));
    io.report(`sluice demo: results, dead letters, late events and checkpoints are in ${flags.out}/; run it again to resume`);
    return runs;
  } finally {
    clearTimeout(timer);
    clearInterval(refresh);
    removeSignals();
    await Promise.allSettled(opened.map((sink) => sink.close()));
  }
}
