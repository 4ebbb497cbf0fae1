import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import { compilePath } from '../../core/paths.js';
import { encodeResultLine } from '../firehose/encoder.js';
import { KINESIS_MAX_PARTITION_KEY_LENGTH } from './config.js';

export { encodeResultLine, resultId } from '../firehose/encoder.js';

const stable = configure({ bigint: true, circularValue: Error, deterministic: true });

/**
 * One Kinesis user record: the partition key that picks its shard and its bytes.
 *
 * @see kinesisEncoder
 */
export interface KinesisEntry {
  readonly partitionKey: string;
  readonly data: Buffer;
}

/**
 * Builds the encoder of results into Kinesis user records. The data is the result's JSON line
 * with its newline, byte for byte what the file and Firehose sinks write, so a consumer that
 * concatenates records gets newline-delimited JSON. The partition key is:
 *
 * - with `?key=FIELD`, that field's value;
 * - else the result's `key` (window results are keyed), so all results of a key go to one shard,
 *   in order;
 * - else (no such field, or null) the result's `id`, else a hash of the line.
 *
 * A string is used as it is, anything else as its canonical JSON (sorted object keys), so equal
 * keys always give equal partition keys ({@link partitionKeyOf}).
 *
 * @example kinesisEncoder(undefined)({ id: 'ab12', key: { page: '/' } }).partitionKey // '{"page":"/"}'
 * @see partitionKeyOf
 */
export function kinesisEncoder(keyField: string | undefined): (record: unknown) => KinesisEntry {
  const keyOf = compilePath(keyField ?? 'key');
  const idOf = compilePath('id');
  return (record) => {
    const data = encodeResultLine(record);
    const partitionKey = partitionKeyOf(keyOf(record)) ?? partitionKeyOf(idOf(record)) ?? md5(data);
    return { partitionKey, data };
  };
}

/**
 * The partition key for a key value: a string as it is, anything else as canonical JSON;
 * `undefined` for a missing or null value and the empty string (Kinesis needs at least one
 * character). A key over 256 characters becomes the hex MD5 of its text: still deterministic, so
 * one key still goes to one shard.
 *
 * @example partitionKeyOf({ b: 1, a: 2 }) // '{"a":2,"b":1}'
 * @see fitPartitionKey
 */
export function partitionKeyOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : (stable(value) ?? undefined);
  return text === undefined || text === '' ? undefined : fitPartitionKey(text);
}

/**
 * `text` when it is a valid partition key length, else its hex MD5 (Kinesis hashes partition keys
 * with MD5 anyway; this only keeps long keys within the limit).
 *
 * @example fitPartitionKey('x'.repeat(300)).length // 32
 */
export function fitPartitionKey(text: string): string {
  return text.length <= KINESIS_MAX_PARTITION_KEY_LENGTH ? text : md5(Buffer.from(text, 'utf8'));
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}
