import type { Sink } from '../../src/core/connectors.js';
import type { DeadLetter } from '../../src/core/context.js';
import type { PipelineDefinition } from '../../src/core/definition.js';
import { memorySource } from '../../src/ingest/memory/index.js';
import { runPipeline, type RunSummary } from '../../src/runtime/run.js';
import type { WindowResults } from '../../src/windows/window-stage.js';

/** A sink that keeps what it receives, for assertions. */
export class CollectSink<T = unknown> implements Sink<T> {
  readonly description = 'collect:';
  readonly records: T[] = [];
  writes = 0;

  async write(records: readonly T[]): Promise<void> {
    this.writes++;
    this.records.push(...records);
  }

  async close(): Promise<void> {}

  /** The records as the JSON Lines a file sink would write. */
  lines(): string[] {
    return this.records.map((r) => JSON.stringify(r));
  }
}

export interface MemoryRun {
  readonly results: string[];
  readonly late: DeadLetter[];
  readonly deadLetters: DeadLetter[];
  readonly summary: RunSummary;
}

/** Runs a pipeline over in-memory partitions and collects everything it emits. */
export async function runMemory(
  definition: PipelineDefinition,
  partitions: Record<string, readonly string[]>,
  options: { batchSizes?: (partition: string) => readonly number[]; perPartition?: boolean; results?: WindowResults; bytes?: boolean } = {},
): Promise<MemoryRun> {
  const results = new CollectSink();
  const late = new CollectSink<DeadLetter>();
  const deadLetters = new CollectSink<DeadLetter>();
  const summary = await runPipeline({
    definition,
    source: memorySource({ partitions, batchSizes: options.batchSizes, bytes: options.bytes }),
    sinks: [results],
    deadLetter: deadLetters,
    late,
    ...(options.perPartition === true ? { results: 'per-partition' as const } : {}),
    ...(options.results === undefined ? {} : { results: options.results }),
  });
  return { results: results.lines(), late: late.records, deadLetters: deadLetters.records, summary };
}
