import { FIREHOSE_BILLING_INCREMENT_BYTES } from './config.js';

/**
 * One Firehose record: its bytes, which results of the write it carries, and what those results
 * would be billed for if each travelled alone.
 *
 * @see toFirehoseRecords
 */
export interface FirehoseRecord {
  readonly data: Buffer;
  /** Indices into the write's records, in order: one without packing, one or more with it. */
  readonly results: readonly number[];
  /** {@link billedBytes} of each result's line as a record of its own, summed. */
  readonly unpackedBilledBytes: number;
}

/**
 * One encoded result line and its place in the write.
 *
 * @see toFirehoseRecords
 */
export interface EncodedLine {
  readonly index: number;
  readonly line: Buffer;
}

/**
 * Turns result lines into Firehose records, in order. Without packing each line is a record.
 * With packing, consecutive lines share a record up to `maxRecordBytes`: Firehose writes records
 * to S3 back to back, so the objects hold the same lines either way, but each record is billed
 * rounded up to 5 KB, and a 200-byte result alone costs as much as 25 of them packed.
 * Every line must already fit in `maxRecordBytes` (longer ones are rejected before this).
 *
 * @example toFirehoseRecords(lines, { pack: true, maxRecordBytes: 1_024_000 })
 * @see buildRequests
 */
export function toFirehoseRecords(lines: readonly EncodedLine[], options: { pack: boolean; maxRecordBytes: number }): FirehoseRecord[] {
  if (!options.pack) return lines.map(({ index, line }) => ({ data: line, results: [index], unpackedBilledBytes: billedBytes(line.length) }));
  const records: FirehoseRecord[] = [];
  let parts: Buffer[] = [];
  let results: number[] = [];
  let bytes = 0;
  let unpacked = 0;
  const flush = (): void => {
    if (parts.length === 0) return;
    records.push({ data: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes), results, unpackedBilledBytes: unpacked });
    parts = [];
    results = [];
    bytes = 0;
    unpacked = 0;
  };
  for (const { index, line } of lines) {
    if (bytes + line.length > options.maxRecordBytes) flush();
    parts.push(line);
    results.push(index);
    bytes += line.length;
    unpacked += billedBytes(line.length);
  }
  flush();
  return records;
}

/**
 * Limits of one PutRecordBatch call.
 *
 * @see buildRequests
 */
export interface RequestLimits {
  readonly maxBatchRecords: number;
  /** Sum of the records' data bytes (before base64). */
  readonly maxBatchBytes: number;
}

/**
 * Splits Firehose records into PutRecordBatch calls, in order, each within both limits. A record
 * is never larger than `maxBatchBytes` (the config keeps the record limit under it).
 *
 * @example buildRequests(records, { maxBatchRecords: 500, maxBatchBytes: 4 * 1024 * 1024 })
 * @see toFirehoseRecords
 */
export function buildRequests(records: readonly FirehoseRecord[], limits: RequestLimits): FirehoseRecord[][] {
  const requests: FirehoseRecord[][] = [];
  let current: FirehoseRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length > 0 && (current.length >= limits.maxBatchRecords || bytes + record.data.length > limits.maxBatchBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.data.length;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * What Firehose bills for a record of `bytes`: rounded up to the next
 * {@link FIREHOSE_BILLING_INCREMENT_BYTES}.
 *
 * @example billedBytes(300) // 5120
 */
export function billedBytes(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / FIREHOSE_BILLING_INCREMENT_BYTES)) * FIREHOSE_BILLING_INCREMENT_BYTES;
}
