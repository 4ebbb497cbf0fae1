import type { PartitionReader, Source } from '../../core/connectors.js';
import type { Envelope, Position, Raw } from '../../core/envelope.js';
import type { KafkaEndpoint } from '../../kafka/endpoint.js';
import { KafkaPartitionReader, type KafkaRecord } from './reader.js';
import { KafkaRangeService, type OffsetRange } from './service.js';

export type { OffsetRange } from './service.js';

/**
 * A bounded Kafka source for backfills: every partition is read from the offset of `start` to the
 * offset of `end` (exclusive) and then ends, so its final watermark fires every window. Resumes
 * from checkpoints by offset, as the group source does; commits nothing to the group.
 *
 * @example const source = kafkaRangeSource(endpoint, await kafkaOffsetRanges(endpoint, start, end))
 * @see kafkaSource
 */
export function kafkaRangeSource(endpoint: KafkaEndpoint, ranges: readonly OffsetRange[]): Source {
  const service = new KafkaRangeService(endpoint);
  const readers = new Map<number, BoundedReader>();
  return {
    description: endpoint.url,
    async open(resume?: ReadonlyMap<string, Position>) {
      const starts = new Map<number, string>();
      for (const range of ranges) {
        const at = resume?.get(`${endpoint.topic}/${range.partition}`)?.['offset'];
        const from = typeof at === 'string' ? (BigInt(at) + 1n).toString() : range.from;
        starts.set(range.partition, from);
        readers.set(range.partition, new BoundedReader(new KafkaPartitionReader(endpoint.topic, range.partition, BigInt(from), async () => undefined), BigInt(from), BigInt(range.to)));
      }
      const open = [...readers.values()];
      // partitions with nothing in range end at once; the others are fetched
      const reading = new Map([...starts].filter(([p]) => !(readers.get(p) as BoundedReader).ended));
      if (reading.size > 0) {
        await service.run(
          reading,
          (partition, records: readonly KafkaRecord[]) => readers.get(partition)?.offer(records) ?? Promise.resolve(),
          (err) => {
            for (const reader of readers.values()) reader.inner.fail(err);
          },
        );
      }
      return open;
    },
    async close() {
      await Promise.all([...readers.values()].map((r) => r.close()));
      await service.disconnect();
    },
  };
}

/** Each partition's offsets `[from, to)` for the time range; null ends are the log's ends. */
export async function kafkaOffsetRanges(endpoint: KafkaEndpoint, start: number | null, end: number | null): Promise<OffsetRange[]> {
  return new KafkaRangeService(endpoint).ranges(start, end);
}

/** A partition reader that ends once it handed over the record before `to` (exported for tests). */
export class BoundedReader implements PartitionReader {
  readonly partition: string;
  /** The last offset before the end, once a fetch showed where the range stops. */
  private lastInRange: bigint | undefined;
  constructor(
    readonly inner: KafkaPartitionReader,
    private next: bigint,
    private readonly to: bigint,
  ) {
    this.partition = inner.partition;
  }

  get ended(): boolean {
    return this.next >= this.to;
  }

  offer(records: readonly KafkaRecord[]): Promise<void> {
    const inRange = records.filter((r) => BigInt(r.offset) < this.to);
    // a record at or past the end: the range is complete even when its last offsets hold no
    // record (compaction, transaction markers), so the partition must not wait for them
    if (inRange.length < records.length) {
      if (inRange.length === 0) {
        this.next = this.to;
        return this.inner.close();
      }
      this.lastInRange = BigInt((inRange[inRange.length - 1] as KafkaRecord).offset);
    }
    return inRange.length === 0 ? Promise.resolve() : this.inner.offer(inRange);
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    if (this.ended) return null;
    const batch = await this.inner.read();
    const last = batch?.at(-1)?.position['offset'];
    if (typeof last === 'string') this.next = BigInt(last) + 1n;
    if (this.lastInRange !== undefined && this.next > this.lastInRange) this.next = this.to;
    return batch;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
