import { join } from 'node:path';
import type { Command } from 'commander';
import type { DeadLetter } from '../core/context.js';
import type { Sink } from '../core/connectors.js';
import { parseDuration } from '../core/duration.js';
import { fileJournals } from '../checkpoint/journal.js';
import { fileCheckpointStore } from '../checkpoint/stores/file.js';
import { generatorSource } from '../ingest/generator/index.js';
import type { Workload } from '../ingest/generator/config.js';
import { startModelServer, type ModelServer } from '../dev/model-server/index.js';
import { CLICKSTREAM_PURCHASE, TELEMETRY_ANOMALY } from '../dev/model-server/models.js';
import { clickstreamPageViews, clickstreamSessions } from '../pipelines/clickstream.js';
import { clickstreamPurchases, type SessionPurchase } from '../pipelines/clickstream-purchases.js';
import { PredictionQuality, qualityLine } from '../pipelines/quality.js';
import { telemetryBraking, telemetryDriving } from '../pipelines/telemetry.js';
import { telemetryAnomalies, type VehicleAnomaly } from '../pipelines/telemetry-anomalies.js';
import { openFileSink } from '../sinks/file/index.js';
import { runPipeline, type RunSummary } from '../runtime/run.js';
import type { PipelineDefinition } from '../core/definition.js';
import { wholeNumber, type CliIo } from './common.js';
import { Dashboard, type DashboardRow } from './dashboard.js';
import { handleShutdownSignals } from './signals.js';
import { summaryLine } from './execute.js';

interface DemoFlags {
  readonly duration?: string;
  readonly out: string;
  readonly rate: string;
  readonly partitions: string;
  readonly seed: string;
}

/** How a prediction pipeline's results are judged: a sink that tallies them, and its line. */
interface Judge {
  readonly sink: Sink;
  /** The summary line of its precision and recall. */
  readonly line: () => string;
}

/** One pipeline of the demo: what it reads, and how its predictions are judged, if it makes any. */
interface DemoPipeline {
  readonly definition: PipelineDefinition;
  readonly workload: Workload;
  readonly quality?: Judge;
}

/**
 * The demo's pipelines: the four aggregations, and the two prediction pipelines calling the
 * local model server at `server`, each judged against the ground truth its results carry.
 */
function demoPipelines(server: ModelServer): DemoPipeline[] {
  const anomalies = new PredictionQuality<VehicleAnomaly>('telemetry-anomalies', (r) => ({
    predicted: r.anomaly,
    actual: r.anomalousReadings === null ? null : r.anomalousReadings > 0,
  }));
  const purchases = new PredictionQuality<SessionPurchase>('clickstream-purchases', (r) => ({ predicted: r.likelyBuyer, actual: r.converted }));
  return [
    { definition: clickstreamPageViews, workload: 'clickstream' },
    { definition: clickstreamSessions, workload: 'clickstream' },
    { definition: telemetryDriving, workload: 'telemetry' },
    { definition: telemetryBraking, workload: 'telemetry' },
    {
      definition: telemetryAnomalies({ endpoint: { name: TELEMETRY_ANOMALY, url: server.url } }),
      workload: 'telemetry',
      quality: judged(anomalies, { unit: 'windows', positive: 'anomalous' }, 'no window closed yet (a vehicle minute closes once the readings are 2 s past it)'),
    },
    {
      definition: clickstreamPurchases({ endpoint: { name: CLICKSTREAM_PURCHASE, url: server.url } }),
      workload: 'clickstream',
      // at the demo's pace (25 s of event time a second), about 72 s into a run
      quality: judged(purchases, { unit: 'sessions', positive: 'converted' }, 'no session closed yet (a session closes 30 minutes of event time after its last click)'),
    },
  ];
}

/** A prediction pipeline's quality sink and its summary line, or what the line waits for. */
function judged<R extends { readonly id: string }>(quality: PredictionQuality<R>, words: Parameters<typeof qualityLine>[1], waiting: string): Judge {
  return {
    sink: quality,
    line: () => {
      const counts = quality.counts();
      return counts.scored + counts.unpredicted === 0 ? waiting : qualityLine(counts, words);
    },
  };
}

/**
 * `sluice demo`: the built-in pipelines over generated traffic, checkpointed, with a live view;
 * the prediction pipelines call a local model server the demo runs itself.
 */
export function demoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the built-in clickstream and telemetry pipelines (predictions included, from a local model server) over generated traffic, with checkpoints and a live summary')
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
 * Reports one summary line per pipeline, then the precision and recall of each prediction
 * pipeline against the generator's ground truth (over this run's results).
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

  const views: DashboardRow[] = [];
  const started = performance.now();
  const removeSignals = handleShutdownSignals({ stop, deadlineMs: 25_000, report: io.report, exit: (code) => process.exit(code) });
  const timer = durationMs === undefined ? undefined : setTimeout(() => stop.abort(), durationMs);
  // the live table only on a terminal: redirected output stays quiet until the summary
  const dashboard = new Dashboard(views, (text) => process.stderr.write(text), () => performance.now());
  const refresh = process.stderr.isTTY === true ? setInterval(() => dashboard.draw(), 1_000) : undefined;
  // the prediction pipelines' model endpoint, in this process, on a free loopback port
  let server: ModelServer | undefined;
  try {
    server = await startModelServer();
    const demo = demoPipelines(server);
    const runs = await Promise.all(
      demo.map(async ({ definition, workload, quality }) => {
        const name = definition.name;
        const store = fileCheckpointStore({ dir: join(flags.out, 'checkpoints'), pipeline: name });
        // as `sluice run --checkpoint` keeps them: a resumed demo pays for no prediction twice
        const journals = quality === undefined ? undefined : fileJournals(join(flags.out, 'checkpoints', name, 'journals'));
        const sinks: Sink[] = [await open(`${name}.jsonl`), ...(quality === undefined ? [] : [quality.sink])];
        const deadLetter = (await open(`${name}.dead-letters.jsonl`)) as Sink<DeadLetter>;
        const late = (await open(`${name}.late.jsonl`)) as Sink<DeadLetter>;
        return runPipeline({
          definition,
          source: generatorSource({ workload, rate, partitions, seed }),
          sinks,
          deadLetter,
          late,
          checkpoint: { store, everyMs: 5_000 },
          journals,
          signal: stop.signal,
          view: (view) => views.push({ pipeline: name, view, ...(quality === undefined ? {} : { predict: 'predict' }) }),
        }).finally(async () => {
          await store.close();
          await journals?.close();
        });
      }),
    );
    if (refresh !== undefined) dashboard.draw();
    const elapsed = performance.now() - started;
    runs.forEach((summary, i) => io.report(`${summaryLine(summary, elapsed).replace(/^sluice:/, `sluice demo ${demo[i]?.definition.name}:`)}`));
    for (const { definition, quality } of demo) if (quality !== undefined) io.report(`sluice demo ${definition.name}: ${quality.line()}`);
    io.report(`sluice demo: results, dead letters, late events and checkpoints are in ${flags.out}/; run it again to resume`);
    return runs;
  } finally {
    clearTimeout(timer);
    clearInterval(refresh);
    removeSignals();
    await Promise.allSettled(opened.map((sink) => sink.close()));
    await server?.stop();
  }
}
