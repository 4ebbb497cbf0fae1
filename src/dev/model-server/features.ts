/**
 * The features the two local models score, computed from the generator's events the way a
 * pipeline computes them from window aggregates. Training (`train.ts`), the quality tests and any
 * pipeline that calls the models use these definitions, so what is trained is what is served.
 *
 * - Telemetry: one example per vehicle per 1-minute tumbling window of event time; its label is
 *   whether any reading in the window carries the generator's ground-truth `anomaly` flag.
 * - Clickstream: one example per session (the generator's `sessionId`), described by its clicks
 *   before the first purchase; its label is whether the session has a purchase.
 *
 * @module
 */

/** Telemetry windows are 1-minute tumbling windows per vehicle, as `tumbling('1m')` makes them. */
export const TELEMETRY_WINDOW_MS = 60_000;

/**
 * Telemetry window features, in the order the model takes them (CSV columns, `features` arrays).
 * Each is a window aggregate: `count()`, `avg`, `max`, `max − p95` of speed, `max` of |accel|,
 * and the number of readings flagged `harshBraking`.
 */
export const TELEMETRY_FEATURES = ['readings', 'meanSpeedKmh', 'maxSpeedKmh', 'speedSpikeKmh', 'maxAbsAccelMs2', 'harshBrakes'] as const;

/**
 * Session features, in the order the model takes them. Counts and sums over the session's clicks
 * before its first purchase; device and referrer (of the first click) as 0/1 indicators, with
 * desktop and direct traffic as the baselines.
 */
export const CLICKSTREAM_FEATURES = [
  'pages',
  'productViews',
  'cartAdds',
  'checkoutViews',
  'durationMin',
  'meanDwellSec',
  'cartValue',
  'mobile',
  'tablet',
  'searchReferral',
  'socialReferral',
] as const;

/** The fields of a telemetry reading the features use. */
export interface ReadingLike {
  readonly ts: string;
  readonly vehicleId: string;
  readonly speedKmh: number;
  readonly accelMs2: number;
  readonly harshBraking: boolean;
  readonly anomaly?: boolean;
}

/** The fields of a click the features use. */
export interface ClickLike {
  readonly eventId?: string;
  readonly ts: string;
  readonly sessionId: string;
  readonly page: string;
  readonly kind: string;
  readonly referrer: string;
  readonly device: string;
  readonly dwellMs: number;
  readonly price?: number;
}

/** One labelled example: features in model order and the ground truth (1 or 0). */
export interface Example {
  readonly id: string;
  readonly features: number[];
  readonly label: 0 | 1;
}

/**
 * The "lower" quantile Sluice's `percentile` aggregate answers: the value at rank ⌊q·(n−1)⌋ of
 * the sorted values.
 *
 * @example lowerQuantile([1, 2, 3, 4], 0.95) // 3
 */
export function lowerQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
}

/**
 * The features of one vehicle's window, from its readings (any order).
 *
 * @example telemetryFeatures(readings) // [24, 61.2, 74.9, 1.3, 2.41, 0]
 * @see TELEMETRY_FEATURES
 */
export function telemetryFeatures(readings: readonly ReadingLike[]): number[] {
  const speeds = readings.map((r) => r.speedKmh);
  const max = Math.max(...speeds);
  const mean = speeds.reduce((a, b) => a + b, 0) / speeds.length;
  return [
    readings.length,
    mean,
    max,
    max - lowerQuantile(speeds, 0.95),
    Math.max(...readings.map((r) => Math.abs(r.accelMs2))),
    readings.filter((r) => r.harshBraking).length,
  ];
}

/**
 * Labelled telemetry examples: readings grouped by vehicle and 1-minute window of event time,
 * in order of first appearance.
 *
 * @example telemetryExamples(lines.map((l) => JSON.parse(l)))
 * @see telemetryFeatures
 */
export function telemetryExamples(readings: Iterable<ReadingLike>): Example[] {
  const windows = new Map<string, ReadingLike[]>();
  for (const r of readings) {
    const start = Math.floor(Date.parse(r.ts) / TELEMETRY_WINDOW_MS) * TELEMETRY_WINDOW_MS;
    const id = `${r.vehicleId}@${start}`;
    const window = windows.get(id);
    if (window === undefined) windows.set(id, [r]);
    else window.push(r);
  }
  return [...windows].map(([id, rs]) => ({ id, features: telemetryFeatures(rs), label: rs.some((r) => r.anomaly === true) ? 1 : 0 }));
}

const SEARCH = new Set(['https://www.google.com/', 'https://www.bing.com/']);
const SOCIAL = new Set(['https://www.facebook.com/', 'https://www.instagram.com/']);

/**
 * The features of one session, from its clicks before the first purchase (in event-time order;
 * ties by `eventId`). Returns zeros for counts when there are none.
 *
 * @example clickstreamFeatures(clicks) // [6, 2, 1, 1, 1.8, 9.4, 129.99, 1, 0, 1, 0]
 * @see CLICKSTREAM_FEATURES
 */
export function clickstreamFeatures(clicks: readonly ClickLike[]): number[] {
  const first = clicks[0];
  const times = clicks.map((c) => Date.parse(c.ts));
  const durationMs = times.length === 0 ? 0 : Math.max(...times) - Math.min(...times);
  const dwell = clicks.reduce((sum, c) => sum + c.dwellMs, 0);
  return [
    clicks.length,
    clicks.filter((c) => c.page.startsWith('/product/')).length,
    clicks.filter((c) => c.kind === 'cart').length,
    clicks.filter((c) => c.page === '/checkout').length,
    durationMs / 60_000,
    clicks.length === 0 ? 0 : dwell / clicks.length / 1000,
    clicks.reduce((sum, c) => sum + (c.kind === 'cart' ? (c.price ?? 0) : 0), 0),
    first?.device === 'mobile' ? 1 : 0,
    first?.device === 'tablet' ? 1 : 0,
    first !== undefined && SEARCH.has(first.referrer) ? 1 : 0,
    first !== undefined && SOCIAL.has(first.referrer) ? 1 : 0,
  ];
}

/**
 * Labelled session examples: clicks grouped by `sessionId`, each session described by its clicks
 * before its first purchase and labelled 1 when it has one. Sessions whose first click is a
 * purchase (nothing to score before it) are left out.
 *
 * @example clickstreamExamples(lines.map((l) => JSON.parse(l)))
 * @see clickstreamFeatures
 */
export function clickstreamExamples(clicks: Iterable<ClickLike>): Example[] {
  const sessions = new Map<string, ClickLike[]>();
  for (const c of clicks) {
    const session = sessions.get(c.sessionId);
    if (session === undefined) sessions.set(c.sessionId, [c]);
    else session.push(c);
  }
  const examples: Example[] = [];
  for (const [id, all] of sessions) {
    const ordered = [...all].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || seqOf(a) - seqOf(b));
    const purchase = ordered.findIndex((c) => c.kind === 'purchase');
    const before = purchase < 0 ? ordered : ordered.slice(0, purchase);
    if (before.length === 0) continue;
    examples.push({ id, features: clickstreamFeatures(before), label: purchase < 0 ? 0 : 1 });
  }
  return examples;
}

/** The sequence number in a generator event id (`gen-0:123` → 123); 0 without one. */
function seqOf(click: ClickLike): number {
  const seq = Number(click.eventId?.slice(click.eventId.lastIndexOf(':') + 1));
  return Number.isFinite(seq) ? seq : 0;
}
