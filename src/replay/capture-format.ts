/**
 * The capture format `sluice record` writes and `sluice replay` reads: JSON Lines, one record per
 * line, fields in this order:
 *
 * ```json
 * {"partition":2,"offset":"1041","timestamp":1793536140123,"key":"user-7","headers":{"trace":"a1"},"value":"{\"page\":\"/\"}"}
 * ```
 *
 * - `partition`: the Kafka partition number, or the source's partition id (a file path, `gen-0`);
 * - `offset`: the Kafka offset (a string: offsets are 64-bit), the Kinesis sequence number (with
 *   `:SUB` for the user records after the first of a KPL aggregated record), the file line or the
 *   generator seq;
 * - `timestamp`, `key`: from the source's metadata, `null` when it has none (files, generator);
 * - `value`: the record as text, or `{"base64":"…"}` when its bytes are not UTF-8, or `null` for a
 *   Kafka tombstone.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import type { Envelope, Raw } from '../core/envelope.js';
import { ErrorCode, UserError } from '../core/errors.js';

/** A record's value in a capture: text, bytes that are not UTF-8, or none (a tombstone). */
export type CaptureValue = string | { readonly base64: string } | null;

/** One captured record; see the module comment for each field. */
export interface CaptureRecord {
  readonly partition: string | number;
  readonly offset: string | number | null;
  readonly timestamp: number | null;
  /** As the source's `meta.key`: text, or `base64:…` when the key's bytes are not text. */
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: CaptureValue;
}

/**
 * The capture record of an envelope straight from a source (its value still the raw record).
 *
 * @example captureRecordOf(envelope('{"a":1}', 'gen-0', { seq: 1, state: '…' })) // { partition: 'gen-0', offset: 1, … }
 * @see encodeCaptureLine
 */
export function captureRecordOf(env: Envelope<Raw>): CaptureRecord {
  const { position, meta } = env;
  // Kafka positions carry the partition as a number: that is what replay can give back to a topic
  const partition = typeof position['partition'] === 'number' ? position['partition'] : env.partition;
  const offset = position['offset'] ?? kinesisOffset(position) ?? position['line'] ?? position['seq'] ?? null;
  return {
    partition,
    offset,
    timestamp: meta?.timestamp ?? null,
    key: meta?.key ?? null,
    headers: meta?.headers ?? {},
    value: captureValue(env.value as Raw | null | undefined),
  };
}

/** A Kinesis position as a capture offset: the sequence number, `SEQ:SUB` inside an aggregated record. */
function kinesisOffset(position: Envelope['position']): string | undefined {
  const sequence = position['sequence'];
  const sub = position['sub'];
  if (typeof sequence !== 'string') return undefined;
  return typeof sub === 'number' && sub > 0 ? `${sequence}:${sub}` : sequence;
}

/**
 * A raw record as a capture value: text as it is, bytes as text when they are UTF-8 and as base64
 * otherwise (JSON strings cannot carry arbitrary bytes), nothing as `null`.
 *
 * @example captureValue(Uint8Array.of(0xff)) // { base64: '/w==' }
 * @see valueBytes
 */
export function captureValue(raw: Raw | null | undefined): CaptureValue {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string') return raw;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return isUtf8(bytes) ? bytes.toString('utf8') : { base64: bytes.toString('base64') };
}

/**
 * The bytes a capture value stands for, or `null` for a tombstone.
 *
 * @example valueBytes({ base64: '/w==' }) // <Buffer ff>
 * @see captureValue
 */
export function valueBytes(value: CaptureValue): Buffer | null {
  if (value === null) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.base64, 'base64');
}

/**
 * One capture line, with its `\n`; fields always in the documented order.
 *
 * @example encodeCaptureLine({ partition: 0, offset: '5', timestamp: null, key: null, headers: {}, value: 'x' })
 * @see decodeCaptureLine
 */
export function encodeCaptureLine(record: CaptureRecord): string {
  const { partition, offset, timestamp, key, headers, value } = record;
  return JSON.stringify({ partition, offset, timestamp, key, headers, value }) + '\n';
}

/**
 * Parses and checks one capture line. `where` names it in errors (`capture.jsonl line 7`).
 *
 * @throws UserError(UNREADABLE_INPUT) when the line is not a capture record.
 * @see encodeCaptureLine
 */
export function decodeCaptureLine(line: string, where: string): CaptureRecord {
  const bad = (why: string): UserError => new UserError(ErrorCode.UNREADABLE_INPUT, `${where} is not a capture record (written by sluice record): ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw bad('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a JSON object');
  const r = parsed as Record<string, unknown>;
  const { partition, offset, timestamp, key, headers, value } = r;
  if (typeof partition !== 'string' && !(typeof partition === 'number' && Number.isSafeInteger(partition) && partition >= 0)) {
    throw bad('partition must be a partition number or id');
  }
  if (offset !== null && typeof offset !== 'string' && typeof offset !== 'number') throw bad('offset must be a string, a number or null');
  if (timestamp !== null && !(typeof timestamp === 'number' && Number.isFinite(timestamp))) throw bad('timestamp must be epoch milliseconds or null');
  if (key !== null && typeof key !== 'string') throw bad('key must be a string or null');
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((h) => typeof h === 'string')) {
    throw bad('headers must be an object of strings');
  }
  return { partition, offset, timestamp, key, headers: headers as Record<string, string>, value: checkValue(value, bad) };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkValue(value: unknown, bad: (why: string) => UserError): CaptureValue {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const { base64, ...rest } = value as Record<string, unknown>;
    if (typeof base64 === 'string' && BASE64.test(base64) && Object.keys(rest).length === 0) return { base64 };
  }
  throw bad('value must be a string, {"base64":"…"} or null');
}
