import type { PartitionReader, Source } from '../../core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../core/envelope.js';
import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * Options of {@link memorySource}.
 *
 * @example { partitions: { p0: ['{"a":1}'] }, batchSizes: () => [1, 3] }
 * @see memorySource
 */
export interface MemorySourceOptions {
  /** Lines per partition id, in order. Every line is a record, blank or not. */
  readonly partitions: Readonly<Record<string, readonly string[]>>;
  /** Batch sizes per partition, used cyclically; default: the whole partition in one batch. */
  readonly batchSizes?: ((partition: string) => readonly number[]) | undefined;
  /** Hand records over as their UTF-8 bytes (as Kafka, Kinesis and S3 do) instead of strings. */
  readonly bytes?: boolean | undefined;
}

/**
 * An in-memory source for tests: each partition yields its lines as envelopes at `{ line: N }`
 * (1-based), in batches whose sizes follow `batchSizes` cyclically, so property tests can show
 * that results do not depend on batch boundaries.
 *
 * @example
 * const source = memorySource({ partitions: { a: ['x', 'y', 'z'] }, batchSizes: () => [2] });
 * const [reader] = await source.open(); // reads ['x', 'y'], then ['z'], then null
 * @see fileSource
 */
export function memorySource(options: MemorySourceOptions): Source {
  const names = Object.keys(options.partitions);
  const readers: MemoryReader[] = [];
  return {
    description: `memory: (${names.length} ${names.length === 1 ? 'partition' : 'partitions'})`,
    open: async (resume) => {
      const opened = names.map((name) => {
        const sizes = options.batchSizes?.(name);
        const after = resume?.get(name)?.['line'];
        const reader = new MemoryReader(name, options.partitions[name] ?? [], sizes === undefined ? undefined : checkSizes(name, sizes), options.bytes === true);
        // a checkpoint's position is the 1-based line of the last record it covers
        if (typeof after === 'number') reader.skip(after);
        return reader;
      });
      readers.push(...opened);
      return opened;
    },
    close: async () => {
      await Promise.all(readers.splice(0).map((reader) => reader.close()));
    },
  };
}

function checkSizes(partition: string, sizes: readonly number[]): readonly number[] {
  if (sizes.length === 0 || !sizes.every((size) => Number.isSafeInteger(size) && size > 0)) {
    throw new UserError(ErrorCode.BAD_OPTION, `batch sizes of partition '${partition}' must be positive integers, got [${sizes.join(', ')}]`);
  }
  return sizes;
}

class MemoryReader implements PartitionReader {
  private next = 0;
  private batch = 0;
  private closed = false;

  constructor(
    readonly partition: string,
    private readonly lines: readonly string[],
    private readonly sizes: readonly number[] | undefined,
    private readonly bytes: boolean,
  ) {}

  read(): Promise<Envelope<Raw>[] | null> {
    if (this.closed || this.next >= this.lines.length) return Promise.resolve(null);
    const size = this.sizes === undefined ? this.lines.length : (this.sizes[this.batch++ % this.sizes.length] ?? 1);
    const end = Math.min(this.lines.length, this.next + size);
    const out: Envelope<Raw>[] = [];
    for (let i = this.next; i < end; i++) {
      const line = this.lines[i] ?? '';
      const raw = this.bytes ? Buffer.from(line) : line;
      out.push(envelope<Raw>(raw, this.partition, { line: i + 1 }, raw));
    }
    this.next = end;
    return Promise.resolve(out);
  }

  /** Starts after the first `lines` lines (resuming from a checkpoint). */
  skip(lines: number): void {
    this.next = Math.min(lines, this.lines.length);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
