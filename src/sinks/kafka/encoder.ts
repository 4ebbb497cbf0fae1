import { compilePath } from '../../core/paths.js';

/**
 * Framing of one record in a v2 record batch, at its largest: length, attributes, timestamp
 * delta (a varlong), offset delta, key length, value length and header count as varints.
 * Counting the maximum keeps the estimate an upper bound, so a request never exceeds its limit.
 */
export const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 1;

/**
 * One result ready for the producer: key and value bytes, plus what error messages name.
 *
 * @see kafkaRecordEncoder
 */
export interface EncodedRecord {
  /** The result's `id` when it has one, for messages about this record. */
  readonly id: string | undefined;
  readonly key: Buffer | null;
  readonly value: Buffer;
  /** Upper bound of the record's size inside a record batch. */
  readonly bytes: number;
}

/**
 * Builds the encoder for a key field. The value is the record's JSON text — byte for byte the
 * line the file sink writes, without its newline — so consumers of the topic and readers of the
 * file see the same thing. No headers: everything a consumer needs is in the value.
 *
 * @example kafkaRecordEncoder('key.page')({ id: 'ab12', key: { page: '/home' } }).key // Buffer '/home'
 * @see encodeKey
 * @see buildRequests
 */
export function kafkaRecordEncoder(keyField: string): (record: unknown) => EncodedRecord {
  const keyOf = compilePath(keyField);
  const idOf = compilePath('id');
  return (record) => {
    const json = JSON.stringify(record) as string | undefined;
    const value = Buffer.from(json ?? 'null');
    const key = encodeKey(keyOf(record));
    const id = idOf(record);
    return { id: typeof id === 'string' ? id : undefined, key, value, bytes: RECORD_OVERHEAD_BYTES + value.length + (key?.length ?? 0) };
  };
}

/**
 * The key bytes for a field value: a string as its UTF-8 text (so `?key=key.page` gives `/home`,
 * as a Java consumer expects), anything else as its JSON text, and a missing or null field as no
 * key — the producer then spreads such records over the partitions instead of failing the run,
 * which suits dead letters and other records without the field.
 *
 * @example encodeKey(42) // Buffer '42'
 * @see kafkaRecordEncoder
 */
export function encodeKey(value: unknown): Buffer | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return Buffer.from(value);
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? null : Buffer.from(json);
}
