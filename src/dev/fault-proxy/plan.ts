/**
 * What the fault proxy injects and when: a plan (plain data, checked once) and the schedule that
 * turns it into one decision per request. Pure: no sockets, no clock, a seeded generator for the
 * rates, so the same plan over the same sequence of requests injects the same faults, and tests
 * of a sink's retries repeat.
 *
 * @module
 */

/**
 * Which requests a plan applies to; every field given must hold. Requests that do not match are
 * forwarded untouched and not counted by the plan's counters (`passFirst`, `throttleFirst`…).
 *
 * @example { target: 'Firehose_20150804.PutRecordBatch' } // only Firehose writes, not DescribeDeliveryStream
 * @example { pathPrefix: '/_bulk' } // only OpenSearch bulk requests, not the sink's `HEAD /`
 */
export interface FaultMatch {
  /** The `X-Amz-Target` header, exactly (AWS JSON protocols: Firehose, Timestream, Kinesis…). */
  readonly target?: string;
  /** The request path (without the query) starts with this. */
  readonly pathPrefix?: string;
  /** The HTTP method, e.g. `POST`. */
  readonly method?: string;
}

/**
 * Partial failures of Firehose PutRecordBatch calls: the proxy forwards only some of a call's
 * records to the peer and answers for the others with `ErrorCode: ServiceUnavailableException`,
 * as Firehose does when a stream is over its throughput, with `FailedPutCount` set.
 */
export interface PartialFirehosePlan {
  /** Every Nth PutRecordBatch call that reaches this step fails partly (1: every call). */
  readonly everyCall: number;
  /**
   * Share of the call's records refused, rounded, but at least one refused and at least one
   * forwarded, so a sink that resends only the refused records always makes progress; a call of
   * one record is never partly failed.
   */
  readonly failFraction: number;
}

/** An answer that overrides the protocol's usual throttling answer. */
export interface ThrottleAnswer {
  readonly status: number;
  /** The error code (`__type` of AWS JSON, `<Code>` of S3, `error.type` of OpenSearch). */
  readonly code: string;
  readonly message?: string;
}

/**
 * What to inject. Every field is optional and `{}` is a healthy proxy. For each matching request,
 * after the first `passFirst`, the faults are tried in this order and a request gets at most one:
 * throttling, then a 5xx error, then a dropped connection, then (Firehose PutRecordBatch only) a
 * partial failure; `…First` counts apply to the requests reaching that step, `dropEvery` and
 * `partialFirehose.everyCall` count the requests reaching theirs. Latency is added to every
 * request that is forwarded to the peer. `setPlan` starts all counts and draws afresh.
 *
 * @example { match: { target: 'Firehose_20150804.PutRecordBatch' }, throttleFirst: 3, partialFirehose: { everyCall: 2, failFraction: 0.3 }, seed: 7 }
 */
export interface FaultPlan {
  readonly match?: FaultMatch;
  /** The first N matching requests go through untouched (no fault, no latency). */
  readonly passFirst?: number;
  /** The next N matching requests are throttled (AWS JSON: 400 ThrottlingException; S3: 503 SlowDown; OpenSearch, InfluxDB: 429). */
  readonly throttleFirst?: number;
  /** Share of the matching requests throttled (after `throttleFirst`); 1 throttles every one. */
  readonly throttleRate?: number;
  /** Overrides the protocol's throttling answer, e.g. Firehose's own `ServiceUnavailableException` "Slow down.". */
  readonly throttleAs?: ThrottleAnswer;
  /** The next N requests reaching this step get a 5xx (AWS JSON: 503 ServiceUnavailableException; S3: 500 InternalError). */
  readonly errorFirst?: number;
  /** Share of the requests reaching this step answered with a 5xx. */
  readonly errorRate?: number;
  /** Every Nth request reaching this step loses its connection: the proxy destroys the socket. */
  readonly dropEvery?: number;
  /** Share of the requests reaching this step whose connection is dropped. */
  readonly dropRate?: number;
  /**
   * Where a dropped connection is cut: `request` (default) before the peer sees anything, so a
   * resend is the first delivery; `response` after the peer handled the request, so the client
   * cannot know it landed and a resend delivers it twice (what at-least-once sinks must survive).
   */
  readonly dropAt?: 'request' | 'response';
  readonly partialFirehose?: PartialFirehosePlan;
  /** Added before forwarding a request to the peer. */
  readonly latencyMs?: number;
  /** Up to this much more latency, drawn per request. */
  readonly jitterMs?: number;
  /** Seed of every draw (rates, jitter, which records a partial failure refuses); default 1. */
  readonly seed?: number;
}

/** The request, as much of it as a decision needs. */
export interface RequestInfo {
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  /** `X-Amz-Target`, when the request has one. */
  readonly target: string | undefined;
}

/** What happens to one request. */
export type FaultDecision =
  | { readonly kind: 'forward'; readonly delayMs: number; readonly matched: boolean }
  | { readonly kind: 'throttle' }
  | { readonly kind: 'error' }
  | { readonly kind: 'drop'; readonly at: 'request' | 'response'; readonly delayMs: number }
  | { readonly kind: 'partial'; readonly delayMs: number };

/** The X-Amz-Target of the one call partial failures apply to. */
export const PUT_RECORD_BATCH_TARGET = 'Firehose_20150804.PutRecordBatch';

const KEYS: readonly (keyof FaultPlan)[] = [
  'match',
  'passFirst',
  'throttleFirst',
  'throttleRate',
  'throttleAs',
  'errorFirst',
  'errorRate',
  'dropEvery',
  'dropRate',
  'dropAt',
  'partialFirehose',
  'latencyMs',
  'jitterMs',
  'seed',
];

/**
 * Checks a plan (from code or JSON); throws an Error naming the bad field.
 *
 * @example checkPlan({ errorRate: 2 }) // Error: errorRate must be between 0 and 1, got 2
 * @see FaultSchedule
 */
export function checkPlan(value: unknown): FaultPlan {
  const v = object(value, 'a fault plan');
  known(v, KEYS, 'fault');
  for (const key of ['passFirst', 'throttleFirst', 'errorFirst', 'latencyMs', 'jitterMs', 'seed'] as const) whole(v[key], key, 0);
  for (const key of ['throttleRate', 'errorRate', 'dropRate'] as const) share(v[key], key);
  whole(v['dropEvery'], 'dropEvery', 1);
  if (v['dropAt'] !== undefined && v['dropAt'] !== 'request' && v['dropAt'] !== 'response') throw new Error(`dropAt must be 'request' or 'response', got ${JSON.stringify(v['dropAt'])}`);
  if (v['match'] !== undefined) {
    const m = object(v['match'], 'match');
    known(m, ['target', 'pathPrefix', 'method'], 'match field');
    for (const key of ['target', 'pathPrefix', 'method']) {
      if (m[key] !== undefined && (typeof m[key] !== 'string' || m[key] === '')) throw new Error(`match.${key} must be a non-empty string, got ${JSON.stringify(m[key])}`);
    }
  }
  if (v['partialFirehose'] !== undefined) {
    const p = object(v['partialFirehose'], 'partialFirehose');
    known(p, ['everyCall', 'failFraction'], 'partialFirehose field');
    if (p['everyCall'] === undefined) throw new Error('partialFirehose.everyCall is required (1: every call)');
    whole(p['everyCall'], 'partialFirehose.everyCall', 1);
    if (p['failFraction'] === undefined) throw new Error('partialFirehose.failFraction is required');
    share(p['failFraction'], 'partialFirehose.failFraction');
    if (p['failFraction'] === 0) throw new Error('partialFirehose.failFraction must be above 0');
  }
  if (v['throttleAs'] !== undefined) {
    const t = object(v['throttleAs'], 'throttleAs');
    known(t, ['status', 'code', 'message'], 'throttleAs field');
    if (typeof t['status'] !== 'number' || !Number.isInteger(t['status']) || t['status'] < 400 || t['status'] > 599) {
      throw new Error(`throttleAs.status must be an HTTP error status (400–599), got ${JSON.stringify(t['status'])}`);
    }
    if (typeof t['code'] !== 'string' || t['code'] === '') throw new Error(`throttleAs.code must be a non-empty string, got ${JSON.stringify(t['code'])}`);
    if (t['message'] !== undefined && typeof t['message'] !== 'string') throw new Error(`throttleAs.message must be a string, got ${JSON.stringify(t['message'])}`);
  }
  return v as FaultPlan;
}

/**
 * A plan in action: decides each request's fate and keeps what is left of the `…First` counts,
 * the periodic counters and the seeded draws.
 *
 * @example
 * const schedule = new FaultSchedule({ throttleFirst: 1 });
 * schedule.decide({ method: 'POST', path: '/', target: undefined }).kind // 'throttle'
 * schedule.decide({ method: 'POST', path: '/', target: undefined }).kind // 'forward'
 * @see checkPlan
 */
export class FaultSchedule {
  private passLeft: number;
  private throttleLeft: number;
  private errorLeft: number;
  /** Requests that reached the drop step, and PutRecordBatch calls that reached the partial step. */
  private dropSeen = 0;
  private partialSeen = 0;
  private readonly random: () => number;

  constructor(readonly plan: FaultPlan = {}) {
    checkPlan(plan);
    this.passLeft = plan.passFirst ?? 0;
    this.throttleLeft = plan.throttleFirst ?? 0;
    this.errorLeft = plan.errorFirst ?? 0;
    this.random = mulberry32(plan.seed ?? 1);
  }

  /** Whether the plan applies to a request at all. */
  matches(request: RequestInfo): boolean {
    const m = this.plan.match;
    if (m === undefined) return true;
    if (m.target !== undefined && request.target !== m.target) return false;
    if (m.pathPrefix !== undefined && !request.path.startsWith(m.pathPrefix)) return false;
    if (m.method !== undefined && request.method.toUpperCase() !== m.method.toUpperCase()) return false;
    return true;
  }

  /** Decides one request's fate; call once per request, in the order they arrive. */
  decide(request: RequestInfo): FaultDecision {
    const p = this.plan;
    if (!this.matches(request)) return { kind: 'forward', delayMs: 0, matched: false };
    if (this.passLeft > 0) {
      this.passLeft--;
      return { kind: 'forward', delayMs: 0, matched: true };
    }
    if (this.throttleLeft > 0) {
      this.throttleLeft--;
      return { kind: 'throttle' };
    }
    if (this.draw(p.throttleRate)) return { kind: 'throttle' };
    if (this.errorLeft > 0) {
      this.errorLeft--;
      return { kind: 'error' };
    }
    if (this.draw(p.errorRate)) return { kind: 'error' };
    if (p.dropEvery !== undefined || p.dropRate !== undefined) {
      this.dropSeen++;
      const periodic = p.dropEvery !== undefined && this.dropSeen % p.dropEvery === 0;
      if (periodic || this.draw(p.dropRate)) return { kind: 'drop', at: p.dropAt ?? 'request', delayMs: this.delay() };
    }
    if (p.partialFirehose !== undefined && request.target === PUT_RECORD_BATCH_TARGET) {
      this.partialSeen++;
      if (this.partialSeen % p.partialFirehose.everyCall === 0) return { kind: 'partial', delayMs: this.delay() };
    }
    return { kind: 'forward', delayMs: this.delay(), matched: true };
  }

  /**
   * Which of a partly failed call's `count` records to refuse, in ascending order: a share of
   * `failFraction`, at least one and never all (none for a call of one record).
   *
   * @example new FaultSchedule({ partialFirehose: { everyCall: 1, failFraction: 0.5 } }).refusals(4).length // 2
   */
  refusals(count: number): number[] {
    const fraction = this.plan.partialFirehose?.failFraction ?? 0;
    if (count < 2 || fraction <= 0) return [];
    const k = Math.min(count - 1, Math.max(1, Math.round(count * fraction)));
    // a partial Fisher–Yates shuffle: k distinct indexes, each set equally likely
    const indexes = Array.from({ length: count }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (count - i));
      const chosen = indexes[j] as number;
      indexes[j] = indexes[i] as number;
      indexes[i] = chosen;
    }
    return indexes.slice(0, k).sort((a, b) => a - b);
  }

  private draw(rate: number | undefined): boolean {
    if (rate === undefined || rate <= 0) return false;
    return rate >= 1 || this.random() < rate;
  }

  private delay(): number {
    const jitter = this.plan.jitterMs !== undefined && this.plan.jitterMs > 0 ? Math.floor(this.random() * this.plan.jitterMs) : 0;
    return (this.plan.latencyMs ?? 0) + jitter;
  }
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be an object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

function known(value: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new Error(`unknown ${what} '${key}'; use ${keys.join(', ')}`);
  }
}

function whole(value: unknown, name: string, min: number): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)) {
    throw new Error(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
}

function share(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= 1))) throw new Error(`${name} must be between 0 and 1, got ${JSON.stringify(value)}`);
}

/** A small seeded 32-bit generator: fault draws need reproducibility, not quality. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
