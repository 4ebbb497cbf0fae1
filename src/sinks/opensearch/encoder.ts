import type { SinkRejection } from '../../core/connectors.js';
import { ErrorCode } from '../../core/errors.js';
import { MAX_ID_BYTES } from './config.js';
import type { IndexName } from './index-name.js';

/**
 * The result field a dated index name is filled from: the window's start (epoch ms, UTC), so
 * every firing and revision of a window goes to the same index as the first.
 */
export const INDEX_TIME_FIELD = 'windowStart';

/**
 * One result as a `_bulk` index action: the action line, the document line, and what messages and
 * retries need.
 *
 * @see openSearchEncoder
 */
export interface EncodedDocument {
  readonly record: unknown;
  /** The `_id` (the result's `id`); undefined lets OpenSearch generate one. */
  readonly id: string | undefined;
  readonly index: string;
  /** Both NDJSON lines, each ending in a newline. */
  readonly text: string;
  /** UTF-8 bytes of {@link text}: what the request size counts. */
  readonly bytes: number;
}

/**
 * Builds the encoder for an index name. Each result becomes an `index` action with `_id` = its
 * `id`, so writing it again (a replay after a restart, a later revision) overwrites the same
 * document instead of adding one; the document is the result's JSON text, byte for byte the line
 * the file sink writes. A record without a string `id` gets an id from OpenSearch (a replay then
 * adds it again). Records that cannot become a document at all come back as rejections: not a
 * JSON object, an `id` over {@link MAX_ID_BYTES}, or no `windowStart` for a dated index name.
 *
 * @example openSearchEncoder(compileIndexName('results'))({ id: 'ab12', count: 3 }).text
 * // '{"index":{"_index":"results","_id":"ab12"}}\n{"id":"ab12","count":3}\n'
 * @see buildBulkRequests
 */
export function openSearchEncoder(index: IndexName): (record: unknown) => EncodedDocument | SinkRejection {
  return (record) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      return { record, code: ErrorCode.VALIDATION_FAILED, reason: `an OpenSearch document must be a JSON object, got ${Array.isArray(record) ? 'an array' : typeof record}` };
    }
    const fields = record as Record<string, unknown>;
    const id = typeof fields['id'] === 'string' ? fields['id'] : undefined;
    if (id !== undefined && (id === '' || Buffer.byteLength(id) > MAX_ID_BYTES)) {
      return { record, code: ErrorCode.VALIDATION_FAILED, reason: `id must be 1 to ${MAX_ID_BYTES} bytes to be an OpenSearch _id, got ${Buffer.byteLength(id)}` };
    }
    let name = index.pattern;
    if (index.dated) {
      const time = fields[INDEX_TIME_FIELD];
      if (typeof time !== 'number' || !Number.isFinite(time) || Number.isNaN(new Date(time).getTime())) {
        return { record, code: ErrorCode.MISSING_TIME, reason: `index '${index.pattern}' is dated by the result's ${INDEX_TIME_FIELD} (epoch ms), which this record lacks` };
      }
      name = index.at(time);
    }
    const action = JSON.stringify({ index: id === undefined ? { _index: name } : { _index: name, _id: id } });
    let source: string;
    try {
      source = JSON.stringify(record);
    } catch (err) {
      return { record, code: ErrorCode.VALIDATION_FAILED, reason: `not representable as JSON: ${(err as Error).message}` };
    }
    const text = `${action}\n${source}\n`;
    return { record, id, index: name, text, bytes: Buffer.byteLength(text) };
  };
}

/**
 * True for what {@link openSearchEncoder} returns when it refuses a record.
 *
 * @example if (isRejection(encoded)) rejected.push(encoded); else docs.push(encoded);
 */
export function isRejection(value: EncodedDocument | SinkRejection): value is SinkRejection {
  return 'code' in value;
}
