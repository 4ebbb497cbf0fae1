import type { DeadLetter } from '../../../src/core/context.js';
import type { PipelineDefinition } from '../../../src/core/definition.js';
import { generatorSource, type GeneratorOptions } from '../../../src/ingest/generator/index.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { CollectSink } from '../../support/run-memory.js';
import { readSource, valuesOf } from '../ingest/generator/helpers.js';

/** A window result as the built-ins write it. */
export interface Result {
  readonly id: string;
  readonly key: Record<string, unknown>;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
  readonly supersedes?: readonly string[];
  readonly [output: string]: unknown;
}

/** What a run of a built-in pipeline over a bounded generator gave, and what it was given. */
export interface BuiltinRun<E> {
  /** Every generated event, all partitions. */
  readonly events: E[];
  /** Events the pipeline did not count: late beyond the allowed lateness. */
  readonly late: E[];
  /** The last revision of every result, minus sessions a later result superseded. */
  readonly results: Result[];
  readonly deadLetters: DeadLetter[];
}

/**
 * Generator settings that make lateness matter: out-of-order events up to 20 s (beyond the
 * pipelines' 2 s, so many re-fire a window) and 5% late ones (200–260 s, dropped by most windows).
 */
export const LATE_HEAVY: Omit<GeneratorOptions, 'workload'> = { partitions: 2, events: 30_000, seed: 7, maxDelay: 20_000, outOfOrderFraction: 0.1, lateFraction: 0.05, batchSize: 700 };

/** Runs `definition` over the generator with `options`, collecting results and late events. */
export async function runBuiltin<E extends { eventId: string }>(definition: PipelineDefinition, options: GeneratorOptions): Promise<BuiltinRun<E>> {
  const results = new CollectSink<Result>();
  const late = new CollectSink<DeadLetter>();
  const deadLetters = new CollectSink<DeadLetter>();
  await runPipeline({ definition, source: generatorSource(options), sinks: [results as CollectSink], deadLetter: deadLetters, late });
  // the generator is deterministic: a second source gives the very events the run read
  const events = [...(await readSource(generatorSource(options))).values()].flatMap((envelopes) => valuesOf(envelopes).map((line) => JSON.parse(line) as E));
  const lateIds = new Set(late.records.map((entry) => (JSON.parse(entry.raw ?? '{}') as { eventId?: string }).eventId));
  return { events, late: events.filter((e) => lateIds.has(e.eventId)), results: finalResults(results.records), deadLetters: deadLetters.records };
}

function finalResults(all: readonly Result[]): Result[] {
  const last = new Map<string, Result>();
  for (const result of all) if ((last.get(result.id)?.revision ?? -1) < result.revision) last.set(result.id, result);
  const superseded = new Set(all.flatMap((result) => result.supersedes ?? []));
  return [...last.values()].filter((result) => !superseded.has(result.id));
}

/**
 * The windows that take each event under the built-ins' settings (2 s out of order, 30 s allowed
 * lateness), by Flink's rule simulated per partition: a window `[s, s + size)` takes an event
 * unless `s + size − 1 + lateness ≤` the watermark just before it (max time seen − 2 s − 1 ms).
 * An event no window takes is late. `events` must be in each partition's order.
 */
export function acceptedWindows<E extends { eventId: string; ts: string }>(events: readonly E[], starts: (t: number) => number[], size: number): Map<E, number[]> {
  const maxSeen = new Map<string, number>();
  const accepted = new Map<E, number[]>();
  for (const event of events) {
    const partition = event.eventId.slice(0, event.eventId.indexOf(':'));
    const t = Date.parse(event.ts);
    const max = maxSeen.get(partition) ?? Number.NEGATIVE_INFINITY;
    const watermark = max - 2000 - 1;
    accepted.set(event, starts(t).filter((start) => start + size - 1 + 30_000 > watermark));
    maxSeen.set(partition, Math.max(max, t));
  }
  return accepted;
}

/** Start of the tumbling window of `size` containing `t`, as a one-element list. */
export const tumblingStart = (size: number) => (t: number) => [Math.floor(t / size) * size];

/** Starts of the sliding windows of `size` every `slide` containing `t`. */
export const slidingStarts = (size: number, slide: number) => (t: number) => {
  const starts: number[] = [];
  for (let start = Math.floor(t / slide) * slide; start > t - size; start -= slide) starts.push(start);
  return starts;
};

/** Counts items by a key. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Sums a numeric output over results. */
export function total(results: readonly Result[], output: string): number {
  return results.reduce((sum, result) => sum + (result[output] as number), 0);
}
