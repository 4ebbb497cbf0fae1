import { createHash } from 'node:crypto';
import { asyncBatchOperator, guarded, REJECTED, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import type { PartitionContext } from '../core/context.js';
import { ErrorCode } from '../core/errors.js';
import { AimdLimiter, type CallOutcome } from './predict/aimd.js';
import { predictConfig, type PredictConfig, type PredictSettings } from './predict/config.js';
import { decodePredictions, encodeRecord, FeatureError, type Features } from './predict/encoder.js';
import { counterNames, PredictMetrics } from './predict/metrics.js';
import { buildCalls, type Call } from './predict/request-builder.js';
import { classifyFailure, failureReason, predictPolicies, type PredictPolicies } from './predict/retry.js';
import { sageMakerService, type InvokeResponse, type PredictionService } from './predict/service.js';

export { MAX_PAYLOAD_BYTES, type BreakerOptions, type EndpointOptions, type RetryOptions, type WireFormat } from './predict/config.js';
export type { Features } from './predict/encoder.js';
export { PredictMetrics, counterNames, type PredictMetricsSnapshot } from './predict/metrics.js';
export type { InvokeRequest, InvokeResponse, PredictionService } from './predict/service.js';

/** An event as predict passes it on by default: its fields plus `prediction`, and why it is null. */
export type Predicted<T, P = unknown> = T & { readonly prediction: P | null; readonly predictionError?: string };

/**
 * Options for {@link predict}. Durations are milliseconds or text (`'2s'`).
 *
 * @see predict
 */
export interface PredictOptions<T, P = unknown, O = Predicted<T, P>> extends PredictSettings {
  /** The event's features: numbers in the model's order, or (JSON Lines only) named numbers. */
  readonly features: (value: T, env: Envelope<T>) => Features;
  /**
   * Builds the output event from the input and its prediction (null when the call failed, with
   * the reason). Default: `{ ...value, prediction }`, plus `predictionError` on failure.
   */
  readonly merge?: (value: T, prediction: P | null, error: string | undefined) => O;
  /** Calls the endpoint; default the SageMaker Runtime client for `endpoint`. */
  readonly service?: PredictionService;
}

/** The predict operator, with its measurements. */
export type PredictOperator<I, O> = Operator<I, O> & { readonly metrics: PredictMetrics };

/** What one call gave its records. */
type CallResult = { readonly ok: true; readonly predictions: unknown[] } | { readonly ok: false; readonly reason: string };

/**
 * Scores events with a SageMaker endpoint. The events of a batch go out several per
 * InvokeEndpoint call (`batchSize` records and at most 6 MB a call, as JSON Lines or CSV), calls
 * run concurrently and come back in any order, and the output keeps the input order. The
 * concurrency adapts to the endpoint (it halves when the endpoint throttles or times out, and
 * grows back by one per round of successful calls, up to `maxConcurrency`); throttled, timed-out
 * and 5xx calls are retried with exponential backoff and jitter; sustained failure opens a circuit
 * breaker, which fails calls at once until a trial call succeeds. An event whose call failed
 * goes on with `prediction: null` and the reason in `predictionError` (`onFailure: 'pass'`, the
 * default) or to the dead-letter output (`'dead-letter'`, code PREDICTION_FAILED); an event whose
 * features cannot be computed is dead-lettered either way. A batch is passed on only once all
 * its calls are done, so checkpoint barriers wait for calls in flight.
 *
 * The limiter, breaker and metrics are shared by every partition that runs this operator: they
 * describe the one endpoint they all call.
 *
 * @example
 * s.parseJson<Window>().pipe(predict({
 *   endpoint: { name: 'telemetry-anomaly', url: 'http://127.0.0.1:8080' },
 *   features: (w) => [w.readings, w.meanSpeedKmh, w.maxSpeedKmh, w.speedSpikeKmh, w.maxAbsAccelMs2, w.harshBrakes],
 *   batchSize: 50, maxConcurrency: 4, timeout: '2s', retries: 3, onFailure: 'pass',
 * }))
 * @see enrich
 */
export function predict<T, P = unknown, O = Predicted<T, P>>(options: PredictOptions<T, P, O>): PredictOperator<T, O> {
  const config = predictConfig(options);
  const service = options.service ?? sageMakerService(config.endpoint);
  const limiter = new AimdLimiter({ min: config.minConcurrency, max: config.maxConcurrency });
  const policies = predictPolicies(config);
  const metrics = new PredictMetrics(limiter, policies.breaker, config.batchSize);
  const merge = options.merge ?? ((value: T, prediction: P | null, error: string | undefined) => defaultMerge(value, prediction, error) as O);
  const stage = config.name;
  const counters = counterNames(config.name);
  const caller: Caller = { config, counters, service, limiter, policies, metrics };

  const operator = asyncBatchOperator<T, O>((ctx) => async (events) => {
    const records: (string | undefined)[] = new Array(events.length);
    const rejected: boolean[] = new Array(events.length).fill(false);
    events.forEach((env, i) => {
      const features = guarded(ctx, env, stage, ErrorCode.OPERATOR_FAILED, () => options.features(env.value, env));
      if (features === REJECTED) {
        rejected[i] = true;
        return;
      }
      try {
        records[i] = encodeRecord(features, config.format);
      } catch (err) {
        if (!(err instanceof FeatureError)) throw err;
        ctx.deadLetter(env, stage, ErrorCode.BAD_FIELD, `${stage} features: ${err.message}`);
        rejected[i] = true;
      }
    });

    // answers already paid for (before a restart, in a replay) come from the journal
    const journal = await ctx.journals?.(journalName(config.endpoint.name));
    const keys: (string | undefined)[] = new Array(events.length);
    const predictions: unknown[] = new Array(events.length);
    if (journal !== undefined) {
      let reused = 0;
      records.forEach((record, i) => {
        if (record === undefined) return;
        const key = (keys[i] = journalKey(config, record));
        const known = journal.get(key);
        if (known === undefined) return;
        predictions[i] = known;
        records[i] = undefined;
        reused++;
      });
      if (reused > 0) ctx.counters.inc(counters.reused, reused);
    }

    const { calls, oversize } = buildCalls(records, config);
    const failures: (string | undefined)[] = new Array(events.length);
    for (const { index, bytes } of oversize) {
      failures[index] = `record encodes to ${bytes} bytes, over the ${config.maxPayloadBytes}-byte InvokeEndpoint payload limit`;
    }
    const answered: [string, unknown][] = [];
    await Promise.all(
      calls.map(async (call) => {
        const result = await invoke(caller, call, ctx);
        call.indices.forEach((index, k) => {
          if (!result.ok) failures[index] = result.reason;
          else {
            predictions[index] = result.predictions[k];
            const key = keys[index];
            if (key !== undefined && predictions[index] !== undefined) answered.push([key, predictions[index]]);
          }
        });
      }),
    );
    // journaled before anything downstream sees them: a restart then finds them
    await journal?.record(answered);

    const out: Envelope<O>[] = [];
    events.forEach((env, i) => {
      if (rejected[i] === true) return;
      const failure = failures[i];
      if (failure !== undefined && config.onFailure === 'dead-letter') {
        ctx.deadLetter(env, stage, ErrorCode.PREDICTION_FAILED, `${stage} failed: ${failure}`);
        return;
      }
      if (failure !== undefined) ctx.counters.inc(counters.fallbacks);
      const value = guarded(ctx, env, stage, ErrorCode.OPERATOR_FAILED, () => merge(env.value, failure === undefined ? (predictions[i] as P) : null, failure));
      if (value === REJECTED) return;
      (env as unknown as Envelope<O>).value = value;
      out.push(env as unknown as Envelope<O>);
    });
    return out;
  });
  return Object.assign(operator, { metrics });
}

/** The journal of one endpoint's answers. */
function journalName(endpoint: string): string {
  return `predict-${endpoint.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** What identifies a request record: the endpoint, the body format and the encoded features. */
function journalKey(config: PredictConfig, record: string): string {
  return createHash('sha256').update(config.endpoint.name).update('\u0000').update(config.contentType).update('\u0000').update(record).digest('hex').slice(0, 32);
}

function defaultMerge<T, P>(value: T, prediction: P | null, error: string | undefined): Predicted<T, P> {
  const base = { ...(value as object), prediction } as Predicted<T, P>;
  return error === undefined ? base : { ...base, predictionError: error };
}

interface Caller {
  readonly config: PredictConfig;
  readonly counters: ReturnType<typeof counterNames>;
  readonly service: PredictionService;
  readonly limiter: AimdLimiter;
  readonly policies: PredictPolicies;
  readonly metrics: PredictMetrics;
}

/** One call with retries through the breaker; never rejects: a failure is a reason. */
async function invoke(caller: Caller, call: Call, ctx: PartitionContext): Promise<CallResult> {
  const { config, counters, policies } = caller;
  let attempts = 0;
  try {
    const response = await policies.retry.execute(() => {
      attempts++;
      if (attempts > 1) ctx.counters.inc(counters.retries);
      return attempt(caller, call, ctx);
    });
    const predictions = decodePredictions(response.body, response.contentType, call.indices.length);
    ctx.counters.inc(counters.records, call.indices.length);
    return { ok: true, predictions };
  } catch (err) {
    ctx.counters.inc(classifyFailure(err) === 'breaker-open' ? counters.breakerRejected : counters.failedCalls);
    return { ok: false, reason: failureReason(err, config, attempts) };
  }
}

/**
 * One attempt: waits for a concurrency permit, then goes through the breaker (so a call that
 * waited for its permit while the breaker opened is not sent) and calls with the timeout.
 */
async function attempt(caller: Caller, call: Call, ctx: PartitionContext): Promise<InvokeResponse> {
  const { limiter, policies } = caller;
  const permit = await limiter.acquire();
  let outcome: CallOutcome = 'failed';
  try {
    const send = async (): Promise<InvokeResponse> => {
      const [response, how] = await sendOnce(caller, call, ctx);
      outcome = how;
      return response;
    };
    return await (policies.breaker === undefined ? send() : policies.breaker.execute(send));
  } catch (err) {
    const kind = classifyFailure(err);
    if (kind === 'throttled') outcome = 'throttled';
    else if (kind === 'timeout') outcome = 'slow';
    throw err;
  } finally {
    limiter.release(permit, outcome);
  }
}

/** Sends the call once, timed and measured; resolves with the answer and whether it was slow. */
async function sendOnce(caller: Caller, call: Call, ctx: PartitionContext): Promise<[InvokeResponse, CallOutcome]> {
  const { config, counters, service, policies, metrics } = caller;
  ctx.counters.inc(counters.calls);
  metrics.batchFill.recordValue(call.indices.length);
  const started = ctx.scheduler.now();
  try {
    const request = { endpointName: config.endpoint.name, contentType: config.contentType, accept: config.accept, body: call.body };
    const response = await policies.timeout.execute((_context, signal) => service.invoke(request, signal));
    return [response, config.slowCallMs !== undefined && ctx.scheduler.now() - started > config.slowCallMs ? 'slow' : 'ok'];
  } catch (err) {
    const kind = classifyFailure(err);
    if (kind === 'throttled') ctx.counters.inc(counters.throttled);
    else if (kind === 'timeout') ctx.counters.inc(counters.timeouts);
    throw err;
  } finally {
    metrics.latency.recordValue(Math.max(0, ctx.scheduler.now() - started));
  }
}
