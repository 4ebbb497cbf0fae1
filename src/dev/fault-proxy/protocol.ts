/**
 * The wire formats the fault proxy speaks: which protocol a request belongs to, the error answers
 * each peer gives when it throttles or fails (so clients classify them as they would the real
 * service's), and Firehose PutRecordBatch taken apart and put back together for partial
 * failures. Pure functions on bytes and headers; the sockets are in `service.ts`.
 *
 * @module
 */
import type { ThrottleAnswer } from './plan.js';

/**
 * The protocols a peer may speak, for the shape of injected errors:
 * - `aws-json`: AWS JSON 1.0/1.1 (Firehose, Timestream, Kinesis, DynamoDB): `{"__type","message"}` and `x-amzn-ErrorType`;
 * - `aws-xml`: AWS REST-XML (S3): `<Error><Code>…</Code><Message>…</Message></Error>`;
 * - `opensearch`: OpenSearch/Elasticsearch: `{"error":{"root_cause":[…],"type","reason"},"status"}`;
 * - `influxdb`: InfluxDB's HTTP API: `{"code","message"}`.
 */
export type PeerProtocol = 'aws-json' | 'aws-xml' | 'opensearch' | 'influxdb';

/** An answer the proxy gives instead of the peer's. */
export interface InjectedAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What protocol detection looks at. */
export interface RequestHeadersInfo {
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * The protocol a request speaks, from its headers and path: an `X-Amz-Target` or an
 * `application/x-amz-json-*` body is AWS JSON; other SigV4-signed requests are REST-XML (S3);
 * InfluxDB's write and query routes are InfluxDB; anything else is answered as OpenSearch.
 *
 * @example protocolOf({ path: '/', headers: { 'x-amz-target': 'Firehose_20150804.PutRecordBatch' } }) // 'aws-json'
 */
export function protocolOf(request: RequestHeadersInfo): PeerProtocol {
  const header = (name: string): string => {
    const value = request.headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? '';
  };
  if (header('x-amz-target') !== '' || header('content-type').startsWith('application/x-amz-json')) return 'aws-json';
  if (header('authorization').startsWith('AWS4-HMAC-SHA256')) return 'aws-xml';
  if (/^\/(api\/v2\/(write|query)|write|query)(\/|$|\?)/.test(request.path)) return 'influxdb';
  return 'opensearch';
}

/** Messages of injected answers say so, for whoever reads a log of them. */
const INJECTED = '(injected by the Sluice fault proxy)';

/**
 * The answer of a peer that throttles the request: AWS JSON `400 ThrottlingException`
 * ("Rate exceeded"), S3 `503 SlowDown`, OpenSearch `429 rejected_execution_exception`, InfluxDB
 * `429 too many requests`; `override` replaces status and code.
 *
 * @example throttleAnswer('aws-json', { requestId: 'r1', contentType: 'application/x-amz-json-1.1' }).status // 400
 * @see errorAnswer
 */
export function throttleAnswer(protocol: PeerProtocol, context: AnswerContext, override?: ThrottleAnswer): InjectedAnswer {
  if (override !== undefined) return answer(protocol, context, override.status, override.code, override.message ?? `${override.code} ${INJECTED}`);
  switch (protocol) {
    case 'aws-json':
      return answer(protocol, context, 400, 'ThrottlingException', `Rate exceeded ${INJECTED}`);
    case 'aws-xml':
      return answer(protocol, context, 503, 'SlowDown', `Please reduce your request rate. ${INJECTED}`);
    case 'opensearch':
      return answer(protocol, context, 429, 'rejected_execution_exception', `rejected execution of coordinating operation: write queue is full ${INJECTED}`);
    case 'influxdb':
      return answer(protocol, context, 429, 'too many requests', `write rate limit exceeded ${INJECTED}`);
  }
}

/**
 * The answer of a peer failing on its side: AWS JSON `503 ServiceUnavailableException`, S3
 * `500 InternalError`, OpenSearch and InfluxDB `503`.
 *
 * @example errorAnswer('aws-xml', { requestId: 'r1' }).body // '<?xml …><Error><Code>InternalError</Code>…'
 * @see throttleAnswer
 */
export function errorAnswer(protocol: PeerProtocol, context: AnswerContext): InjectedAnswer {
  switch (protocol) {
    case 'aws-json':
      return answer(protocol, context, 503, 'ServiceUnavailableException', `Service Unavailable ${INJECTED}`);
    case 'aws-xml':
      return answer(protocol, context, 500, 'InternalError', `We encountered an internal error. Please try again. ${INJECTED}`);
    case 'opensearch':
      return answer(protocol, context, 503, 'unavailable_shards_exception', `primary shard is not active ${INJECTED}`);
    case 'influxdb':
      return answer(protocol, context, 503, 'unavailable', `service unavailable ${INJECTED}`);
  }
}

/** Per request: its id, and the content type AWS JSON answers echo. */
export interface AnswerContext {
  readonly requestId: string;
  readonly contentType?: string | undefined;
}

function answer(protocol: PeerProtocol, context: AnswerContext, status: number, code: string, message: string): InjectedAnswer {
  switch (protocol) {
    case 'aws-json': {
      const contentType = context.contentType?.startsWith('application/x-amz-json') === true ? context.contentType : 'application/x-amz-json-1.1';
      return {
        status,
        headers: { 'content-type': contentType, 'x-amzn-errortype': code, 'x-amzn-requestid': context.requestId },
        body: JSON.stringify({ __type: code, message }),
      };
    }
    case 'aws-xml':
      return {
        status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': context.requestId },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message><RequestId>${xml(context.requestId)}</RequestId></Error>`,
      };
    case 'opensearch': {
      const cause = { type: code, reason: message };
      return { status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ error: { root_cause: [cause], ...cause }, status }) };
    }
    case 'influxdb':
      return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'x-influxdb-request-id': context.requestId }, body: JSON.stringify({ code, message }) };
  }
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** What Firehose answers, per record, for a record it did not take because the stream is over its rate. */
export const FIREHOSE_REFUSED = { ErrorCode: 'ServiceUnavailableException', ErrorMessage: `Slow down. ${INJECTED}` } as const;

/** A PutRecordBatch request body, parsed: the whole object (to keep its other fields) and its records. */
export interface PutRecordBatchRequest {
  readonly body: Record<string, unknown>;
  readonly records: readonly unknown[];
}

/**
 * Parses a PutRecordBatch request body; undefined when it is not one (not JSON, no `Records`
 * array), and the proxy forwards it untouched.
 *
 * @example parsePutRecordBatch(Buffer.from('{"DeliveryStreamName":"s","Records":[{"Data":"eA=="}]}'))?.records.length // 1
 */
export function parsePutRecordBatch(body: Buffer): PutRecordBatchRequest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const records = (parsed as { Records?: unknown }).Records;
  if (!Array.isArray(records)) return undefined;
  return { body: parsed as Record<string, unknown>, records };
}

/**
 * The body of the call the peer gets: the same request with only the records at `keep`, in order.
 *
 * @example subRequest(parsed, [0, 2]) // Buffer of {"DeliveryStreamName":…,"Records":[r0, r2]}
 */
export function subRequest(request: PutRecordBatchRequest, keep: readonly number[]): Buffer {
  return Buffer.from(JSON.stringify({ ...request.body, Records: keep.map((i) => request.records[i]) }));
}

/** One entry of PutRecordBatch's `RequestResponses`. */
export interface PutResponseEntry {
  readonly RecordId?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

/**
 * The answer to the client's whole call, from the peer's answer for the forwarded records:
 * `RequestResponses` in the client's record order, the peer's entry for each forwarded record
 * (its RecordId, or its own error), {@link FIREHOSE_REFUSED} for each refused one, and
 * `FailedPutCount` counting every entry with an error. Throws when the peer's answer does not have
 * one entry per forwarded record (the proxy then passes the peer's answer on as it is).
 *
 * @example mergePutRecordBatch(3, [0, 2], { FailedPutCount: 0, RequestResponses: [{ RecordId: 'a' }, { RecordId: 'c' }] }).FailedPutCount // 1
 * @see subRequest
 */
export function mergePutRecordBatch(
  count: number,
  kept: readonly number[],
  peer: unknown,
): { FailedPutCount: number; Encrypted?: boolean; RequestResponses: PutResponseEntry[] } {
  const responses = (peer as { RequestResponses?: unknown } | null)?.RequestResponses;
  if (!Array.isArray(responses) || responses.length !== kept.length) {
    throw new Error(`the peer answered ${Array.isArray(responses) ? responses.length : 'no'} RequestResponses for ${kept.length} records`);
  }
  const merged: PutResponseEntry[] = Array.from({ length: count }, () => ({ ...FIREHOSE_REFUSED }));
  kept.forEach((index, i) => {
    merged[index] = responses[i] as PutResponseEntry;
  });
  const encrypted = (peer as { Encrypted?: unknown }).Encrypted;
  return {
    FailedPutCount: merged.filter((entry) => entry.ErrorCode !== undefined && entry.ErrorCode !== null).length,
    ...(typeof encrypted === 'boolean' ? { Encrypted: encrypted } : {}),
    RequestResponses: merged,
  };
}
