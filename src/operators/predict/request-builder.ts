/**
 * Packs encoded records into InvokeEndpoint calls: consecutive records, at most `batchSize` per
 * call and at most `maxPayloadBytes` of body. A record too large to go even alone is set aside,
 * never sent.
 *
 * @module
 */

/** One InvokeEndpoint request: which records (indices into the batch) and its body. */
export interface Call {
  readonly indices: readonly number[];
  readonly body: string;
  readonly bytes: number;
}

/** The calls for a batch, and the records too large to send. */
export interface Plan {
  readonly calls: readonly Call[];
  /** Index and encoded size of each record over the payload limit on its own. */
  readonly oversize: readonly { readonly index: number; readonly bytes: number }[];
}

/**
 * Groups encoded records (undefined: nothing to send for that event) into calls, in order.
 *
 * @example buildCalls(['1\n', '2\n', '3\n'], { batchSize: 2, maxPayloadBytes: 1024 }).calls.map((c) => c.indices) // [[0, 1], [2]]
 * @see Call
 */
export function buildCalls(records: readonly (string | undefined)[], limits: { readonly batchSize: number; readonly maxPayloadBytes: number }): Plan {
  const calls: Call[] = [];
  const oversize: { index: number; bytes: number }[] = [];
  let indices: number[] = [];
  let parts: string[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (indices.length > 0) calls.push({ indices, body: parts.join(''), bytes });
    indices = [];
    parts = [];
    bytes = 0;
  };
  records.forEach((record, index) => {
    if (record === undefined) return;
    const size = Buffer.byteLength(record, 'utf8');
    if (size > limits.maxPayloadBytes) {
      oversize.push({ index, bytes: size });
      return;
    }
    if (indices.length >= limits.batchSize || bytes + size > limits.maxPayloadBytes) flush();
    indices.push(index);
    parts.push(record);
    bytes += size;
  });
  flush();
  return { calls, oversize };
}
