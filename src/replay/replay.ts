/**
 * The replay loop: reads a capture pass after pass, waits until each record is due, and hands the
 * records to a target in batches, one batch at a time.
 *
 * @module
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { CaptureRecord } from './capture-format.js';
import { DueTimes, sleep, type Pace } from './pacing.js';

/**
 * Where replayed records go (a Kafka topic in `sluice replay`, an array in tests).
 *
 * @see openKafkaTarget
 */
export interface ReplayTarget {
  /** Delivers records in order; resolves once all of them are acknowledged. Never called concurrently. */
  send(records: readonly CaptureRecord[]): Promise<void>;
}

/** Options of {@link replayCapture}. */
export interface ReplayOptions {
  /** One pass over the capture, from its first record; called again for each `loop` pass. */
  readonly capture: () => AsyncIterable<CaptureRecord>;
  readonly target: ReplayTarget;
  readonly pace: Pace;
  /** Start over at the end of the capture, until `signal` aborts. */
  readonly loop?: boolean | undefined;
  /** The clock pacing reads (virtual in tests); default the real one. */
  readonly scheduler?: SchedulerLike | undefined;
  /** Graceful stop: records already due are delivered, then the replay resolves. */
  readonly signal?: AbortSignal | undefined;
  /** Most records per `send` (default {@link DEFAULT_BATCH_RECORDS}). */
  readonly maxBatchRecords?: number | undefined;
  /** Most value, key and header bytes per `send` (default {@link DEFAULT_BATCH_BYTES}). */
  readonly maxBatchBytes?: number | undefined;
}

/** What a replay did. */
export interface ReplaySummary {
  /** Records delivered (acknowledged by the target). */
  readonly records: number;
  /** Passes over the capture begun (1 without `loop`). */
  readonly passes: number;
  /** True when `signal` ended it. */
  readonly stopped: boolean;
}

/** Records per send: large enough to amortise a round trip to the broker, small enough to pace. */
export const DEFAULT_BATCH_RECORDS = 1000;
/**
 * Half of Kafka's default `message.max.bytes` (1 MiB): a batch per partition never exceeds what a
 * broker with default settings accepts, whatever the overhead of headers and framing.
 * https://kafka.apache.org/documentation/#brokerconfigs_message.max.bytes
 */
export const DEFAULT_BATCH_BYTES = 512 * 1024;

/**
 * Replays a capture into a target with its captured timing (or as `pace` says). Records go out
 * in capture order, each batch only after the previous one was acknowledged, so per-partition
 * (and per-key) order is the capture's.
 *
 * @example
 * await replayCapture({ capture: () => readCapture('c.jsonl'), target, pace: { kind: 'speed', factor: 1 } });
 * @see DueTimes
 * @see readCapture
 */
export async function replayCapture(options: ReplayOptions): Promise<ReplaySummary> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const { signal, target } = options;
  const maxRecords = options.maxBatchRecords ?? DEFAULT_BATCH_RECORDS;
  const maxBytes = options.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
  const due = new DueTimes(options.pace);
  let delivered = 0;
  let passes = 0;
  let batch: CaptureRecord[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    bytes = 0;
    await target.send(out);
    delivered += out.length;
  };
  const stopped = (): boolean => signal?.aborted === true;

  while (!stopped()) {
    passes++;
    due.startPass(scheduler.now());
    let records = 0;
    for await (const record of options.capture()) {
      const at = due.next(record.timestamp);
      if (at > scheduler.now()) {
        // what is due goes out before the wait, not after it
        await flush();
        const wait = at - scheduler.now();
        if (wait > 0) await sleep(scheduler, wait, signal);
      }
      if (stopped()) break;
      const size = sizeOf(record);
      if (batch.length > 0 && bytes + size > maxBytes) await flush();
      batch.push(record);
      bytes += size;
      records++;
      if (batch.length >= maxRecords) await flush();
    }
    await flush();
    // an empty capture would loop without end and without ever waiting
    if (options.loop !== true || records === 0) break;
  }
  return { records: delivered, passes, stopped: stopped() };
}

/** A record's payload bytes, near enough for batch limits (base64 counts as its decoded size). */
function sizeOf(record: CaptureRecord): number {
  const { value, key, headers } = record;
  let size = value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : (value.base64.length * 3) / 4;
  size += key === null ? 0 : Buffer.byteLength(key);
  for (const name in headers) size += Buffer.byteLength(name) + Buffer.byteLength(headers[name] ?? '');
  return size;
}
