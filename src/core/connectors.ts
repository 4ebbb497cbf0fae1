import type { Envelope, Raw } from './envelope.js';

/**
 * Reads one partition (a file, a Kafka partition, a Kinesis shard) in order.
 *
 * Contract, after Benthos: `read` resolves with the next batch of raw records, or `null` once the
 * partition is at its end (bounded input only); it is never called again after `null` or while a
 * previous call is pending. `close` releases the partition and may be called at any time.
 */
export interface PartitionReader {
  readonly partition: string;
  read(): Promise<Envelope<Raw>[] | null>;
  close(): Promise<void>;
}

/** A source of partitions. `open` fails with a `UserError` when the input cannot be read. */
export interface Source {
  /** Human-readable description for logs, e.g. `file:data/*.jsonl (3 files)`. */
  readonly description: string;
  open(): Promise<PartitionReader[]>;
  close(): Promise<void>;
}

/**
 * A destination for records. `write` resolves only once the records are delivered (written to
 * the file, accepted by the service); that resolution is the acknowledgement checkpoints wait
 * for. Writes are issued one at a time per sink.
 */
export interface Sink<T = unknown> {
  readonly description: string;
  write(records: readonly T[]): Promise<void>;
  close(): Promise<void>;
}
