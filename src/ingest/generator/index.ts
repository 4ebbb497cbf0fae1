import type { PartitionReader, Source } from '../../core/connectors.js';
import type { Position } from '../../core/envelope.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { generatorConfig, partitionEvents, type GeneratorConfig, type GeneratorOptions } from './config.js';
import { Pacer } from './pacer.js';
import { PartitionGenerator, partitionId } from './partition.js';
import { GeneratorReader } from './reader.js';

export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_START_TIME,
  MAX_DELAY_LIMIT,
  MAX_PARTITIONS,
  WORKLOADS,
  generatorConfig,
  partitionEvents,
  type GeneratorConfig,
  type GeneratorOptions,
  type Workload,
} from './config.js';
export { LATE_SPAN_MS, MEAN_GAP_MS, SNAPSHOT_EVERY, PartitionGenerator, partitionId, type GeneratedEvent } from './partition.js';
export { GeneratorReader } from './reader.js';
export { Pacer } from './pacer.js';

/**
 * The source behind `generator:clickstream` and `generator:telemetry`: synthetic JSON Lines
 * events from a seeded model, in partitions `gen-0`, `gen-1`, …, reproducible byte for byte
 * whatever the rate and batch size, and resumable from any event's position without replaying
 * the partition. Bad options throw `UserError(BAD_OPTION)` here, before anything runs.
 *
 * @example
 * const source = generatorSource({ workload: 'telemetry', partitions: 4, rate: 1000, events: 60_000 });
 * for (const reader of await source.open()) console.log(reader.partition); // gen-0 … gen-3
 * @see fileSource
 * @see memorySource
 */
export function generatorSource(options: GeneratorOptions): Source {
  return new GeneratorSource(generatorConfig(options));
}

class GeneratorSource implements Source {
  readonly description: string;
  private readonly readers: PartitionReader[] = [];

  constructor(private readonly config: GeneratorConfig) {
    const { workload, partitions, seed, rate, events } = config;
    const details = [`${partitions} ${partitions === 1 ? 'partition' : 'partitions'}`, `seed ${seed}`];
    if (rate > 0) details.push(`${rate} events/s`);
    if (events !== undefined) details.push(`${events} events`);
    this.description = `generator:${workload} (${details.join(', ')})`;
  }

  async open(resume?: ReadonlyMap<string, Position>): Promise<PartitionReader[]> {
    const { config } = this;
    const ids = Array.from({ length: config.partitions }, (_, i) => partitionId(i));
    for (const id of resume?.keys() ?? []) {
      // A checkpoint from a run with more partitions would otherwise lose those quietly.
      if (!ids.includes(id)) {
        throw new UserError(ErrorCode.BAD_OPTION, `cannot resume generator partition '${id}': this generator has ${config.partitions} (gen-0 … gen-${config.partitions - 1})`);
      }
    }
    const readers = ids.map((id, index) => {
      const position = resume?.get(id);
      const generator = position === undefined ? PartitionGenerator.start(config, index) : PartitionGenerator.resume(config, index, position);
      // Each partition gets its share of the rate, so partitions stay level with each other.
      const pacer = config.rate > 0 ? new Pacer({ scheduler: config.scheduler, eventsPerSecond: config.rate / config.partitions, capacity: config.batchSize }) : undefined;
      return new GeneratorReader(generator, { batchSize: config.batchSize, limit: partitionEvents(config, index), pacer });
    });
    this.readers.push(...readers);
    return readers;
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.splice(0).map((reader) => reader.close()));
  }
}
