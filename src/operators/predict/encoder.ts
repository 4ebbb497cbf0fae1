/**
 * Turns one event's features into its line of an InvokeEndpoint body, and a response body back
 * into one prediction per record, in the formats of SageMaker's common inference data formats:
 * CSV rows of numbers; JSON Lines with `{"features": […]}` (or an object of named features) per
 * line; answers in JSON Lines, CSV, or JSON `{"predictions": […]}`.
 *
 * @see https://docs.aws.amazon.com/sagemaker/latest/dg/cdf-inference.html
 * @module
 */
import type { WireFormat } from './config.js';

/** What a `features` function returns: numbers in model order, or named numbers. */
export type Features = readonly number[] | Readonly<Record<string, number>>;

/** Features that cannot be sent: the event is dead-lettered with the message (code BAD_FIELD). */
export class FeatureError extends Error {
  override readonly name = 'FeatureError';
}

/** A response that does not give one prediction per record sent: the whole call failed. */
export class ResponseError extends Error {
  override readonly name = 'ResponseError';
}

/**
 * One record's line of a request body, newline included.
 *
 * @example encodeRecord([24, 61.2], 'csv') // '24,61.2\n'
 * @example encodeRecord([24, 61.2], 'jsonlines') // '{"features":[24,61.2]}\n'
 * @throws FeatureError for anything but finite numbers (CSV: in an array)
 */
export function encodeRecord(features: unknown, format: WireFormat): string {
  if (Array.isArray(features)) {
    if (features.length === 0) throw new FeatureError('features are empty');
    features.forEach((x, i) => checkNumber(x, `feature ${i}`));
    return format === 'csv' ? `${features.join(',')}\n` : `${JSON.stringify({ features })}\n`;
  }
  if (typeof features !== 'object' || features === null) throw new FeatureError(`features must be an array of numbers or an object of numbers, got ${describe(features)}`);
  if (format === 'csv') throw new FeatureError('the csv format needs features as an array of numbers in model order, got an object');
  const entries = Object.entries(features);
  if (entries.length === 0) throw new FeatureError('features are empty');
  for (const [name, x] of entries) checkNumber(x, `feature '${name}'`);
  return `${JSON.stringify(features)}\n`;
}

/**
 * One prediction per record from a response body, read by its content type (JSON Lines, CSV, or
 * JSON with a `predictions` list or a bare list). A CSV line with one cell gives a number (or the
 * text when it is not one); with several, the list of cells.
 *
 * @example decodePredictions(utf8('{"score":0.9}\n{"score":0.1}\n'), 'application/jsonlines', 2) // [{ score: 0.9 }, { score: 0.1 }]
 * @throws ResponseError when the body cannot be read or holds another number of predictions
 */
export function decodePredictions(body: Uint8Array, contentType: string | undefined, expected: number): unknown[] {
  const text = new TextDecoder('utf-8').decode(body);
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let predictions: unknown[];
  if (mime === 'text/csv') {
    predictions = lines(text).map((line) => {
      const cells = line.split(',').map(cell);
      return cells.length === 1 ? cells[0] : cells;
    });
  } else if (mime === 'application/json') {
    const parsed = parse(text, 'the response');
    const list = Array.isArray(parsed) ? parsed : (parsed as { predictions?: unknown } | null)?.predictions;
    if (!Array.isArray(list)) throw new ResponseError(`the endpoint answered JSON without a "predictions" list: ${text.slice(0, 200)}`);
    predictions = list;
  } else if (mime === 'application/jsonlines' || mime === 'application/jsonl' || mime === 'application/x-jsonlines') {
    predictions = lines(text).map((line, i) => parse(line, `response line ${i + 1}`));
  } else {
    throw new ResponseError(`the endpoint answered '${contentType ?? 'without a content type'}', which predict cannot read; set accept to application/jsonlines, text/csv or application/json`);
  }
  if (predictions.length !== expected) throw new ResponseError(`the endpoint answered ${predictions.length} predictions for ${expected} records`);
  return predictions;
}

function checkNumber(x: unknown, what: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new FeatureError(`${what} is ${describe(x)}, not a finite number`);
}

function describe(x: unknown): string {
  if (typeof x === 'number') return String(x);
  if (x === undefined) return 'undefined';
  const text = JSON.stringify(x);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.at(-1) === '') all.pop();
  return all;
}

function cell(text: string): number | string {
  const trimmed = text.trim();
  const n = Number(trimmed);
  return trimmed !== '' && Number.isFinite(n) ? n : trimmed;
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ResponseError(`${what} is not JSON (${err instanceof Error ? err.message : String(err)}): ${text.slice(0, 200)}`);
  }
}
