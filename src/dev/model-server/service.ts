/**
 * The local SageMaker endpoint's only network code: an HTTP server on 127.0.0.1 that answers
 * InvokeEndpoint for the models it hosts (see `protocol.ts` for the wire format), injects the
 * faults it is told to (`faults.ts`), and counts what it did. Admin routes, for tests and demos:
 *
 * - `GET /_admin/stats`: counts since start or the last reset ({@link ModelServerStats});
 * - `POST /_admin/reset`: zeroes the counts;
 * - `GET|POST /_admin/faults`: the fault settings; POST replaces them ({@link FaultSettings});
 * - `POST /_admin/release`: answers every held invocation.
 */
import { Waits } from '../common/waits.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkFaults, FAULT_MESSAGES, Faults, type FaultSettings } from './faults.js';
import { score, type LogisticModel } from './models.js';
import { ACCOUNT_ID, acceptedFormat, awsError, CONTENT_TYPES, decodeRows, encodeScores, formatOf, MAX_PAYLOAD_BYTES, modelError, PayloadError, VARIANT, type ErrorResponse } from './protocol.js';

/**
 * What the server did since it started or was last reset.
 *
 * @see ModelServer.stats
 */
export interface ModelServerStats {
  /** Requests to an invocations route, answered or not, whatever their outcome. */
  readonly invocations: number;
  /** Invocations answered with predictions. */
  readonly succeeded: number;
  /** Rows scored by those. */
  readonly records: number;
  /** Invocations answered with ThrottlingException. */
  readonly throttled: number;
  /** Error answers by type (ThrottlingException included). */
  readonly errors: Readonly<Record<string, number>>;
  /** Invocations not yet answered, and the most there were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Invocations waiting for `release()` right now. */
  readonly held: number;
  /** Invocations whose client went away before the answer (a client-side timeout). */
  readonly aborted: number;
  readonly byEndpoint: Readonly<Record<string, { readonly invocations: number; readonly records: number }>>;
}

/** Options of {@link listenModelServer}. */
export interface ModelServerSettings {
  readonly port: number;
  readonly models: ReadonlyMap<string, LogisticModel>;
  readonly faults: FaultSettings;
}

/**
 * A running local endpoint.
 *
 * @see listenModelServer
 */
export interface ModelServer {
  /** `http://127.0.0.1:PORT`: the `endpoint` to give a SageMakerRuntimeClient. */
  readonly url: string;
  readonly port: number;
  /** Endpoint names served, one per model. */
  readonly endpoints: readonly string[];
  stats(): ModelServerStats;
  resetStats(): void;
  /** Replaces the fault settings (the empty object heals the endpoint); throws on bad ones. */
  setFaults(faults: FaultSettings): void;
  faults(): FaultSettings;
  /** Answers every held invocation; returns how many there were. */
  release(): number;
  /** Answers nothing more, closes every connection and the port; safe to call twice. */
  stop(): Promise<void>;
}

interface Counts {
  invocations: number;
  succeeded: number;
  records: number;
  throttled: number;
  errors: Record<string, number>;
  maxInFlight: number;
  aborted: number;
  byEndpoint: Record<string, { invocations: number; records: number }>;
}

const ADMIN_BODY_LIMIT = 64 * 1024;

/**
 * Starts the HTTP server on 127.0.0.1:`port` (0: a free one) and resolves once it listens.
 *
 * @example const server = await listenModelServer({ port: 0, models: bundledModels(), faults: {} })
 */
export async function listenModelServer(settings: ModelServerSettings): Promise<ModelServer> {
  const models = settings.models;
  let faults = new Faults(checkFaults(settings.faults));
  let counts = freshCounts();
  let inFlight = 0;
  let stopping = false;
  /** Pending waits (latency, holds): settled early when the client leaves or the server stops. */
  const waits = new Waits();
  const held = new Set<() => void>();


  const hold = (res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        held.delete(done);
        res.off('close', done);
        resolve();
      };
      held.add(done);
      res.once('close', done);
    });

  const invoke = async (req: IncomingMessage, res: ServerResponse, endpoint: string): Promise<void> => {
    // looked up at each use: resetStats() may swap the counts while a call is in flight
    const perEndpoint = (): { invocations: number; records: number } => (counts.byEndpoint[endpoint] ??= { invocations: 0, records: 0 });
    counts.invocations++;
    perEndpoint().invocations++;
    inFlight++;
    counts.maxInFlight = Math.max(counts.maxInFlight, inFlight);
    const requestId = randomUUID();
    let answered = false;
    res.once('close', () => {
      if (!answered) counts.aborted++;
    });
    const answer = (status: number, headers: Record<string, string>, body: string): void => {
      answered = true;
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(status, { ...headers, 'x-amzn-RequestId': requestId, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    const fail = (error: ErrorResponse): void => {
      counts.errors[error.type] = (counts.errors[error.type] ?? 0) + 1;
      if (error.type === 'ThrottlingException') counts.throttled++;
      answer(error.status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': error.type }, JSON.stringify(error.body));
    };
    try {
      const body = await readBody(req, MAX_PAYLOAD_BYTES);
      const model = models.get(endpoint);
      if (model === undefined) return fail(awsError('ValidationError', `Endpoint ${endpoint} of account ${ACCOUNT_ID} not found.`));
      if (body === undefined) return fail(awsError('ValidationError', `Request ${requestId} has oversize body.`));
      const decision = faults.decide(inFlight);
      if (decision.throttle) return fail(awsError('ThrottlingException', FAULT_MESSAGES.ThrottlingException));
      if (decision.delayMs > 0) await waits.sleep(decision.delayMs, res);
      if (decision.hold && !stopping && !res.destroyed) await hold(res);
      if (stopping || res.destroyed) return;
      if (decision.error === 'ModelError') return fail(modelError(endpoint, 500, FAULT_MESSAGES.ModelError));
      if (decision.error !== undefined) return fail(awsError(decision.error, FAULT_MESSAGES[decision.error]));

      const contentType = req.headers['content-type'];
      const format = formatOf(contentType);
      if (format === undefined) {
        return fail(modelError(endpoint, 415, `unsupported content type '${contentType ?? ''}'; the model reads text/csv, application/json or application/jsonlines`));
      }
      const accepted = acceptedFormat(req.headers.accept, format);
      if (accepted === undefined) {
        return fail(modelError(endpoint, 406, `cannot answer in '${req.headers.accept ?? ''}'; the model writes text/csv, application/json or application/jsonlines`));
      }
      let rows: number[][];
      try {
        rows = decodeRows(body.toString('utf8'), format, model);
      } catch (err) {
        if (err instanceof PayloadError) return fail(modelError(endpoint, 400, err.message));
        throw err;
      }
      counts.succeeded++;
      counts.records += rows.length;
      perEndpoint().records += rows.length;
      answer(200, { 'Content-Type': CONTENT_TYPES[accepted], 'x-Amzn-Invoked-Production-Variant': VARIANT }, encodeScores(rows.map((row) => score(model, row)), accepted));
    } catch (err) {
      // a client that left mid-request is counted as aborted, not answered
      if (!res.destroyed) fail(awsError('InternalFailure', `the local model server failed: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      inFlight--;
    }
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, route: string): Promise<void> => {
    const json = (status: number, value: unknown): void => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    if (route === 'stats' && req.method === 'GET') return json(200, snapshot());
    if (route === 'reset' && req.method === 'POST') {
      counts = freshCounts();
      return json(200, snapshot());
    }
    if (route === 'release' && req.method === 'POST') return json(200, { released: releaseAll() });
    if (route === 'faults' && req.method === 'GET') return json(200, faults.settings);
    if (route === 'faults' && req.method === 'POST') {
      const body = await readBody(req, ADMIN_BODY_LIMIT);
      try {
        if (body === undefined) throw new Error('faults must be under 64 KB of JSON');
        faults = new Faults(checkFaults(JSON.parse(body.toString('utf8') || '{}') as unknown));
      } catch (err) {
        return json(400, { message: err instanceof Error ? err.message : String(err) });
      }
      return json(200, faults.settings);
    }
    return json(404, { message: `no admin route ${req.method ?? ''} /_admin/${route}; routes: GET stats, POST reset, GET|POST faults, POST release` });
  };

  const server: Server = createServer((req, res) => {
    // a client that hangs up (a timeout on its side) must not take the server down
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const invocation = /^\/endpoints\/([^/]+)\/invocations$/.exec(path);
    const adminRoute = /^\/_admin\/([a-z]+)$/.exec(path);
    const handle = async (): Promise<void> => {
      if (adminRoute !== null) return admin(req, res, adminRoute[1] as string);
      const unknown = invocation === null || req.method !== 'POST';
      const unsigned = !(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ');
      if (unknown || unsigned) {
        req.resume();
        const error = unknown
          ? awsError('UnknownOperationException', `no operation at ${req.method ?? ''} ${path}; InvokeEndpoint is POST /endpoints/{EndpointName}/invocations`)
          : awsError('MissingAuthenticationTokenException', 'Missing Authentication Token: sign the request with AWS Signature Version 4 (any credentials will do locally)');
        const body = JSON.stringify(error.body);
        res.writeHead(error.status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': error.type, 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
      return invoke(req, res, decodeURIComponent(invocation[1] as string));
    };
    handle().catch((err: unknown) => {
      if (res.destroyed || res.writableEnded) return;
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`local model server failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const releaseAll = (): number => {
    const waiting = [...held];
    for (const done of waiting) done();
    return waiting.length;
  };

  const snapshot = (): ModelServerStats => ({
    invocations: counts.invocations,
    succeeded: counts.succeeded,
    records: counts.records,
    throttled: counts.throttled,
    errors: { ...counts.errors },
    inFlight,
    maxInFlight: counts.maxInFlight,
    held: held.size,
    aborted: counts.aborted,
    byEndpoint: Object.fromEntries(Object.entries(counts.byEndpoint).map(([name, c]) => [name, { ...c }])),
  });

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
    endpoints: [...models.keys()],
    stats: snapshot,
    resetStats: () => {
      counts = freshCounts();
    },
    setFaults: (next) => {
      faults = new Faults(checkFaults(next));
    },
    faults: () => faults.settings,
    release: releaseAll,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        stopping = true;
        waits.settleAll();
        for (const done of [...held]) done();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function freshCounts(): Counts {
  return { invocations: 0, succeeded: 0, records: 0, throttled: 0, errors: {}, maxInFlight: 0, aborted: 0, byEndpoint: {} };
}

/**
 * The whole request body, or undefined when it is over `limit` bytes (read to its end all the
 * same, so the client gets the answer rather than a reset connection).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let over = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
    });
    req.once('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    // a request the client abandons mid-body ends with 'close' and no 'end'
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before sending the whole body'));
    });
  });
}
