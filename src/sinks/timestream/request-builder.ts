import type { _Record, Dimension } from '@aws-sdk/client-timestream-write';
import type { TimestreamPoint } from './encoder.js';

/**
 * One WriteRecords call: what all its records share, the records, and which result of the write
 * each record came from (RejectedRecords name records by their place in the call).
 *
 * @see buildWriteRequests
 */
export interface WriteRequest {
  readonly common: _Record;
  readonly records: readonly _Record[];
  /** `sources[i]`: the index in the write of the result that became `records[i]`. */
  readonly sources: readonly number[];
}

/**
 * One mapped result and its place in the write.
 *
 * @see buildWriteRequests
 */
export interface IndexedPoint {
  readonly index: number;
  readonly point: TimestreamPoint;
}

/**
 * Splits mapped results into WriteRecords calls of at most `maxBatchRecords`, in order, and moves
 * what every record of a call shares into its CommonAttributes, which Timestream merges back into
 * each record: always the time unit (milliseconds), the measure name and type (MULTI); with two
 * records or more, also any dimension with the same value in all (e.g. the region of a keyed
 * pipeline) and a time they all have (windows that closed together). Smaller calls, same records.
 * The version stays on each record: it is the record's own revision.
 *
 * @example buildWriteRequests(points, { maxBatchRecords: 100, measureName: 'window' })
 * @see timestreamEncoder
 */
export function buildWriteRequests(points: readonly IndexedPoint[], options: { maxBatchRecords: number; measureName: string }): WriteRequest[] {
  const requests: WriteRequest[] = [];
  for (let start = 0; start < points.length; start += options.maxBatchRecords) {
    requests.push(request(points.slice(start, start + options.maxBatchRecords), options.measureName));
  }
  return requests;
}

function request(points: readonly IndexedPoint[], measureName: string): WriteRequest {
  const sharedDimensions = points.length > 1 ? shared(points) : [];
  const sharedNames = new Set(sharedDimensions.map((d) => d.Name));
  const first = points[0]?.point.time;
  const sharedTime = points.length > 1 && points.every(({ point }) => point.time === first) ? first : undefined;
  const common: _Record = {
    MeasureName: measureName,
    MeasureValueType: 'MULTI',
    TimeUnit: 'MILLISECONDS',
    ...(sharedDimensions.length > 0 ? { Dimensions: sharedDimensions } : {}),
    ...(sharedTime === undefined ? {} : { Time: sharedTime }),
  };
  const records = points.map(({ point }): _Record => {
    const dimensions = point.dimensions.filter((d) => !sharedNames.has(d.Name));
    return {
      ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
      ...(sharedTime === undefined ? { Time: point.time } : {}),
      Version: point.version,
      MeasureValues: [...point.measures],
    };
  });
  return { common, records, sources: points.map(({ index }) => index) };
}

/** Dimensions present, with the same value, in every point, in the first point's order. */
function shared(points: readonly IndexedPoint[]): Dimension[] {
  const [head, ...rest] = points;
  if (head === undefined) return [];
  return head.point.dimensions.filter((d) =>
    rest.every(({ point }) => point.dimensions.some((other) => other.Name === d.Name && other.Value === d.Value)),
  );
}
