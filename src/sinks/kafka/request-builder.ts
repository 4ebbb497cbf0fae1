import { ErrorCode, UserError } from '../../core/errors.js';
import { KAFKA_MESSAGE_MAX_BYTES } from './config.js';
import type { EncodedRecord } from './encoder.js';

/**
 * The v2 record batch header (base offset 8, length 4, leader epoch 4, magic 1, CRC 4,
 * attributes 2, last offset delta 4, first and max timestamp 8 + 8, producer id 8, epoch 2, base
 * sequence 4, record count 4), which `message.max.bytes` counts along with the records.
 */
export const RECORD_BATCH_HEADER_BYTES = 61;

/**
 * Limits of one produce request.
 *
 * @example { maxBatchBytes: 1_048_576, maxBatchRecords: 10_000, topic: 'results' }
 * @see buildRequests
 */
export interface RequestLimits {
  /** Bytes of a request, batch header included (see {@link requestBytes}). */
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  /** For the message about a record that cannot be sent. */
  readonly topic: string;
}

/**
 * Splits one write's records into produce requests, in order, each within both limits.
 *
 * A record too large to travel even alone fails the whole write before anything is sent, with
 * a `UserError` naming it. The dead-letter path is for bad *input*: a result is Sluice's own
 * output, so one the topic cannot take means the sink is misconfigured for this pipeline, and
 * dropping it would silently lose a result while checkpoints move past it. Failing the run
 * keeps the checkpoint behind it, so a fixed configuration re-emits it.
 *
 * @example buildRequests(records, { maxBatchBytes: 1_048_576, maxBatchRecords: 500, topic: 't' })
 * @see kafkaRecordEncoder
 */
export function buildRequests(records: readonly EncodedRecord[], limits: RequestLimits): EncodedRecord[][] {
  const requests: EncodedRecord[][] = [];
  let current: EncodedRecord[] = [];
  let bytes = RECORD_BATCH_HEADER_BYTES;
  for (const [index, record] of records.entries()) {
    if (RECORD_BATCH_HEADER_BYTES + record.bytes > limits.maxBatchBytes) throw tooLarge(record, index, limits);
    if (current.length > 0 && (current.length >= limits.maxBatchRecords || bytes + record.bytes > limits.maxBatchBytes)) {
      requests.push(current);
      current = [];
      bytes = RECORD_BATCH_HEADER_BYTES;
    }
    current.push(record);
    bytes += record.bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * A request's size as {@link buildRequests} counts it: the batch header plus each record's
 * framing, key and value — an upper bound of the record batch the producer builds.
 *
 * @example requestBytes([]) // 61
 */
export function requestBytes(records: readonly EncodedRecord[]): number {
  let bytes = RECORD_BATCH_HEADER_BYTES;
  for (const record of records) bytes += record.bytes;
  return bytes;
}

/** How operators and messages name a record: its result id, else its place in the write. */
export function recordName(record: EncodedRecord, index: number): string {
  return record.id === undefined ? `record #${index + 1} of the write` : `result '${record.id}'`;
}

function tooLarge(record: EncodedRecord, index: number, limits: RequestLimits): UserError {
  const size = RECORD_BATCH_HEADER_BYTES + record.bytes;
  return new UserError(
    ErrorCode.UNWRITABLE_OUTPUT,
    `Kafka topic '${limits.topic}': ${recordName(record, index)} is ${size} bytes as a Kafka record, over the sink's limit of ${limits.maxBatchBytes} bytes per request (brokers take ${KAFKA_MESSAGE_MAX_BYTES} by default, message.max.bytes); the run stops rather than drop it`,
  );
}
