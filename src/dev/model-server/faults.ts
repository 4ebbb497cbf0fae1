/**
 * Faults the local endpoint injects on request, so tests and demos can see what a struggling
 * endpoint does to a pipeline: added latency, errors, throttling (by rate, by count, or beyond a
 * number of concurrent invocations) and held responses. Rates draw from a seeded generator, so a
 * run with the same settings and the same request sequence fails the same requests.
 *
 * @module
 */
/** The server-side errors a fault can answer with (throttling has its own settings). */
export const FAULT_ERRORS = ['ServiceUnavailable', 'InternalFailure', 'InternalDependencyException', 'ModelError', 'ModelNotReadyException'] as const;

/** An error a fault can inject. */
export type FaultError = (typeof FAULT_ERRORS)[number];

/**
 * What to inject; every field is optional and the empty object means a healthy endpoint. Set
 * through `server.setFaults(…)` or `POST /_admin/faults` with the same JSON.
 *
 * @example { latencyMs: 50, throttleRate: 0.2 }
 */
export interface FaultSettings {
  /** Added before answering an invocation (not a throttled one: throttling answers at once). */
  readonly latencyMs?: number;
  /** Up to this much more latency, drawn per invocation. */
  readonly jitterMs?: number;
  /** Share of invocations answered with `errorType` (after the latency). */
  readonly errorRate?: number;
  /** The error of `errorRate` and `failNext` (default `ServiceUnavailable`). */
  readonly errorType?: FaultError;
  /** Share of invocations answered with `ThrottlingException`. */
  readonly throttleRate?: number;
  /** Invocations beyond this many in flight at once are throttled, as a saturated endpoint does. */
  readonly maxConcurrency?: number;
  /** The next N invocations fail with `errorType`. */
  readonly failNext?: number;
  /** The next N invocations are throttled. */
  readonly throttleNext?: number;
  /** Invocations wait (after their latency) until `release()` or `POST /_admin/release`. */
  readonly hold?: boolean;
  /** Seed of the draws for rates and jitter (default 1). */
  readonly seed?: number;
}

/** What happens to one invocation. */
export interface FaultDecision {
  readonly throttle: boolean;
  readonly error: FaultError | undefined;
  readonly delayMs: number;
  readonly hold: boolean;
}

const KEYS: readonly (keyof FaultSettings)[] = ['latencyMs', 'jitterMs', 'errorRate', 'errorType', 'throttleRate', 'maxConcurrency', 'failNext', 'throttleNext', 'hold', 'seed'];

/**
 * Checks fault settings (from JSON or code); throws an Error naming the bad field.
 *
 * @example checkFaults({ errorRate: 2 }) // Error: errorRate must be between 0 and 1, got 2
 */
export function checkFaults(value: unknown): FaultSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('faults must be a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new Error(`unknown fault '${key}'; faults: ${KEYS.join(', ')}`);
  }
  const count = (key: keyof FaultSettings): void => {
    const x = v[key];
    if (x !== undefined && (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)) throw new Error(`${key} must be a whole number ≥ 0, got ${JSON.stringify(x)}`);
  };
  const share = (key: keyof FaultSettings): void => {
    const x = v[key];
    if (x !== undefined && (typeof x !== 'number' || !(x >= 0 && x <= 1))) throw new Error(`${key} must be between 0 and 1, got ${JSON.stringify(x)}`);
  };
  for (const key of ['latencyMs', 'jitterMs', 'failNext', 'throttleNext', 'seed'] as const) count(key);
  for (const key of ['errorRate', 'throttleRate'] as const) share(key);
  if (v['maxConcurrency'] !== undefined) {
    count('maxConcurrency');
    if (v['maxConcurrency'] === 0) throw new Error('maxConcurrency must be at least 1');
  }
  if (v['errorType'] !== undefined && !(FAULT_ERRORS as readonly unknown[]).includes(v['errorType'])) {
    throw new Error(`errorType must be one of ${FAULT_ERRORS.join(', ')}, got ${JSON.stringify(v['errorType'])}`);
  }
  if (v['hold'] !== undefined && typeof v['hold'] !== 'boolean') throw new Error(`hold must be true or false, got ${JSON.stringify(v['hold'])}`);
  return v as FaultSettings;
}

/**
 * The fault state of a running endpoint: settings plus what is left of `failNext` and
 * `throttleNext` and the state of the seeded draws.
 *
 * @example const faults = new Faults({ throttleNext: 2 }); faults.decide(1).throttle // true
 */
export class Faults {
  private failLeft: number;
  private throttleLeft: number;
  private random: () => number;

  constructor(readonly settings: FaultSettings = {}) {
    this.failLeft = settings.failNext ?? 0;
    this.throttleLeft = settings.throttleNext ?? 0;
    this.random = mulberry32(settings.seed ?? 1);
  }

  /** Decides one invocation's fate; `inFlight` counts it and every other unanswered one. */
  decide(inFlight: number): FaultDecision {
    const s = this.settings;
    let throttle = false;
    if (s.maxConcurrency !== undefined && inFlight > s.maxConcurrency) throttle = true;
    else if (this.throttleLeft > 0) {
      this.throttleLeft--;
      throttle = true;
    } else if (s.throttleRate !== undefined && s.throttleRate > 0) throttle = this.random() < s.throttleRate;
    if (throttle) return { throttle, error: undefined, delayMs: 0, hold: false };
    let error: FaultError | undefined;
    if (this.failLeft > 0) {
      this.failLeft--;
      error = s.errorType ?? 'ServiceUnavailable';
    } else if (s.errorRate !== undefined && s.errorRate > 0 && this.random() < s.errorRate) error = s.errorType ?? 'ServiceUnavailable';
    const jitter = s.jitterMs !== undefined && s.jitterMs > 0 ? Math.floor(this.random() * s.jitterMs) : 0;
    return { throttle, error, delayMs: (s.latencyMs ?? 0) + jitter, hold: s.hold === true };
  }
}

/** The message each injected error carries, as the real service words it. */
export const FAULT_MESSAGES: Readonly<Record<FaultError | 'ThrottlingException', string>> = {
  ServiceUnavailable: 'Service Unavailable: the endpoint is temporarily unable to handle the request (injected by the local model server)',
  InternalFailure: 'An internal failure occurred (injected by the local model server)',
  InternalDependencyException: 'Your request caused an exception with an internal dependency (injected by the local model server)',
  ModelError: 'the model container failed (injected by the local model server)',
  ModelNotReadyException: 'The model is not ready to serve requests (injected by the local model server)',
  ThrottlingException: 'Rate exceeded',
};

/** A small, fast, seeded 32-bit generator: fault draws need reproducibility, not quality. */
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
