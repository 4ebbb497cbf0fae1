/**
 * Encodes one result as the bytes Firehose receives: its JSON text and a newline, byte for byte
 * the line the file sink writes. Firehose concatenates records into S3 objects without
 * separators, so the newline is what turns an object into newline-delimited JSON that Athena,
 * Redshift COPY (`FORMAT JSON 'auto'`) and Glue read line by line. A value JSON cannot represent
 * (`undefined`) is written as `null`, so every result is still one line.
 *
 * @example encodeResultLine({ id: 'ab12', count: 3 }).toString() // '{"id":"ab12","count":3}\n'
 * @see toFirehoseRecords
 */
export function encodeResultLine(record: unknown): Buffer {
  const json = JSON.stringify(record) as string | undefined;
  return Buffer.from(json === undefined ? 'null\n' : `${json}\n`);
}

/** A result's `id` when it has one, for messages about it. */
export function resultId(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || !Object.hasOwn(record, 'id')) return undefined;
  const id = (record as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}
