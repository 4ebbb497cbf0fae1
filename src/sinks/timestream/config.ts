import {
  AWS_RETRY_DEFAULTS,
  awsClientSettings,
  awsEndpointUrl,
  regionOf,
  type AwsClientOptions,
  type AwsClientSettings,
  type AwsRetryOptions,
  type AwsRetrySettings,
} from '../../aws/config.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { isValidPath } from '../../core/paths.js';
import { limitOption, retrySettings } from '../options.js';

export { AWS_ENDPOINT_ENV, type AwsClientSettings, type AwsCredentials } from '../../aws/config.js';

// Service limits of Timestream for LiveAnalytics (closed to new AWS customers since 2025-06-20;
// existing tables keep working).
/**
 * Most records in one WriteRecords call ("Records per WriteRecords API request").
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html
 */
export const TIMESTREAM_MAX_BATCH_RECORDS = 100;
/**
 * Largest record, 2 KB, measured as Timestream meters writes: 8 bytes of time, then the UTF-8
 * bytes of every dimension name and value, of the measure name and of each measure's name, and 8
 * bytes per number (1 per boolean, the text's bytes for VARCHAR).
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html ("Maximum record size"),
 * https://docs.aws.amazon.com/timestream/latest/developerguide/metering-and-pricing.writes.html
 */
export const TIMESTREAM_MAX_RECORD_BYTES = 2048;
/**
 * Most dimensions of a table, so of a record ("Dimensions per table").
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html
 */
export const TIMESTREAM_MAX_DIMENSIONS = 128;
/**
 * Longest dimension name in bytes ("Dimension name length").
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html
 */
export const TIMESTREAM_MAX_DIMENSION_NAME_BYTES = 60;
/**
 * Longest measure name in bytes ("Measure name length").
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html
 */
export const TIMESTREAM_MAX_MEASURE_NAME_BYTES = 256;
/**
 * Most measures in one multi-measure record ("Measures per multi-measure record").
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html
 */
export const TIMESTREAM_MAX_MEASURES = 256;

/** The measure_name of every record when the mapping names none. */
export const DEFAULT_MEASURE_NAME = 'window';
/** Result fields that are never measures by default: identity, bounds and bookkeeping. */
export const NOT_MEASURES: readonly string[] = ['id', 'key', 'partition', 'windowStart', 'windowEnd', 'revision', 'supersedes'];
/** Default dimensions: the window key (an object gives one dimension per field), and the partition of per-partition results. */
export const DEFAULT_DIMENSIONS: readonly string[] = ['key', 'partition'];

/** Timestream database and table names: 3 to 256 letters, digits, '_', '.', '-'. */
const RESOURCE_NAME = /^[a-zA-Z0-9_.-]{3,256}$/;
const WHAT = 'Timestream sink';
/** Column names Timestream keeps for itself. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['time', 'measure_name', 'measure_value']);

/** The Timestream types a measure can have in a multi-measure record. */
export type MeasureType = 'DOUBLE' | 'BIGINT' | 'VARCHAR' | 'BOOLEAN';
const MEASURE_TYPES: readonly MeasureType[] = ['DOUBLE', 'BIGINT', 'VARCHAR', 'BOOLEAN'];

/**
 * One measure of the multi-measure record: its column name, the result field it comes from
 * (dotted path), and its type (default by the value: DOUBLE for numbers, BOOLEAN for booleans,
 * VARCHAR for strings). A value that does not fit the type makes the record a rejection.
 */
export interface TimestreamMeasure {
  readonly name: string;
  readonly field: string;
  readonly type?: MeasureType | undefined;
}

/**
 * How a window result becomes one multi-measure Timestream record.
 *
 * @example { dimensions: ['key.page'], measures: ['count', { name: 'p95_dwell', field: 'p95_dwellMs' }], measureName: 'page_views' }
 * @see timestreamSinkConfig
 */
export interface TimestreamMapping {
  /**
   * The field holding the record's time (epoch milliseconds, a string of digits, or ISO-8601).
   * Default: `windowEnd − 1`, the last millisecond inside the window, so a window's point sits
   * within it.
   */
  readonly time?: string | undefined;
  /**
   * Fields (dotted paths) that become dimensions, named after the field (`key.page` → `page`).
   * An object value gives one dimension per field (`key` {page, region} → `page`, `region`); a
   * missing or null one is left out. Default {@link DEFAULT_DIMENSIONS}.
   */
  readonly dimensions?: readonly string[] | undefined;
  /**
   * The measures: field paths (named after the field) or {@link TimestreamMeasure}s. Default:
   * every top-level numeric field except {@link NOT_MEASURES} and the dimensions, as DOUBLE — one
   * type for every number, because Timestream fixes a measure's type at its first write and an
   * aggregate such as `sum` may be whole in one window and not in the next.
   */
  readonly measures?: readonly (string | TimestreamMeasure)[] | undefined;
  /** The records' measure_name (default {@link DEFAULT_MEASURE_NAME}). */
  readonly measureName?: string | undefined;
}

/** A `timestream://` URL taken apart. */
export interface TimestreamEndpoint {
  readonly url: string;
  readonly database: string;
  readonly table: string;
  /** From `?region=`, else AWS_REGION / AWS_DEFAULT_REGION; else the SDK's own lookup (profile). */
  readonly region: string | undefined;
  /** What the URL's `time`, `dimensions`, `measures` and `measure-name` parameters say. */
  readonly mapping: TimestreamMapping;
}

const PARAMS = ['region', 'time', 'dimensions', 'measures', 'measure-name'] as const;

/**
 * Parses `timestream://DATABASE/TABLE[?region=R&time=F&dimensions=F,F&measures=F,NAME:F&measure-name=N]`.
 * `measures` lists fields, each optionally renamed as `NAME:FIELD`. Throws `UserError(BAD_URL)`
 * naming the flag the URL came from.
 *
 * @example parseTimestreamUrl('timestream://metrics/page_views?region=eu-west-1&measures=count,p95:p95_dwellMs', '--sink')
 * @see openTimestreamSink
 */
export function parseTimestreamUrl(text: string, flag: string, env: Readonly<Record<string, string | undefined>> = process.env): TimestreamEndpoint {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${text}': ${why}`);
  const m = /^timestream:\/\/([^/?#]*)\/([^/?#]*)(?:\?([^#]*))?$/.exec(text);
  if (!m) throw bad('write timestream://DATABASE/TABLE[?region=REGION]');
  const database = decodeURIComponent(m[1] as string);
  const table = decodeURIComponent(m[2] as string);
  for (const [what, name] of [['database', database], ['table', table]] as const) {
    if (!RESOURCE_NAME.test(name)) throw bad(`'${name}' is not a Timestream ${what} name (3 to 256 letters, digits, '_', '.', '-')`);
  }
  const params = new URLSearchParams(m[3] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) throw bad(`unknown parameter '${name}'; use ${PARAMS.join(', ')}`);
  }
  const list = (name: string): string[] | undefined => params.get(name)?.split(',').map((s) => s.trim());
  const measures = list('measures')?.map((entry) => {
    const colon = entry.indexOf(':');
    return colon < 0 ? entry : { name: entry.slice(0, colon), field: entry.slice(colon + 1) };
  });
  const mapping: TimestreamMapping = {
    ...(params.has('time') ? { time: params.get('time') as string } : {}),
    ...(params.has('dimensions') ? { dimensions: list('dimensions') } : {}),
    ...(measures === undefined ? {} : { measures }),
    ...(params.has('measure-name') ? { measureName: params.get('measure-name') as string } : {}),
  };
  try {
    resolveMapping(mapping);
  } catch (err) {
    throw bad((err as Error).message);
  }
  return { url: text, database, table, region: regionOf(params.get('region'), env, bad), mapping };
}

/**
 * Retries of one WriteRecords call that failed for a passing reason (throttling, 5xx, timeouts).
 * Defaults: 8 more attempts, waits from 200 ms to 10 s with decorrelated jitter.
 */
export type TimestreamRetryOptions = AwsRetryOptions;

/**
 * Options of the Timestream sink beyond its URL.
 *
 * @example { mapping: { dimensions: ['key.page'], measures: ['count'] }, endpointUrl: moto.endpoint }
 * @see timestreamSinkConfig
 */
export interface TimestreamSinkOptions extends AwsClientOptions {
  /** Overrides the URL's mapping, field by field. */
  readonly mapping?: TimestreamMapping | undefined;
  /** Another endpoint (moto), used as is without endpoint discovery; default `SLUICE_AWS_ENDPOINT`, else AWS's. */
  readonly endpointUrl?: string | undefined;
  /** Records per call; clamped to {@link TIMESTREAM_MAX_BATCH_RECORDS}. */
  readonly maxBatchRecords?: number | undefined;
  readonly retry?: TimestreamRetryOptions | undefined;
}

/** A mapping checked and with defaults filled in. `measures: undefined` means "every numeric field". */
export interface ResolvedMapping {
  readonly time: string | undefined;
  readonly dimensions: readonly string[];
  readonly measures: readonly TimestreamMeasure[] | undefined;
  readonly measureName: string;
}

/** {@link TimestreamRetryOptions} with defaults filled in. */
export type TimestreamRetrySettings = AwsRetrySettings;

/**
 * Validated Timestream sink settings with defaults filled in.
 *
 * @see timestreamSinkConfig
 */
export interface TimestreamSinkConfig {
  readonly endpoint: TimestreamEndpoint;
  readonly mapping: ResolvedMapping;
  readonly maxBatchRecords: number;
  readonly client: AwsClientSettings;
  readonly retry: TimestreamRetrySettings;
}

/**
 * Checks Timestream sink options once, at start-up, and fills in defaults; a batch size above
 * the service's limit is clamped to it. Throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example timestreamSinkConfig(parseTimestreamUrl('timestream://metrics/views', '--sink')).mapping.measureName // 'window'
 * @see TimestreamSinkOptions
 */
export function timestreamSinkConfig(endpoint: TimestreamEndpoint, options: TimestreamSinkOptions = {}): TimestreamSinkConfig {
  let mapping: ResolvedMapping;
  try {
    mapping = resolveMapping({ ...endpoint.mapping, ...definedOnly(options.mapping ?? {}) });
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `Timestream sink mapping: ${(err as Error).message}`);
  }
  return {
    endpoint,
    mapping,
    maxBatchRecords: limitOption(WHAT, 'maxBatchRecords', options.maxBatchRecords, TIMESTREAM_MAX_BATCH_RECORDS),
    client: awsClientSettings(WHAT, endpoint.region, awsEndpointUrl(WHAT, options), options),
    retry: retrySettings(WHAT, options.retry, AWS_RETRY_DEFAULTS),
  };
}

/**
 * Fills in a mapping's defaults and checks its names and paths; throws a plain Error saying
 * what is wrong (callers wrap it in the right UserError).
 */
export function resolveMapping(mapping: TimestreamMapping): ResolvedMapping {
  if (mapping.time !== undefined && !isValidPath(mapping.time)) throw new Error(`time '${mapping.time}' is not a field name or dotted path`);
  const dimensions = mapping.dimensions ?? DEFAULT_DIMENSIONS;
  if (dimensions.length === 0) throw new Error('give at least one dimension field');
  for (const field of dimensions) {
    if (!isValidPath(field)) throw new Error(`dimension '${field}' is not a field name or dotted path`);
  }
  const measureName = mapping.measureName ?? DEFAULT_MEASURE_NAME;
  const badMeasureName = nameProblem(measureName, TIMESTREAM_MAX_MEASURE_NAME_BYTES);
  if (badMeasureName !== undefined) throw new Error(`measure name '${measureName}' ${badMeasureName}`);
  let measures: TimestreamMeasure[] | undefined;
  if (mapping.measures !== undefined) {
    if (mapping.measures.length === 0) throw new Error('give at least one measure, or none to take every numeric field');
    if (mapping.measures.length > TIMESTREAM_MAX_MEASURES) throw new Error(`${mapping.measures.length} measures, over Timestream's ${TIMESTREAM_MAX_MEASURES} per record`);
    measures = mapping.measures.map((m) => (typeof m === 'string' ? { name: columnName(m), field: m } : m));
    const seen = new Set<string>();
    for (const m of measures) {
      if (!isValidPath(m.field)) throw new Error(`measure field '${m.field}' is not a field name or dotted path`);
      const problem = nameProblem(m.name, TIMESTREAM_MAX_MEASURE_NAME_BYTES);
      if (problem !== undefined) throw new Error(`measure '${m.name}' ${problem}`);
      if (m.type !== undefined && !MEASURE_TYPES.includes(m.type)) throw new Error(`measure '${m.name}' has type '${String(m.type)}'; use ${MEASURE_TYPES.join(', ')}`);
      if (seen.has(m.name)) throw new Error(`measure '${m.name}' is named twice`);
      seen.add(m.name);
    }
  }
  return { time: mapping.time, dimensions, measures, measureName };
}

/** The column a field path becomes: its last segment (`key.page` → `page`). */
export function columnName(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}

/**
 * What is wrong with a dimension or measure name, or `undefined`: Timestream keeps `time`,
 * `measure_name` and `measure_value` (and the prefixes `ts_` and `measure_value`), and refuses ':'.
 * https://docs.aws.amazon.com/timestream/latest/developerguide/ts-limits.html#limits.naming
 */
export function nameProblem(name: string, maxBytes: number): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name) > maxBytes) return `is longer than Timestream's ${maxBytes} bytes`;
  if (RESERVED_NAMES.has(name) || name.startsWith('ts_') || name.startsWith('measure_value')) return 'is a name Timestream keeps for itself';
  if (name.includes(':')) return "contains ':', which Timestream refuses";
  return undefined;
}

function definedOnly(mapping: TimestreamMapping): TimestreamMapping {
  return Object.fromEntries(Object.entries(mapping).filter(([, v]) => v !== undefined)) as TimestreamMapping;
}
