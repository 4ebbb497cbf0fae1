import type { EncodedDocument } from './encoder.js';

/**
 * Limits of one `_bulk` request.
 *
 * @example { maxBatchBytes: 5 * 1024 * 1024, maxBatchRecords: 10_000 }
 * @see buildBulkRequests
 */
export interface BulkLimits {
  /** Bytes of the request body (both lines of every action). */
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
}

/**
 * Splits documents into `_bulk` requests, in order, each within both limits. A document larger
 * than `maxBatchBytes` by itself travels alone rather than failing here: the limit is the sink's
 * guess, and only the cluster knows what it takes (it answers 413 when it does not).
 *
 * @example buildBulkRequests(docs, { maxBatchBytes: 5 * 1024 * 1024, maxBatchRecords: 10_000 })
 * @see splitInHalf
 */
export function buildBulkRequests(docs: readonly EncodedDocument[], limits: BulkLimits): EncodedDocument[][] {
  const requests: EncodedDocument[][] = [];
  let current: EncodedDocument[] = [];
  let bytes = 0;
  for (const doc of docs) {
    if (current.length > 0 && (current.length >= limits.maxBatchRecords || bytes + doc.bytes > limits.maxBatchBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(doc);
    bytes += doc.bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * Two requests of about half the bytes each, for a request the cluster refused as too large (413).
 * Both halves are non-empty; `docs` must hold at least two documents.
 *
 * @example splitInHalf([a, b, c]) // [[a, b], [c]] when a and b are small and c is large
 */
export function splitInHalf(docs: readonly EncodedDocument[]): [EncodedDocument[], EncodedDocument[]] {
  const half = requestBytes(docs) / 2;
  let bytes = 0;
  let cut = 1;
  for (; cut < docs.length - 1; cut++) {
    bytes += (docs[cut - 1] as EncodedDocument).bytes;
    if (bytes + (docs[cut] as EncodedDocument).bytes / 2 > half) break;
  }
  return [docs.slice(0, cut), docs.slice(cut)];
}

/**
 * The request body of `docs`: their NDJSON lines, which end in a newline as `_bulk` requires.
 *
 * @example await service.bulk(bulkBody(request))
 */
export function bulkBody(docs: readonly EncodedDocument[]): string {
  return docs.map((doc) => doc.text).join('');
}

/**
 * Bytes of the request body of `docs`.
 *
 * @example requestBytes(request) <= limits.maxBatchBytes // true for every request but a lone oversize document
 */
export function requestBytes(docs: readonly EncodedDocument[]): number {
  let bytes = 0;
  for (const doc of docs) bytes += doc.bytes;
  return bytes;
}

/**
 * Keeps, of documents with the same index and `_id`, only the last one: within a write a later
 * revision of a window supersedes an earlier one, and sending both could let a retried earlier
 * revision overwrite the later one. Documents without an `_id` are all kept. Order is otherwise kept.
 *
 * @example latestPerDocument([rev0, other, rev1]) // [other, rev1]
 */
export function latestPerDocument(docs: readonly EncodedDocument[]): EncodedDocument[] {
  const last = new Map<string, number>();
  docs.forEach((doc, i) => {
    if (doc.id !== undefined) last.set(`${doc.index}\n${doc.id}`, i);
  });
  if (last.size === docs.length) return [...docs];
  return docs.filter((doc, i) => doc.id === undefined || last.get(`${doc.index}\n${doc.id}`) === i);
}

/**
 * How messages name a document: its result id, else its index.
 *
 * @example documentName(doc) // "result 'c9c3…'"
 */
export function documentName(doc: EncodedDocument): string {
  return doc.id === undefined ? `a document for index '${doc.index}'` : `result '${doc.id}'`;
}
