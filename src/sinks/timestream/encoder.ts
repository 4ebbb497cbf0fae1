import type { Dimension, MeasureValue } from '@aws-sdk/client-timestream-write';
import { ErrorCode } from '../../core/errors.js';
import { compilePath } from '../../core/paths.js';
import {
  columnName,
  nameProblem,
  NOT_MEASURES,
  TIMESTREAM_MAX_DIMENSION_NAME_BYTES,
  TIMESTREAM_MAX_DIMENSIONS,
  TIMESTREAM_MAX_MEASURE_NAME_BYTES,
  TIMESTREAM_MAX_MEASURES,
  TIMESTREAM_MAX_RECORD_BYTES,
  type MeasureType,
  type ResolvedMapping,
} from './config.js';

/** Bytes Timestream counts for a time, a number and a boolean (see TIMESTREAM_MAX_RECORD_BYTES). */
const TIME_BYTES = 8;
const NUMBER_BYTES = 8;
const BOOLEAN_BYTES = 1;
/** Longest measure value text Timestream takes (MeasureValue.Value). */
const MAX_VALUE_CHARS = 2048;

/**
 * One result as a multi-measure Timestream record, before a request shares out its common
 * parts: time in epoch milliseconds, version, dimensions and measures.
 *
 * @see timestreamEncoder
 */
export interface TimestreamPoint {
  /** Epoch milliseconds as digits. */
  readonly time: string;
  /** `revision + 1`: a late re-firing of a window has a higher version and replaces the point. */
  readonly version: number;
  readonly dimensions: readonly Dimension[];
  readonly measures: readonly MeasureValue[];
  /** Size as Timestream meters it (measure name included), for the 2 KB record limit. */
  readonly bytes: number;
}

/** A result the mapping cannot turn into a record, and why: it goes to the dead-letter output. */
export interface Unmappable {
  readonly code: ErrorCode;
  readonly reason: string;
}

/**
 * Builds the function that maps one window result to a {@link TimestreamPoint}, or says why it
 * cannot ({@link Unmappable}: missing or bad time, no dimension, no measure, a value of the
 * wrong type, over Timestream's limits).
 *
 * A result `{id, key: {page: '/help'}, windowStart, windowEnd, revision: 1, count: 4, avg_dwellMs: 4258.75}`
 * becomes, with the default mapping, time `windowEnd − 1`, version 2, dimension `page=/help`,
 * measures `count=4` and `avg_dwellMs=4258.75` (DOUBLE) under measure_name `window`. The
 * version is what makes a re-emitted result an upsert instead of a second point: Timestream
 * keeps the record with the highest version for the same dimensions, time and measure_name.
 *
 * @example timestreamEncoder(resolveMapping({}))(result) // { time: '1793536199999', version: 1, dimensions: [{ Name: 'page', … }], … }
 * @see buildWriteRequests
 */
export function timestreamEncoder(mapping: ResolvedMapping): (record: unknown) => TimestreamPoint | Unmappable {
  const timeOf = mapping.time === undefined ? undefined : compilePath(mapping.time);
  const dimensionGetters = mapping.dimensions.map((field) => ({ field, name: columnName(field), get: compilePath(field) }));
  const measureGetters = mapping.measures?.map((m) => ({ ...m, get: compilePath(m.field) }));
  // top-level fields already used as dimensions or time are not measures too
  const taken = new Set([...NOT_MEASURES, ...mapping.dimensions, ...(mapping.time === undefined ? [] : [mapping.time])]);
  const measureNameBytes = Buffer.byteLength(mapping.measureName);

  return (record) => {
    if (record === null || typeof record !== 'object') return { code: ErrorCode.BAD_FIELD, reason: 'not an object; Timestream takes window results' };
    const time = timeOf === undefined ? defaultTime(record) : parseTime(timeOf(record), mapping.time as string);
    if (typeof time !== 'string') return time;

    const dimensions: Dimension[] = [];
    for (const { field, name, get } of dimensionGetters) addDimensions(dimensions, name, get(record), field === 'key');
    if (dimensions.length === 0) return { code: ErrorCode.MISSING_KEY, reason: `no dimension: none of the fields ${mapping.dimensions.join(', ')} has a value` };
    if (dimensions.length > TIMESTREAM_MAX_DIMENSIONS) return { code: ErrorCode.BAD_FIELD, reason: `${dimensions.length} dimensions, over Timestream's ${TIMESTREAM_MAX_DIMENSIONS}` };

    const measures: MeasureValue[] = [];
    if (measureGetters === undefined) {
      for (const [name, value] of Object.entries(record)) {
        if (!taken.has(name) && typeof value === 'number' && Number.isFinite(value)) measures.push({ Name: name, Value: String(value), Type: 'DOUBLE' });
      }
    } else {
      for (const m of measureGetters) {
        const value = m.get(record);
        if (value === undefined || value === null) continue; // a null measure is allowed in a multi-measure record
        const measure = measureOf(m.name, value, m.type);
        if ('code' in measure) return measure;
        measures.push(measure);
      }
    }
    if (measures.length === 0) return { code: ErrorCode.BAD_FIELD, reason: measureGetters === undefined ? 'no numeric field to write as a measure' : 'none of the measure fields has a value' };
    if (measures.length > TIMESTREAM_MAX_MEASURES) return { code: ErrorCode.BAD_FIELD, reason: `${measures.length} measures, over Timestream's ${TIMESTREAM_MAX_MEASURES} per record` };

    const names = new Set<string>();
    for (const { Name } of [...dimensions, ...measures] as { Name?: string | undefined }[]) {
      const name = Name ?? '';
      if (names.has(name)) return { code: ErrorCode.BAD_FIELD, reason: `'${name}' would be two columns (as a dimension and a measure, or twice); rename one in the mapping` };
      names.add(name);
    }
    for (const d of dimensions) {
      const problem = nameProblem(d.Name ?? '', TIMESTREAM_MAX_DIMENSION_NAME_BYTES);
      if (problem !== undefined) return { code: ErrorCode.BAD_FIELD, reason: `dimension '${d.Name}' ${problem}` };
    }
    for (const m of measures) {
      const problem = nameProblem(m.Name ?? '', TIMESTREAM_MAX_MEASURE_NAME_BYTES);
      if (problem !== undefined) return { code: ErrorCode.BAD_FIELD, reason: `measure '${m.Name}' ${problem}` };
    }

    const bytes = TIME_BYTES + measureNameBytes + dimensionBytes(dimensions) + measureBytes(measures);
    if (bytes > TIMESTREAM_MAX_RECORD_BYTES) {
      return { code: ErrorCode.RECORD_TOO_LARGE, reason: `${bytes} bytes as a Timestream record, over its ${TIMESTREAM_MAX_RECORD_BYTES}-byte limit` };
    }
    return { time, version: versionOf(record), dimensions, measures, bytes };
  };
}

/** True for what {@link timestreamEncoder} could not map. */
export function isUnmappable(value: TimestreamPoint | Unmappable): value is Unmappable {
  return 'code' in value;
}

/** `windowEnd − 1`: the last millisecond inside the window (`windowEnd` is exclusive). */
function defaultTime(record: object): string | Unmappable {
  const end = (record as { windowEnd?: unknown }).windowEnd;
  if (end === undefined) return { code: ErrorCode.MISSING_TIME, reason: "no 'windowEnd' to take the time from; name a time field in the mapping" };
  if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < 1) return { code: ErrorCode.BAD_TIME, reason: `windowEnd ${JSON.stringify(end)} is not epoch milliseconds` };
  return String(end - 1);
}

/** Epoch milliseconds from a number, a string of digits or ISO-8601. */
function parseTime(value: unknown, field: string): string | Unmappable {
  if (value === undefined || value === null) return { code: ErrorCode.MISSING_TIME, reason: `missing time field '${field}'` };
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : Date.parse(value)) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) return { code: ErrorCode.BAD_TIME, reason: `time field '${field}' is ${JSON.stringify(value)}, not epoch milliseconds or ISO-8601` };
  return String(ms);
}

/**
 * A dimension per scalar; null and '' give none. An object gives one per field: the window key's
 * fields keep their own names (`key` {page} → `page`), any other object's are prefixed with it
 * (`device` {id} → `device.id`, and so deeper levels).
 */
function addDimensions(out: Dimension[], name: string, value: unknown, bare: boolean): void {
  if (value === undefined || value === null || value === '') return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [field, inner] of Object.entries(value)) addDimensions(out, bare ? field : `${name}.${field}`, inner, false);
    return;
  }
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  out.push({ Name: name, Value: text, DimensionValueType: 'VARCHAR' });
}

function measureOf(name: string, value: unknown, type: MeasureType | undefined): MeasureValue | Unmappable {
  const wrong = (what: string): Unmappable => ({ code: ErrorCode.BAD_FIELD, reason: `measure '${name}' is ${JSON.stringify(value)}, not ${what}` });
  switch (type ?? (typeof value === 'boolean' ? 'BOOLEAN' : typeof value === 'string' ? 'VARCHAR' : 'DOUBLE')) {
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? { Name: name, Value: String(value), Type: 'DOUBLE' } : wrong('a finite number');
    case 'BIGINT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? { Name: name, Value: String(value), Type: 'BIGINT' } : wrong('a whole number');
    case 'BOOLEAN':
      return typeof value === 'boolean' ? { Name: name, Value: String(value), Type: 'BOOLEAN' } : wrong('true or false');
    case 'VARCHAR': {
      const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
      return text.length > 0 && text.length <= MAX_VALUE_CHARS ? { Name: name, Value: text, Type: 'VARCHAR' } : wrong(`text of 1 to ${MAX_VALUE_CHARS} characters`);
    }
  }
}

/** `revision + 1` (Timestream versions start at 1); 1 without a revision. */
function versionOf(record: object): number {
  const revision = (record as { revision?: unknown }).revision;
  return typeof revision === 'number' && Number.isSafeInteger(revision) && revision >= 0 ? revision + 1 : 1;
}

function dimensionBytes(dimensions: readonly Dimension[]): number {
  let bytes = 0;
  for (const d of dimensions) bytes += Buffer.byteLength(d.Name ?? '') + Buffer.byteLength(d.Value ?? '');
  return bytes;
}

function measureBytes(measures: readonly MeasureValue[]): number {
  let bytes = 0;
  for (const m of measures) {
    bytes += Buffer.byteLength(m.Name ?? '');
    bytes += m.Type === 'VARCHAR' ? Buffer.byteLength(m.Value ?? '') : m.Type === 'BOOLEAN' ? BOOLEAN_BYTES : NUMBER_BYTES;
  }
  return bytes;
}
