/**
 * The enhanced fan-out reader's only calls to Kinesis: DescribeStreamSummary,
 * Describe/RegisterStreamConsumer, SubscribeToShard (and, for the optional end probe,
 * GetShardIterator and GetRecords) through `@aws-sdk/client-kinesis`, behind a
 * narrow interface so `index.ts` (and its unit tests) needs no network. Errors are the SDK's own,
 * unchanged (their `name` says which), for `index.ts` to classify; the SDK's own retries are off.
 *
 * Two clients: the non-streaming calls go over HTTP/1.1 (`NodeHttpHandler`); SubscribeToShard goes
 * over HTTP/2 through {@link SubscriptionHttp2Handler}, this file's own request handler, while the
 * SDK still signs the request and decodes the `application/vnd.amazon.eventstream` response. The
 * SDK's `NodeHttp2Handler` closes the session (GOAWAY) as soon as an event-stream response starts,
 * to retire the connection once the stream ends; kinesis-local answers that GOAWAY by resetting
 * the open stream with PROTOCOL_ERROR, so every subscription failed there with ERR_HTTP2_ERROR
 * right after its 200. This handler closes the session only after the stream has closed, and
 * closes the stream (CANCEL) when the subscription is abandoned, which also frees the
 * consumer's one-subscription-per-shard slot at once.
 *
 * @module
 */
import http2 from 'node:http2';
import { DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, RegisterStreamConsumerCommand, SubscribeToShardCommand, type StartingPosition, type SubscribeToShardCommandOutput } from '@aws-sdk/client-kinesis';
import { HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsClientConfig, type AwsClientTarget } from '../../../aws/client.js';
import type { ShardPosition, ShardRecord } from '../shard-stream.js';

/** A registered enhanced fan-out consumer. */
export interface ConsumerInfo {
  readonly arn: string;
  /** `CREATING`, `DELETING` or `ACTIVE`. */
  readonly status: string;
}

/** One SubscribeToShardEvent, in the reader's terms. */
export interface SubscriptionEvent {
  readonly records: readonly ShardRecord[];
  /** Where the next subscription continues (AFTER_SEQUENCE_NUMBER); undefined once the shard is fully read. */
  readonly continuationSequenceNumber: string | undefined;
  readonly millisBehindLatest: number | undefined;
  /** ChildShards' ids, when the event carried any (the shard is closed). */
  readonly childShardIds: readonly string[] | undefined;
}

/** What a subscription request says. */
export interface SubscribeRequest {
  readonly consumerArn: string;
  readonly shardId: string;
  readonly position: ShardPosition;
  /** Aborting it closes the HTTP/2 stream: the events end or throw. */
  readonly signal: AbortSignal;
}

/**
 * What the fan-out reader needs from Kinesis. Rejections (and errors thrown while iterating the
 * events) are the SDK's errors: ResourceNotFoundException, ResourceInUseException,
 * LimitExceededException, AccessDeniedException…
 *
 * @example const service: FanOutService = fanOutService({ endpointUrl, region, credentials: undefined })
 * @see fanOutService
 */
export interface FanOutService {
  /** The stream's ARN (consumers are registered per stream ARN). */
  streamArn(streamName: string): Promise<string>;
  /** The consumer, or undefined when the stream has none of that name. */
  describeConsumer(streamArn: string, consumerName: string): Promise<ConsumerInfo | undefined>;
  registerConsumer(streamArn: string, consumerName: string): Promise<ConsumerInfo>;
  /**
   * Starts one subscription. The events are read from the HTTP/2 stream only as fast as the
   * iterator is pulled (the stream's flow-control window fills and the server waits).
   */
  subscribe(request: SubscribeRequest): Promise<AsyncIterator<SubscriptionEvent>>;
  /**
   * Asks GetRecords whether the shard is closed with nothing after `sequenceNumber`: its child
   * shard ids if so, undefined if records follow or the shard is open. One GetShardIterator and
   * one GetRecords call (they count against the shard's polling limits).
   */
  shardEnd(streamArn: string, shardId: string, sequenceNumber: string): Promise<readonly string[] | undefined>;
  close(): void;
}

/** How the fan-out service's clients are made. */
export interface FanOutServiceSettings extends AwsClientTarget {
  /**
   * A subscription with no data for this long is taken as dead and closed (the reader then
   * re-subscribes). Kinesis sends an event at least every few seconds, even with no records.
   */
  readonly idleTimeoutMs?: number;
}

/** Default of {@link FanOutServiceSettings.idleTimeoutMs}. */
export const SUBSCRIPTION_IDLE_TIMEOUT_MS = 30_000;

/**
 * The fan-out service for one Kinesis endpoint (AWS's over https, or kinesis-local's plain port
 * over h2c). A loopback endpoint gets us-east-1 and dummy credentials unless told otherwise.
 *
 * @example const service = fanOutService({ endpointUrl: 'http://127.0.0.1:4568', region: undefined, credentials: undefined })
 * @see FanOutService
 */
export function fanOutService(settings: FanOutServiceSettings): FanOutService {
  const config = awsClientConfig(settings);
  const timeouts = config.requestHandler;
  const http1 = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler(timeouts === undefined ? {} : { connectionTimeout: timeouts.connectionTimeout, requestTimeout: timeouts.requestTimeout }) });
  const streaming = new KinesisClient({ ...config, requestHandler: new SubscriptionHttp2Handler({ idleTimeoutMs: settings.idleTimeoutMs ?? SUBSCRIPTION_IDLE_TIMEOUT_MS, connectTimeoutMs: timeouts?.connectionTimeout ?? 10_000 }) });
  return {
    async streamArn(streamName) {
      const out = await http1.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      const arn = out.StreamDescriptionSummary?.StreamARN;
      if (arn === undefined) throw new Error(`DescribeStreamSummary of '${streamName}' returned no StreamARN`);
      return arn;
    },
    async describeConsumer(streamArn, consumerName) {
      try {
        const out = await http1.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }));
        return consumerInfo(out.ConsumerDescription);
      } catch (err) {
        if (err instanceof Error && err.name === 'ResourceNotFoundException') return undefined;
        throw err;
      }
    },
    async registerConsumer(streamArn, consumerName) {
      const out = await http1.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }));
      return consumerInfo(out.Consumer);
    },
    async subscribe({ consumerArn, shardId, position, signal }) {
      const out = await streaming.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: startingPosition(position) }), { abortSignal: signal });
      if (out.EventStream === undefined) throw new Error(`SubscribeToShard of ${shardId} returned no event stream`);
      return events(out.EventStream);
    },
    async shardEnd(streamArn, shardId, sequenceNumber) {
      const iterator = await http1.send(new GetShardIteratorCommand({ StreamARN: streamArn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: sequenceNumber }));
      if (iterator.ShardIterator === undefined) return undefined;
      const out = await http1.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1 }));
      if ((out.Records ?? []).length > 0 || out.NextShardIterator !== undefined) return undefined;
      return (out.ChildShards ?? []).map((c) => c.ShardId ?? '').filter((id) => id !== '');
    },
    close() {
      http1.destroy();
      streaming.destroy();
    },
  };
}

type EventStream = NonNullable<SubscribeToShardCommandOutput['EventStream']>;

async function* events(stream: EventStream): AsyncGenerator<SubscriptionEvent, void, undefined> {
  for await (const item of stream) {
    const event = item.SubscribeToShardEvent;
    if (event === undefined) {
      // the SDK throws modelled exceptions itself; anything else in the union is one it did not know
      const [name, value] = Object.entries(item)[0] ?? ['$unknown', undefined];
      if (name === '$unknown') continue;
      const err = new Error(`SubscribeToShard event stream: ${name}: ${String((value as { message?: string } | undefined)?.message ?? '')}`);
      err.name = name;
      throw err;
    }
    yield {
      records: (event.Records ?? []).map((r) => ({
        sequenceNumber: r.SequenceNumber ?? '',
        partitionKey: r.PartitionKey ?? '',
        data: r.Data ?? new Uint8Array(0),
        arrival: r.ApproximateArrivalTimestamp?.getTime(),
      })),
      continuationSequenceNumber: event.ContinuationSequenceNumber ?? undefined,
      millisBehindLatest: event.MillisBehindLatest,
      childShardIds: event.ChildShards === undefined ? undefined : event.ChildShards.map((c) => c.ShardId ?? '').filter((id) => id !== ''),
    };
  }
}

function consumerInfo(description: { ConsumerARN?: string | undefined; ConsumerStatus?: string | undefined } | undefined): ConsumerInfo {
  if (description?.ConsumerARN === undefined) throw new Error('Kinesis described a consumer without ConsumerARN');
  return { arn: description.ConsumerARN, status: description.ConsumerStatus ?? 'UNKNOWN' };
}

function startingPosition(position: ShardPosition): StartingPosition {
  switch (position.type) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { Type: position.type };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: new Date(position.timestamp) };
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: position.type, SequenceNumber: position.sequenceNumber };
  }
}

/** Timeouts of {@link SubscriptionHttp2Handler}. */
export interface SubscriptionHttp2HandlerOptions {
  /** No bytes on the stream for this long closes it. */
  readonly idleTimeoutMs: number;
  /** The connection (and TLS handshake) must be up within this. */
  readonly connectTimeoutMs: number;
}

/**
 * An SDK request handler for SubscribeToShard: one HTTP/2 session per subscription (h2c for
 * `http://`, h2 over TLS with ALPN for `https://`), request body and END_STREAM in one write, the
 * response body handed to the SDK's event-stream decoder as the HTTP/2 stream itself, so it is read
 * no faster than the decoder is pulled. The session is closed only once the stream has closed
 * (see the module comment for why).
 */
export class SubscriptionHttp2Handler {
  readonly metadata = { handlerProtocol: 'h2' };
  readonly #options: SubscriptionHttp2HandlerOptions;
  readonly #sessions = new Set<http2.ClientHttp2Session>();

  constructor(options: SubscriptionHttp2HandlerOptions) {
    this.#options = options;
  }

  handle(request: HttpRequest, { abortSignal }: { abortSignal?: AbortSignal | { aborted: boolean } } = {}): Promise<{ response: HttpResponse }> {
    return new Promise((resolve, reject) => {
      const signal = abortSignal instanceof AbortSignal ? abortSignal : undefined;
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const authority = `${request.protocol}//${request.hostname}${request.port === undefined ? '' : `:${request.port}`}`;
      const session = http2.connect(authority);
      this.#sessions.add(session);
      let settled = false;
      const fail = (err: Error): void => {
        if (!settled) {
          settled = true;
          reject(err);
        }
        session.destroy();
      };
      const connectTimer = setTimeout(() => fail(timeoutError(`no HTTP/2 connection to ${authority} within ${this.#options.connectTimeoutMs} ms`)), this.#options.connectTimeoutMs);
      session.once('connect', () => clearTimeout(connectTimer));
      session.on('error', fail);
      session.once('close', () => {
        clearTimeout(connectTimer);
        this.#sessions.delete(session);
        if (!settled) fail(new Error(`HTTP/2 session to ${authority} closed before a response`));
      });
      const query = request.query === undefined ? '' : new URLSearchParams(Object.entries(request.query).flatMap(([k, v]) => (v === null ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x])))).toString();
      const stream = session.request({ ...request.headers, ':method': request.method, ':path': request.path + (query === '' ? '' : `?${query}`) });
      const onAbort = (): void => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        fail(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.setTimeout(this.#options.idleTimeoutMs, () => {
        const err = timeoutError(`no data from SubscribeToShard for ${this.#options.idleTimeoutMs} ms`);
        stream.destroy(err);
        fail(err);
      });
      stream.on('error', fail);
      stream.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        // only now: a GOAWAY while the stream is open makes kinesis-local reset it
        session.close();
      });
      stream.once('response', (headers) => {
        settled = true;
        const plain: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) {
          if (!name.startsWith(':') && value !== undefined) plain[name] = Array.isArray(value) ? value.join(', ') : String(value);
        }
        resolve({ response: new HttpResponse({ statusCode: Number(headers[':status'] ?? -1), headers: plain, body: stream }) });
      });
      const body: unknown = request.body;
      if (body === undefined || body === null) stream.end();
      else if (typeof body === 'string' || body instanceof Uint8Array) stream.end(body);
      else fail(new Error('SubscribeToShard request body is not a string or bytes'));
    });
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    for (const session of this.#sessions) session.destroy();
    this.#sessions.clear();
  }
}

function abortError(): Error {
  const err = new Error('SubscribeToShard aborted');
  err.name = 'AbortError';
  return err;
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}
