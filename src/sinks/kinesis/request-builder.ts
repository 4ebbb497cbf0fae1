import { recordBytes, type KinesisRecord } from './aggregate.js';

export { toKinesisRecords, type AggregationOptions, type IndexedEntry, type KinesisRecord, type ShardOf } from './aggregate.js';

/**
 * Limits of one PutRecords call.
 *
 * @see buildRequests
 */
export interface RequestLimits {
  readonly maxBatchRecords: number;
  /** Sum of the records' data (before base64) and partition keys. */
  readonly maxBatchBytes: number;
}

/**
 * Splits Kinesis records into PutRecords calls, in order, each within both limits. A record is
 * never larger than `maxBatchBytes` (the config keeps the record limit under it).
 *
 * @example buildRequests(records, { maxBatchRecords: 500, maxBatchBytes: 5 * 1024 * 1024 })
 * @see toKinesisRecords
 */
export function buildRequests(records: readonly KinesisRecord[], limits: RequestLimits): KinesisRecord[][] {
  const requests: KinesisRecord[][] = [];
  let current: KinesisRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (current.length > 0 && (current.length >= limits.maxBatchRecords || bytes + size > limits.maxBatchBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
