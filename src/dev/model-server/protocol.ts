/**
 * The SageMaker Runtime wire protocol as the local endpoint speaks it (AWS restJson1, API version
 * 2017-05-13): `POST /endpoints/{EndpointName}/invocations` with the payload as the raw body and
 * its MIME type in `Content-Type`; the answer is the model's raw body with its `Content-Type` and
 * `x-Amzn-Invoked-Production-Variant`. Errors are JSON `{ "Message": … }` bodies whose type is in
 * the `x-amzn-ErrorType` header and whose HTTP status is the one the service model gives it, so
 * `@aws-sdk/client-sagemaker-runtime` turns them into its own `ModelError`, `ValidationError`,
 * `ServiceUnavailable`… classes. Payload formats follow SageMaker's common inference formats
 * (CSV rows, `{"instances": […]}` JSON, JSON Lines) and Linear Learner's binary-classification
 * answers (`{"score": …, "predicted_label": …}`).
 *
 * @see https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
 * @see https://docs.aws.amazon.com/sagemaker/latest/dg/cdf-inference.html
 * @see https://docs.aws.amazon.com/sagemaker/latest/dg/LL-in-formats.html
 * @module
 */
import type { LogisticModel, Scored } from './models.js';

/** InvokeEndpoint's largest request body: 6 MB (the API's `Body` length constraint, 6291456). */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** What the real service reports for the account in messages; any 12 digits will do locally. */
export const ACCOUNT_ID = '000000000000';

/** The production variant every local endpoint has, as SageMaker names the default one. */
export const VARIANT = 'AllTraffic';

/**
 * The errors InvokeEndpoint returns, with their HTTP status. All but `ThrottlingException` are
 * modelled by the SageMaker Runtime service model (the SDK has a class for each); throttling is
 * AWS's common error, which the SDK reports by name and retries as throttling.
 */
export const ERROR_STATUS = {
  ValidationError: 400,
  ModelError: 424,
  ModelNotReadyException: 429,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  InternalDependencyException: 530,
  ThrottlingException: 400,
  MissingAuthenticationTokenException: 403,
  UnknownOperationException: 404,
} as const;

/** An error type the local endpoint can answer with. */
export type ErrorType = keyof typeof ERROR_STATUS;

/** An AWS error response: status, headers and JSON body. */
export interface ErrorResponse {
  readonly status: number;
  readonly type: ErrorType;
  readonly body: Record<string, unknown>;
}

/**
 * The error response of `type` with `message`; a `ModelError` also carries what the container
 * said (`OriginalStatusCode`, `OriginalMessage`) and where its log would be, as the service does.
 *
 * @example awsError('ValidationError', 'Endpoint x of account 000000000000 not found.')
 */
export function awsError(type: ErrorType, message: string, model?: { readonly status: number; readonly message: string; readonly endpoint: string }): ErrorResponse {
  // modelled SageMaker errors carry `Message`; AWS's common errors a lower-case `message`
  const common = type === 'ThrottlingException' || type === 'MissingAuthenticationTokenException' || type === 'UnknownOperationException';
  const body: Record<string, unknown> = common ? { message } : { Message: message };
  if (model !== undefined) {
    body['OriginalStatusCode'] = model.status;
    body['OriginalMessage'] = model.message;
    body['LogStreamArn'] = `arn:aws:logs:us-east-1:${ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${model.endpoint}`;
  }
  return { status: ERROR_STATUS[type], type, body };
}

/**
 * The service's wrapping of an error from the model container: status 424 `ModelError`.
 *
 * @example modelError('telemetry-anomaly', 400, 'row 2 has 3 values; the model takes 6')
 */
export function modelError(endpoint: string, status: number, message: string): ErrorResponse {
  const kind = status < 500 ? 'client' : 'server';
  return awsError(
    'ModelError',
    `Received ${kind} error (${status}) from primary with message "${message}". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/${endpoint} in account ${ACCOUNT_ID} for more information.`,
    { status, message, endpoint },
  );
}

/** The payload formats the models read and write. */
export type Format = 'csv' | 'json' | 'jsonlines';

const FORMATS: Readonly<Record<string, Format>> = {
  'text/csv': 'csv',
  'application/json': 'json',
  'application/jsonlines': 'jsonlines',
  'application/jsonl': 'jsonlines',
  'application/x-jsonlines': 'jsonlines',
};

/** The MIME type each format is answered with. */
export const CONTENT_TYPES: Readonly<Record<Format, string>> = { csv: 'text/csv', json: 'application/json', jsonlines: 'application/jsonlines' };

/**
 * The format of a `Content-Type` header, parameters (`; charset=utf-8`) ignored; undefined when
 * the models cannot read it.
 *
 * @example formatOf('text/csv; charset=utf-8') // 'csv'
 */
export function formatOf(contentType: string | undefined): Format | undefined {
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return FORMATS[mime];
}

/**
 * The answer format for an `Accept` header: the first type listed that the models write, else
 * the request's own format for a missing header or `*∕*`; undefined when nothing listed fits.
 *
 * @example acceptedFormat('application/jsonlines', 'csv') // 'jsonlines'
 */
export function acceptedFormat(accept: string | undefined, request: Format): Format | undefined {
  if (accept === undefined || accept.trim() === '') return request;
  for (const part of accept.split(',')) {
    const mime = part.split(';')[0]?.trim().toLowerCase() ?? '';
    if (mime === '*/*') return request;
    const format = FORMATS[mime];
    if (format !== undefined) return format;
  }
  return undefined;
}

/** A payload the model cannot read; becomes a 400 from the "container", i.e. a ModelError. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

/**
 * The feature rows of a request body, each in model order. Accepts CSV rows of numbers; JSON
 * `{"instances": [row…]}`, `[row…]`, or one row; JSON Lines with one row per line. A row is an
 * array of numbers, `{"features": [numbers]}`, or an object of named features.
 *
 * @example decodeRows('1,2,3\n4,5,6\n', 'csv', model) // [[1, 2, 3], [4, 5, 6]]
 * @throws PayloadError naming the row and the problem
 */
export function decodeRows(text: string, format: Format, model: LogisticModel): number[][] {
  if (format === 'csv') {
    return lines(text).map((line, i) => {
      const cells = line.split(',');
      return checkRow(
        cells.map((cell) => {
          const value = cell.trim() === '' ? Number.NaN : Number(cell);
          if (!Number.isFinite(value)) throw new PayloadError(`row ${i + 1}: could not convert '${cell.trim()}' to a number`);
          return value;
        }),
        i,
        model,
      );
    });
  }
  if (format === 'jsonlines') return lines(text).map((line, i) => rowOf(parse(line, `line ${i + 1}`), i, model));
  const body = parse(text, 'body');
  if (Array.isArray(body) && body.every((x) => typeof x === 'number')) return [rowOf(body, 0, model)];
  const instances = Array.isArray(body) ? body : isObject(body) && Array.isArray(body['instances']) ? (body['instances'] as unknown[]) : [body];
  return instances.map((row, i) => rowOf(row, i, model));
}

/**
 * The response body for scored rows in `format`.
 *
 * @example encodeScores([{ score: 0.9, predicted_label: 1 }], 'jsonlines') // '{"score":0.9,"predicted_label":1}\n'
 */
export function encodeScores(scores: readonly Scored[], format: Format): string {
  if (format === 'json') return JSON.stringify({ predictions: scores });
  if (format === 'jsonlines') return scores.map((s) => JSON.stringify(s) + '\n').join('');
  return scores.map((s) => `${s.score}\n`).join('');
}

function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.at(-1) === '') all.pop();
  if (all.length === 0) throw new PayloadError('the body holds no rows');
  return all;
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PayloadError(`${what} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rowOf(value: unknown, i: number, model: LogisticModel): number[] {
  if (Array.isArray(value)) return checkRow(value, i, model);
  if (isObject(value) && Array.isArray(value['features'])) return checkRow(value['features'] as unknown[], i, model);
  if (isObject(value)) {
    return checkRow(
      model.features.map((name) => {
        if (!(name in value)) throw new PayloadError(`row ${i + 1}: missing feature '${name}'`);
        return value[name];
      }),
      i,
      model,
    );
  }
  throw new PayloadError(`row ${i + 1}: expected an array of numbers or an object of features, got ${JSON.stringify(value)}`);
}

function checkRow(row: readonly unknown[], i: number, model: LogisticModel): number[] {
  if (row.length !== model.features.length) throw new PayloadError(`row ${i + 1} has ${row.length} values; the model takes ${model.features.length} (${model.features.join(', ')})`);
  return row.map((x, j) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new PayloadError(`row ${i + 1}: feature '${model.features[j]}' is ${JSON.stringify(x)}, not a number`);
    return x;
  });
}
