/**
 * `clickstream-purchases`: every closed session scored for purchase propensity by the
 * `clickstream-purchase` model (a SageMaker endpoint; locally `sluice dev model-server`).
 *
 * Sessions are the client's `sessionId` of a user, closed after 30 minutes without a click (the
 * generator keeps these the same as `clickstream-sessions`' gap sessions). The window describes a
 * session by exactly the features the model was trained on (`CLICKSTREAM_FEATURES` in
 * `src/dev/model-server/features.ts`): counts and sums over its clicks before its first purchase
 * in event-time order, and the first click's device and referrer. A session that opens with a
 * purchase has no clicks before it and is scored on zeros, as `clickstreamFeatures([])` defines.
 *
 * Result: `clicks` (all of them), `converted` (whether it purchased: the outcome the model
 * predicts), `beforePurchase` (the model's inputs, by name), then `purchaseProbability` and
 * `likelyBuyer` (the model's decision at its threshold); both null, with `predictionError`, when
 * the endpoint failed — the stream goes on.
 *
 * ```json
 * {"id":"…","key":{"userId":"u17","sessionId":"1f0c…"},"windowStart":…,"windowEnd":…,"revision":0,"clicks":7,"converted":true,"beforePurchase":{"pages":6,"productViews":2,…},"purchaseProbability":0.83,"likelyBuyer":true}
 * ```
 *
 * @module
 */
import type { PipelineDefinition } from '../core/definition.js';
import { CLICKSTREAM_FEATURES, clickstreamExamples, clickstreamFeatures, type ClickLike } from '../dev/model-server/features.js';
import { CLICKSTREAM_PURCHASE } from '../dev/model-server/models.js';
import { count, definePipeline, predict, reduce, session, type Reducer } from '../index.js';
import { converted, type Click } from './clickstream.js';
import { modelEndpoint, withPrediction, type ModelPipelineOptions } from './model-endpoint.js';

/** A session's model inputs, by the names of {@link CLICKSTREAM_FEATURES}. */
export type SessionFeatures = { readonly [F in (typeof CLICKSTREAM_FEATURES)[number]]: number };

/** One scored session, as `clickstream-purchases` writes it. */
export interface SessionPurchase {
  readonly id: string;
  readonly key: { readonly userId: string; readonly sessionId: string };
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
  readonly supersedes?: readonly string[];
  readonly clicks: number;
  readonly converted: boolean;
  readonly beforePurchase: SessionFeatures;
  readonly purchaseProbability: number | null;
  readonly likelyBuyer: boolean | null;
  readonly predictionError?: string;
}

/** What a session keeps of each click: the fields the features read. */
type KeptClick = ClickLike;

/**
 * The session's features, by name. "Before its first purchase" depends on event-time order, which
 * arrival order is not, so the session keeps its clicks (a few fields each) and the features are
 * computed when it fires, by the very functions training used. Merging two session fragments
 * appends their clicks; the order does not matter.
 */
export const sessionFeatures: Reducer<KeptClick[], SessionFeatures, Click> = {
  create: () => [],
  add: (acc, c) => {
    const kept: KeptClick = { eventId: c.eventId, ts: c.ts, sessionId: c.sessionId, page: c.page, kind: c.kind, referrer: c.referrer, device: c.device, dwellMs: c.dwellMs };
    acc.push(typeof c.price === 'number' ? { ...kept, price: c.price } : kept);
  },
  merge: (into, other) => {
    for (const click of other) into.push(click);
  },
  check: (c) => {
    if (typeof c.dwellMs !== 'number' || !Number.isFinite(c.dwellMs)) return `dwellMs must be a number, got ${JSON.stringify(c.dwellMs) ?? 'nothing'}`;
    if (c.price !== undefined && c.price !== null && (typeof c.price !== 'number' || !Number.isFinite(c.price))) return `price must be a number, got ${JSON.stringify(c.price)}`;
    for (const field of ['page', 'kind', 'referrer', 'device'] as const) if (typeof c[field] !== 'string') return `${field} must be a string, got ${JSON.stringify(c[field]) ?? 'nothing'}`;
    return undefined;
  },
  result: (clicks) => {
    // one session (one sessionId): at most one example, none when it opens with a purchase
    const features = clickstreamExamples(clicks)[0]?.features ?? clickstreamFeatures([]);
    return Object.fromEntries(CLICKSTREAM_FEATURES.map((name, i) => [name, features[i] as number])) as SessionFeatures;
  },
};

/**
 * Builds the `clickstream-purchases` pipeline. Each call makes its own predict step (its own
 * concurrency limit, breaker and measurements).
 *
 * @example sluice run clickstream-purchases   # with SLUICE_MODEL_ENDPOINT_URL=http://127.0.0.1:8080
 * @example clickstreamPurchases({ endpoint: { name: 'clickstream-purchase', url: server.url } })
 * @see telemetryAnomalies
 */
export function clickstreamPurchases(options: ModelPipelineOptions = {}): PipelineDefinition {
  const endpoint = options.endpoint ?? modelEndpoint(CLICKSTREAM_PURCHASE);
  return definePipeline(
    'clickstream-purchases',
    (s) =>
      s
        .parseJson<Click>()
        .withWatermarks({ time: 'ts', maxOutOfOrderness: '2s' })
        .keyBy(['userId', 'sessionId'])
        .window({
          assign: session('30m'),
          aggregate: { clicks: count(), converted: reduce(converted), beforePurchase: reduce(sessionFeatures) },
          allowedLateness: '30s',
        })
        .pipe(
          predict({
            ...options.predict,
            endpoint,
            onFailure: 'pass',
            features: (w) => CLICKSTREAM_FEATURES.map((f) => w.beforePurchase[f]),
            merge: (w, answer, error) => withPrediction(w, answer, error, 'purchaseProbability', 'likelyBuyer'),
          }),
        ),
    { source: 'generator:clickstream' },
  );
}
