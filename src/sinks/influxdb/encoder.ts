/**
 * Window results as InfluxDB line protocol, one point per result:
 *
 * ```
 * MEASUREMENT[,TAG=VALUE…] FIELD=VALUE[,FIELD=VALUE…] WINDOW_START_MS
 * page_views,page=/help count=4,avg_dwellMs=4258.75,revision=0i,windowEnd=1793536200000i,id="c9c3…" 1793536140000
 * ```
 *
 * - Tags: the key — an object's fields flattened with dots (`{ device: { id: 'v1' } }` gives
 *   `device.id=v1`), any other key as the tag `key` — plus `partition` for per-partition results.
 *   Tags are sorted by name, as InfluxDB recommends. Tags with an empty value are left out
 *   (InfluxDB has no empty tag values); null and undefined key fields too.
 * - Fields: every other result field. Numbers are always written as floats, so an aggregate
 *   whose value happens to be whole (a count, an average of 4) never changes type between
 *   revisions, which InfluxDB would refuse; strings are quoted, booleans are `true`/`false`,
 *   objects and arrays become their JSON text. null, undefined, NaN and ±Infinity are left out:
 *   line protocol has no null, and InfluxDB refuses NaN and infinities. Then `revision` and
 *   `windowEnd` as integers (`i`) and the result `id` as a string. A session result's
 *   `supersedes` is not written: a write cannot delete, so superseded sessions' points stay (the
 *   merged session usually starts where the first of them did, and so overwrites that one).
 * - Timestamp: `windowStart` in milliseconds (the sink writes with `precision=ms`).
 *
 * Same measurement + tag set + timestamp is the same point in InfluxDB, and a later write of it
 * replaces the fields it carries: that is how a re-fired window (higher `revision`) or a result
 * re-emitted after a restart overwrites the earlier one. (A field present in an earlier revision
 * and left out of a later one, as a null, keeps its earlier value.)
 *
 * Escaping follows InfluxDB 1.x/2.x's parser (checked against influxd 1.6): in the measurement,
 * commas and spaces; in tag keys, tag values and field keys, commas, equals signs and spaces; in
 * string field values, double quotes and backslashes. Elsewhere a backslash is taken literally,
 * so one right before a character that needs escaping, or at the end of a name, cannot be
 * written; neither can a newline outside a string field. Results with such keys or field names,
 * with no usable `windowStart`, or with tags that collide are refused here with a reason (the
 * runtime dead-letters them). The measurement is configuration, checked once at start-up by
 * {@link measurementProblem}.
 *
 * @see https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
 * @module
 */

import { RESERVED_RESULT_FIELDS } from '../../windows/result.js';

/** Result fields that are not aggregates: they become tags, the timestamp, or the fixed fields. */
const RESERVED: ReadonlySet<string> = new Set(RESERVED_RESULT_FIELDS);
/** The tag a key that is not an object is written under. */
export const KEY_TAG = 'key';
/** The tag of the partition, for `--per-partition` results. */
export const PARTITION_TAG = 'partition';
/**
 * InfluxDB stores nanoseconds in a signed 64-bit integer, so times from 1677-09-21 to 2262-04-11;
 * this many milliseconds either side of the epoch (the parser reserves the extreme values).
 */
export const MAX_TIME_MS = 9_223_372_036_854;

/**
 * One encoded point and the result it came from.
 *
 * @see influxLineEncoder
 */
export interface InfluxLine {
  readonly record: unknown;
  /** The line, without its newline. */
  readonly text: string;
  /** UTF-8 bytes of the line and its newline. */
  readonly bytes: number;
}

/** A point, or why the result cannot be one. */
export type LineOutcome = { readonly line: InfluxLine } | { readonly refused: string };

/** Thrown inside the encoder for a name line protocol cannot carry; becomes a refusal. */
class Unwritable extends Error {}

/**
 * Builds the encoder for a measurement (checked by the caller with {@link measurementProblem}).
 *
 * @example influxLineEncoder('page_views')({ id: 'ab', key: { page: '/help' }, windowStart: 0, windowEnd: 60000, revision: 0, count: 4 })
 * // { line: { text: 'page_views,page=/help count=4,revision=0i,windowEnd=60000i,id="ab" 0', … } }
 * @see escapeName
 * @see buildBatches
 */
export function influxLineEncoder(measurement: string): (record: unknown) => LineOutcome {
  const head = escapeMeasurement(measurement);
  return (record) => {
    try {
      const text = encodeLine(head, record);
      return { line: { record, text, bytes: Buffer.byteLength(text, 'utf8') + 1 } };
    } catch (err) {
      if (err instanceof Unwritable) return { refused: err.message };
      throw err;
    }
  };
}

function encodeLine(head: string, record: unknown): string {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Unwritable('not a window result (an object with windowStart)');
  const result = record as Record<string, unknown>;
  const time = result['windowStart'];
  if (typeof time !== 'number' || !Number.isSafeInteger(time)) throw new Unwritable(`windowStart must be epoch milliseconds (a whole number), got ${describe(time)}`);
  if (Math.abs(time) > MAX_TIME_MS) throw new Unwritable(`windowStart ${time} is outside the times InfluxDB can store (1677-09-21 to 2262-04-11)`);

  const tags = new Map<string, string>();
  keyTags(result['key'], undefined, tags);
  const partition = result['partition'];
  if (typeof partition === 'string' && partition !== '') {
    if (tags.has(PARTITION_TAG)) throw new Unwritable(`the key has a field '${PARTITION_TAG}', which collides with the tag of the result's partition`);
    tags.set(PARTITION_TAG, partition);
  }
  let line = head;
  for (const name of [...tags.keys()].sort()) line += `,${escapeName(name, 'tag key')}=${escapeName(tags.get(name) as string, `value of tag '${name}'`)}`;

  const fields: string[] = [];
  for (const name of Object.keys(result)) {
    if (RESERVED.has(name)) continue;
    const value = fieldValue(result[name]);
    if (value !== undefined) fields.push(`${escapeName(name, 'field name')}=${value}`);
  }
  const revision = result['revision'];
  if (typeof revision === 'number' && Number.isSafeInteger(revision)) fields.push(`revision=${revision}i`);
  const windowEnd = result['windowEnd'];
  if (typeof windowEnd === 'number' && Number.isSafeInteger(windowEnd)) fields.push(`windowEnd=${windowEnd}i`);
  const id = result['id'];
  if (typeof id === 'string') fields.push(`id=${fieldString(id)}`);
  if (fields.length === 0) throw new Unwritable('has no field InfluxDB can store (every value is null, NaN or infinite)');
  return `${line} ${fields.join(',')} ${time}`;
}

/** Flattens a key into tags: object fields by dotted name, anything else as `key`. */
function keyTags(value: unknown, name: string | undefined, tags: Map<string, string>): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [field, inner] of Object.entries(value)) keyTags(inner, name === undefined ? field : `${name}.${field}`, tags);
    return;
  }
  const tag = name ?? KEY_TAG;
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text === '') return;
  if (tags.has(tag)) throw new Unwritable(`the key gives the tag '${tag}' twice (a field named with a dot beside a nested one)`);
  tags.set(tag, text);
}

/** A field's line-protocol value, or undefined when it is left out. */
function fieldValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'string':
      return fieldString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}i`;
    case 'object': {
      if (value === null) return undefined;
      const json = JSON.stringify(value) as string | undefined;
      return json === undefined ? undefined : fieldString(json);
    }
    default:
      return undefined; // undefined, functions, symbols: nothing JSON would keep either
  }
}

/**
 * Why a name cannot be the measurement, or undefined when it can: line protocol has no escape for
 * a newline, a line that starts with `#` is a comment InfluxDB skips without a word, and InfluxDB
 * 1.x unescapes backslashes in measurements differently from everywhere else, so none are allowed.
 *
 * @example measurementProblem('#clicks') // "'#clicks' starts with '#', which makes every line a comment"
 * @see escapeMeasurement
 */
export function measurementProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.includes('\n')) return `${JSON.stringify(name)} contains a newline, which line protocol cannot carry`;
  if (name.startsWith('#')) return `'${name}' starts with '#', which makes every line a comment`;
  if (name.includes('\\')) return `'${name}' contains a backslash, which InfluxDB versions read differently in measurement names`;
  return undefined;
}

/**
 * A measurement name escaped for line protocol (commas and spaces); check it with
 * {@link measurementProblem} first.
 *
 * @example escapeMeasurement('page views') // 'page\\ views'
 */
export function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, (c) => `\\${c}`);
}

/** A backslash that InfluxDB would read as an escape: before ',', '=', ' ', or at the end. */
const STRAY_BACKSLASH = /\\([,= ]|$)/;

/**
 * A tag key, tag value or field key escaped for line protocol (commas, equals signs and spaces).
 * Throws for text the protocol cannot carry: empty, a newline, or a backslash right before one
 * of those characters or at the end (InfluxDB's parser would take it as an escape).
 *
 * @example escapeName('a=b, c', 'tag key') // 'a\\=b\\,\\ c'
 * @see fieldString
 */
export function escapeName(text: string, what: string): string {
  if (text === '') throw new Unwritable(`empty ${what}`);
  if (text.includes('\n')) throw new Unwritable(`${what} ${JSON.stringify(text)} contains a newline, which line protocol cannot carry`);
  const stray = STRAY_BACKSLASH.exec(text);
  if (stray !== null) {
    const before = stray[1] === '' ? 'at the end' : `before '${stray[1]}'`;
    throw new Unwritable(`${what} ${JSON.stringify(text)} has a backslash ${before}, which line protocol cannot carry`);
  }
  return text.replace(/[,= ]/g, (c) => `\\${c}`);
}

/**
 * A string field value: in double quotes, with double quotes and backslashes escaped. Newlines
 * need no escape inside the quotes.
 *
 * @example fieldString('say "hi"\\') // '"say \\"hi\\"\\\\"'
 * @see escapeName
 */
export function fieldString(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? typeof value : json.length > 40 ? `${json.slice(0, 40)}…` : json;
}
