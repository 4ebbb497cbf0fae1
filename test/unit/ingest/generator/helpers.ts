import type { VirtualTimeScheduler } from 'rxjs';
import type { PartitionReader, Source } from '../../../../src/core/connectors.js';
import type { Envelope, Position, Raw } from '../../../../src/core/envelope.js';
import { generatorConfig, type GeneratorOptions } from '../../../../src/ingest/generator/config.js';
import { PartitionGenerator } from '../../../../src/ingest/generator/partition.js';
import { batchesOf } from '../file-helpers.js';

/** The first `n` events of one partition, straight from the generator (no reader, no pacing). */
export function generate(options: GeneratorOptions, n: number, partition = 0): { lines: string[]; positions: Position[] } {
  const generator = PartitionGenerator.start(generatorConfig(options), partition);
  const lines: string[] = [];
  const positions: Position[] = [];
  for (let i = 0; i < n; i++) {
    const { line, position } = generator.next();
    lines.push(line);
    positions.push(position);
  }
  return { lines, positions };
}

/** Opens a (bounded) source and reads every partition to its end: partition id → envelopes. */
export async function readSource(source: Source, resume?: ReadonlyMap<string, Position>): Promise<Map<string, Envelope<Raw>[]>> {
  const out = new Map<string, Envelope<Raw>[]>();
  for (const reader of await source.open(resume)) out.set(reader.partition, (await batchesOf(reader)).flat());
  await source.close();
  return out;
}

/** The values (JSON lines) of envelopes. */
export function valuesOf(envelopes: readonly Envelope<Raw>[] | undefined): string[] {
  return (envelopes ?? []).map((env) => env.value as string);
}

/** One read on virtual time: the batch (or null) and the virtual time it was released at. */
export async function readAt(reader: PartitionReader, scheduler: VirtualTimeScheduler): Promise<{ batch: Envelope<Raw>[] | null; at: number }> {
  let at = Number.NaN;
  const pending = reader.read().then((batch) => {
    at = scheduler.now();
    return batch;
  });
  // Run the pacer's timer, if it set one; a batch that is already due resolved without it.
  scheduler.flush();
  const batch = await pending;
  return { batch, at };
}

/** Lets virtual time pass with nothing read, as a reader held back by backpressure would. */
export function idle(scheduler: VirtualTimeScheduler, ms: number): void {
  scheduler.schedule(() => undefined, ms);
  scheduler.flush();
}

/**
 * How far each event's time lags the latest event time seen before it (0 when in order): the
 * out-of-orderness a watermark strategy has to absorb.
 */
export function lags(lines: readonly string[]): number[] {
  let max = Number.NEGATIVE_INFINITY;
  return lines.map((line) => {
    const t = Date.parse((JSON.parse(line) as { ts: string }).ts);
    const lag = Math.max(0, max - t);
    max = Math.max(max, t);
    return lag;
  });
}
