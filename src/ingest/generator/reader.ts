import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../core/envelope.js';
import type { Pacer } from './pacer.js';
import type { PartitionGenerator } from './partition.js';

/**
 * Reads one generated partition: batches of up to `batchSize` events, whose value and raw are
 * the JSON line (as the file source gives them, so pipelines start with `parseJson`), at
 * `{ seq, state }`. With a pacer, each batch is released only when it is due; `close()` ends a
 * pending read with `null` at once. Bounded partitions end with `null` after `limit` events.
 *
 * @example const reader = new GeneratorReader(PartitionGenerator.start(config, 0), { batchSize: 500, limit: 1000, pacer: undefined })
 * @see generatorSource
 * @see Pacer
 */
export class GeneratorReader implements PartitionReader {
  readonly partition: string;
  private readonly batchSize: number;
  private readonly limit: number;
  private readonly pacer: Pacer | undefined;
  private closed = false;

  constructor(
    private readonly generator: PartitionGenerator,
    options: { readonly batchSize: number; readonly limit: number; readonly pacer: Pacer | undefined },
  ) {
    this.partition = generator.id;
    this.batchSize = options.batchSize;
    this.limit = options.limit;
    this.pacer = options.pacer;
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    const n = Math.min(this.batchSize, this.limit - this.generator.count);
    if (this.closed || n <= 0) return null;
    // Generate after the wait, not before: a batch that close() cancels costs nothing.
    if (this.pacer !== undefined && !(await this.pacer.take(n))) return null;
    if (this.closed) return null;
    const { generator, partition } = this;
    const batch: Envelope<Raw>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const { line, position } = generator.next();
      batch[i] = envelope<Raw>(line, partition, position, line);
    }
    return batch;
  }

  close(): Promise<void> {
    this.closed = true;
    this.pacer?.cancel();
    return Promise.resolve();
  }
}
