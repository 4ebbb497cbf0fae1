/**
 * The fault proxy's only network code: an HTTP server on 127.0.0.1 that forwards each request to
 * its peer (moto, OpenSearch, InfluxDB: plain HTTP on loopback) and, as its plan says, answers
 * some itself (throttling, 5xx), delays them, cuts their connection, or sends Firehose only part
 * of a PutRecordBatch call and merges the answer. Every request is read whole before it is
 * forwarded (bodies are a few MiB at most); answers are passed on with the peer's status and
 * headers.
 *
 * A rewritten PutRecordBatch keeps the client's SigV4 signature, which no longer matches its
 * body: fine for moto, which does not check signatures, but a peer that does would refuse it.
 */
import { Waits } from '../common/waits.js';
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { FaultSchedule, type FaultPlan, type RequestInfo } from './plan.js';
import { errorAnswer, mergePutRecordBatch, parsePutRecordBatch, protocolOf, subRequest, throttleAnswer, type InjectedAnswer } from './protocol.js';

/**
 * What the proxy did since it started or was last reset. `matched` requests are the ones the
 * plan applied to; each of them is counted once more, under what happened to it.
 *
 * @see FaultProxy.stats
 */
export interface FaultProxyStats {
  /** Every request received. */
  readonly requests: number;
  /** Requests the plan's `match` selected. */
  readonly matched: number;
  /** Requests sent on to the peer (partly failed calls included, dropped-at-response ones too). */
  readonly forwarded: number;
  /** Answered with the protocol's throttling error. */
  readonly throttled: number;
  /** Answered with a 5xx error. */
  readonly errors: number;
  /** Connections destroyed instead of answering, before or after the peer saw the request. */
  readonly dropped: number;
  readonly droppedAfterForward: number;
  /** Forwarded with added latency. */
  readonly delayed: number;
  /** PutRecordBatch calls answered with a partial failure, and their records refused and forwarded. */
  readonly partialCalls: number;
  readonly refusedRecords: number;
  readonly forwardedRecords: number;
  /** Requests the peer could not be reached for (answered 502). */
  readonly peerFailures: number;
  /** Requests not answered yet. */
  readonly inFlight: number;
  /** Requests by operation: the `X-Amz-Target`, else `METHOD /first-path-segment`. */
  readonly byOperation: Readonly<Record<string, number>>;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: give it to the client instead of the peer's address. */
  readonly url: string;
  readonly port: number;
  /** The peer, `http://HOST:PORT`. */
  readonly target: string;
  stats(): FaultProxyStats;
  resetStats(): void;
  /** Replaces the plan, with its counts and draws started afresh (`{}` heals); throws on a bad plan. */
  setPlan(plan: FaultPlan): void;
  plan(): FaultPlan;
  /** Closes every connection and the port; requests waiting in it are cut. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link listenFaultProxy}. */
export interface FaultProxySettings {
  readonly target: URL;
  /** 0: a free port. */
  readonly port: number;
  readonly plan: FaultPlan;
}

type Counts = { -readonly [K in Exclude<keyof FaultProxyStats, 'inFlight' | 'byOperation'>]: number } & { byOperation: Record<string, number> };

/** Headers that belong to one connection, never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Bodies larger than this are refused (413): no sink sends more than a few MiB per request. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Starts the proxy on 127.0.0.1:`port` and resolves once it listens.
 *
 * @example const proxy = await listenFaultProxy({ target: new URL('http://127.0.0.1:5000'), port: 0, plan: { throttleFirst: 2 } })
 */
export async function listenFaultProxy(settings: FaultProxySettings): Promise<FaultProxy> {
  const target = settings.target;
  let schedule = new FaultSchedule(settings.plan);
  let counts = freshCounts();
  let inFlight = 0;
  let stopping = false;
  // keep-alive to the peer, as a client would; destroyed with the proxy
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const waits = new Waits();


  const send = (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer | string, head = false): void => {
    if (res.destroyed || res.writableEnded) return;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, head ? headers : { ...headers, 'content-length': String(bytes.length) });
    res.end(head ? undefined : bytes);
  };
  const inject = (res: ServerResponse, injected: InjectedAnswer): void => send(res, injected.status, injected.headers, injected.body);
  /** Cuts the client's connection: it sees a reset, never an answer. */
  const drop = (req: IncomingMessage, res: ServerResponse): void => {
    res.destroy();
    req.socket.destroy();
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<PeerAnswer> =>
    new Promise((resolve, reject) => {
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
      }
      headers['host'] = target.host;
      headers['content-length'] = String(body.length);
      const out = httpRequest({ agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.once('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
        answer.once('error', reject);
      });
      out.once('error', reject);
      out.end(body);
    });

  const passOn = (req: IncomingMessage, res: ServerResponse, peer: PeerAnswer): void => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(peer.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    // HEAD answers keep the peer's content-length: it describes the body a GET would get
    send(res, peer.status, headers, peer.body, req.method === 'HEAD' || peer.status === 204 || peer.status === 304);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const c = counts;
    c.requests++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const targetHeader = req.headers['x-amz-target'];
    const request: RequestInfo = { method: req.method ?? 'GET', path, target: typeof targetHeader === 'string' ? targetHeader : undefined };
    const operation = request.target ?? `${request.method} /${path.split('/')[1] ?? ''}`;
    c.byOperation[operation] = (c.byOperation[operation] ?? 0) + 1;
    const decision = schedule.decide(request);
    if (decision.kind !== 'forward' || decision.matched) c.matched++;
    if (decision.kind === 'drop' && decision.at === 'request') {
      c.dropped++;
      return drop(req, res);
    }
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { 'content-type': 'text/plain' }, `request over ${MAX_BODY_BYTES} bytes`);
    const context = { requestId: randomUUID(), contentType: req.headers['content-type'] };
    const protocol = protocolOf({ path, headers: req.headers });
    if (decision.kind === 'throttle') {
      c.throttled++;
      return inject(res, throttleAnswer(protocol, context, schedule.plan.throttleAs));
    }
    if (decision.kind === 'error') {
      c.errors++;
      return inject(res, errorAnswer(protocol, context));
    }
    if (decision.delayMs > 0) {
      c.delayed++;
      await waits.sleep(decision.delayMs, res);
      if (stopping || res.destroyed) return;
    }
    if (decision.kind === 'partial') return partial(req, res, body, c);
    let peer: PeerAnswer;
    try {
      c.forwarded++;
      peer = await forward(req, body);
    } catch (err) {
      c.peerFailures++;
      return send(res, 502, { 'content-type': 'text/plain' }, `the fault proxy could not reach ${target.origin}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (decision.kind === 'drop') {
      c.dropped++;
      c.droppedAfterForward++;
      return drop(req, res);
    }
    passOn(req, res, peer);
  };

  /** Forwards part of a PutRecordBatch call and answers for the whole. */
  const partial = async (req: IncomingMessage, res: ServerResponse, body: Buffer, c: Counts): Promise<void> => {
    const parsed = req.headers['content-encoding'] === undefined ? parsePutRecordBatch(body) : undefined;
    const refused = parsed === undefined ? [] : schedule.refusals(parsed.records.length);
    let peer: PeerAnswer;
    try {
      c.forwarded++;
      if (parsed === undefined || refused.length === 0) {
        peer = await forward(req, body);
        return passOn(req, res, peer);
      }
      const refusedSet = new Set(refused);
      const kept = parsed.records.map((_, i) => i).filter((i) => !refusedSet.has(i));
      peer = await forward(req, subRequest(parsed, kept));
      if (peer.status !== 200) return passOn(req, res, peer);
      const text = (peer.headers['content-encoding'] === 'gzip' ? gunzipSync(peer.body) : peer.body).toString('utf8');
      let merged: ReturnType<typeof mergePutRecordBatch>;
      try {
        merged = mergePutRecordBatch(parsed.records.length, kept, JSON.parse(text) as unknown);
      } catch {
        return passOn(req, res, peer);
      }
      c.partialCalls++;
      c.refusedRecords += refused.length;
      c.forwardedRecords += kept.length;
      const headers: OutgoingHttpHeaders = { 'content-type': peer.headers['content-type'] ?? 'application/x-amz-json-1.1' };
      const requestId = peer.headers['x-amzn-requestid'];
      if (requestId !== undefined) headers['x-amzn-requestid'] = requestId;
      send(res, 200, headers, JSON.stringify(merged));
    } catch (err) {
      c.peerFailures++;
      send(res, 502, { 'content-type': 'text/plain' }, `the fault proxy could not reach ${target.origin}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const server: Server = createServer((req, res) => {
    // a client that hangs up must not take the proxy down
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    inFlight++;
    res.once('close', () => inFlight--);
    handle(req, res).catch((err: unknown) => {
      if (res.destroyed || res.writableEnded) return;
      send(res, 500, { 'content-type': 'text/plain' }, `the fault proxy failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: settings.port, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : settings.port);
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    target: target.origin,
    stats: () => ({ ...counts, byOperation: { ...counts.byOperation }, inFlight }),
    resetStats: () => {
      counts = freshCounts();
    },
    setPlan: (plan) => {
      schedule = new FaultSchedule(plan);
    },
    plan: () => schedule.plan,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        stopping = true;
        waits.settleAll();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
}

interface PeerAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function freshCounts(): Counts {
  return {
    requests: 0,
    matched: 0,
    forwarded: 0,
    throttled: 0,
    errors: 0,
    dropped: 0,
    droppedAfterForward: 0,
    delayed: 0,
    partialCalls: 0,
    refusedRecords: 0,
    forwardedRecords: 0,
    peerFailures: 0,
    byOperation: {},
  };
}

/** The whole request body, or undefined when it is over {@link MAX_BODY_BYTES}. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.once('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before sending the whole body'));
    });
  });
}
