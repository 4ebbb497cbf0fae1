import { isUtf8 } from 'node:buffer';
import type { IHeaders } from 'kafkajs';
import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Position, type Raw, type RecordMeta } from '../../core/envelope.js';

const EMPTY = new Uint8Array(0);

/**
 * Most records a read hands over at once. kafkajs decodes a whole fetch (up to 1 MiB, thousands
 * of records, per partition) before the pipeline sees it; handing it over in slices keeps each
 * slice's envelopes and parsed values short-lived, so they die in the young generation instead of
 * being copied by every scavenge that happens while the whole fetch is being processed.
 */
export const KAFKA_READ_BATCH = 512;

/**
 * One Kafka record as kafkajs decodes it (the fields of its `KafkaMessage` the source reads), so
 * fetched messages are handed on as they are, without a copy per record.
 */
export interface KafkaRecord {
  readonly offset: string;
  readonly value: Buffer | null;
  readonly key?: Buffer | null;
  /** Epoch ms as kafkajs gives it: a decimal string. */
  readonly timestamp: string;
  readonly headers?: IHeaders;
}

/**
 * A Kafka record's {@link RecordMeta}, decoded when read: the key's text and the headers are only
 * needed by `sluice record`, dead letters and the arrival-time fallback, not by most records.
 */
class KafkaRecordMeta implements RecordMeta {
  constructor(private readonly record: KafkaRecord) {}

  get key(): string | null {
    return textOf(this.record.key);
  }

  get headers(): Readonly<Record<string, string>> {
    return headersOf(this.record.headers);
  }

  get timestamp(): number {
    return Number(this.record.timestamp);
  }
}

/**
 * One assigned Kafka partition as a {@link PartitionReader}. The consumer offers each fetched
 * batch and waits until `read` takes it — so a partition whose pipeline is busy is not fetched
 * again (backpressure without pausing), and a batch fetched twice after a rebalance is dropped
 * by offset instead of being read twice. A fetch is read in slices of at most `maxBatch` records.
 */
export class KafkaPartitionReader implements PartitionReader {
  readonly partition: string;
  /** Offset of the next record the pipeline has not seen. */
  private next: bigint;
  /**
   * Offered fetches, oldest first: `from` is the first record not read yet, `at` since when the
   * rest has waited (the offer, then the last slice read).
   */
  private queue: { readonly records: readonly KafkaRecord[]; from: number; taken: (() => void) | undefined; at: number }[] = [];
  /** The partition's high watermark in the latest fetch: the offset its next record will get. */
  private logEnd: bigint | undefined;
  private waiting: { resolve: (value: Envelope<Raw>[] | null) => void; reject: (err: unknown) => void } | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(
    readonly topic: string,
    readonly kafkaPartition: number,
    /** Offset to start from (after a checkpoint's position), or undefined: whatever comes first. */
    startOffset: bigint | undefined,
    private readonly commitOffset: (offset: string) => Promise<void>,
    /** Wall clock for {@link backlog}'s `waitingSince`. */
    private readonly now: () => number = Date.now,
    private readonly maxBatch: number = KAFKA_READ_BATCH,
  ) {
    this.partition = `${topic}/${kafkaPartition}`;
    this.next = startOffset ?? -1n;
  }

  /**
   * Hands a fetched batch over; resolves once `read` has taken its first slice (or the reader
   * closed), so the consumer fetches the next while this one is read.
   * `highWatermark` is the fetch's (the offset of the partition's next record), for {@link backlog}.
   */
  offer(records: readonly KafkaRecord[], highWatermark?: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (highWatermark !== undefined && /^\d+$/.test(highWatermark)) {
      const end = BigInt(highWatermark);
      if (this.logEnd === undefined || end > this.logEnd) this.logEnd = end;
    }
    return new Promise((taken) => {
      this.queue.push({ records, from: 0, taken, at: this.now() });
      this.deliver();
    });
  }

  /**
   * The consumer lag of this partition as of its latest fetch — records between the last one
   * read and the high watermark, fetched or not (undefined before the first fetch) — and since
   * when fetched records have been waiting for the pipeline to take them. Costs no request: the high
   * watermark comes with every fetch. It is only as fresh as the latest non-empty fetch, and a
   * transaction marker at the end of the log counts as one record.
   */
  backlog(): { readonly records: number | undefined; readonly waitingSince: number | undefined } {
    const first = this.queue[0];
    const unread = first?.records[first.from];
    const from = this.next >= 0n ? this.next : unread === undefined ? undefined : BigInt(unread.offset);
    const records = this.logEnd === undefined || from === undefined ? undefined : this.logEnd > from ? Number(this.logEnd - from) : 0;
    return { records, waitingSince: first?.at };
  }

  read(): Promise<Envelope<Raw>[] | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** A checkpoint covering `position` is durable: the group's committed offset may follow it. */
  async commit(position: Position): Promise<void> {
    const offset = position['offset'];
    if (typeof offset === 'string') await this.commitOffset(offset);
  }

  /** The consumer died: the pending and every later read fail with `error`, ending the run. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting?.resolve(null);
    this.waiting = undefined;
    for (const entry of this.queue.splice(0)) entry.taken?.();
  }

  private deliver(): void {
    while (this.waiting !== undefined && this.queue.length > 0) {
      const entry = this.queue[0] as (typeof this.queue)[number];
      const records = entry.records;
      if (entry.taken !== undefined) {
        entry.taken();
        entry.taken = undefined;
        // offsets only grow within a fetch: per-record checks only when it starts before `next`
        // (fetched again after a rebalance)
        if (this.next >= 0n && records.length > 0 && BigInt((records[0] as KafkaRecord).offset) < this.next) {
          while (entry.from < records.length && BigInt((records[entry.from] as KafkaRecord).offset) < this.next) entry.from++;
        }
      }
      const from = entry.from;
      const to = Math.min(records.length, from + this.maxBatch);
      entry.from = to;
      if (to === records.length) this.queue.shift();
      else entry.at = this.now();
      if (to === from) continue;
      const events: Envelope<Raw>[] = new Array(to - from);
      for (let i = from; i < to; i++) {
        const record = records[i] as KafkaRecord;
        const position: Position = { partition: this.kafkaPartition, offset: record.offset };
        const raw = record.value ?? EMPTY;
        events[i - from] = envelope<Raw>(raw, this.partition, position, raw, new KafkaRecordMeta(record));
      }
      this.next = BigInt((records[to - 1] as KafkaRecord).offset) + 1n;
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(events);
    }
  }
}

/** A Kafka key or header value as text: UTF-8, or `base64:…` when the bytes are not text. */
function textOf(bytes: Buffer | string | null | undefined): string | null {
  if (bytes === null || bytes === undefined) return null;
  if (typeof bytes === 'string') return bytes;
  return isUtf8(bytes) ? bytes.toString('utf8') : 'base64:' + bytes.toString('base64');
}

/** Shared by every record without headers (most of them): never written to. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A record's headers as text, the first value of a repeated header. */
function headersOf(headers: IHeaders | undefined): Record<string, string> {
  if (headers === undefined) return NO_HEADERS;
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    const value = headers[name];
    out ??= {};
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) continue;
    out[name] = textOf(first) ?? '';
  }
  return out ?? NO_HEADERS;
}
