/**
 * Built-in clickstream pipelines, over the events of `generator:clickstream` (or any JSON Lines
 * with the same fields). Two definitions:
 *
 * - `clickstream` (the default export): page views per page and minute — every hit on a page,
 *   with how many distinct users made them.
 * - `clickstream-sessions`: sessions rebuilt from the clicks themselves, per user with a 30-minute
 *   gap, carrying how many pages the session saw, how long it lasted and whether it converted.
 *
 * Sessions are keyed by `userId`, not by the client's `sessionId`: rebuilding sessions from
 * event-time gaps is what you do when clients cannot be trusted to send one, and the client's id
 * then becomes a check — `sessionIds` is 1 when both notions of a session agree (the generator
 * guarantees they do, so anything else would be a bug in Sluice or in the data).
 *
 * `clickstream-purchases` (in `clickstream-purchases.ts`) scores each session's purchase propensity
 * with a SageMaker model.
 *
 * Both allow events up to 2 s out of order, and re-fire a window for events up to 30 s after it
 * closed (a new `revision` of the same result `id`); later events go to the late output.
 *
 * Run one with `sluice run src/pipelines/clickstream.ts`, or copy this file and change it:
 * outside Sluice, import from 'sluice' instead of '../index.js'.
 */
import { count, definePipeline, distinct, reduce, session, tumbling, type Reducer } from '../index.js';

/** One click as `generator:clickstream` writes it. */
export interface Click {
  readonly eventId: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly ts: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly page: string;
  readonly kind: 'view' | 'cart' | 'purchase';
  readonly referrer: string;
  readonly device: string;
  readonly dwellMs: number;
  /** Cart and purchase events only. */
  readonly price?: number;
}

/** Watermarks and lateness shared by both pipelines (see the top of this file). */
const WATERMARKS = { time: 'ts', maxOutOfOrderness: '2s' } as const;
const ALLOWED_LATENESS = '30s';

/**
 * Session length in ms: last minus first event time. Keeps both ends rather than a running
 * difference so that two session fragments merge exactly (a late event can join them).
 */
const durationMs: Reducer<{ first: number; last: number }, number, Click> = {
  create: () => ({ first: Infinity, last: -Infinity }),
  add: (acc, click) => {
    const t = Date.parse(click.ts);
    acc.first = Math.min(acc.first, t);
    acc.last = Math.max(acc.last, t);
  },
  merge: (into, other) => {
    into.first = Math.min(into.first, other.first);
    into.last = Math.max(into.last, other.last);
  },
  result: (acc) => acc.last - acc.first,
};

/**
 * Whether any purchase happened. A box rather than a bare boolean: reducers may update in place,
 * and `merge` is an OR, so merged sessions convert when either part did.
 */
export const converted: Reducer<{ any: boolean }, boolean, Click> = {
  create: () => ({ any: false }),
  add: (acc, click) => {
    if (click.kind === 'purchase') acc.any = true;
  },
  merge: (into, other) => {
    into.any ||= other.any;
  },
  result: (acc) => acc.any,
};

/**
 * Page views per page per minute: `{ views, users }` for each page and 1-minute window.
 *
 * @example { "key": { "page": "/" }, "windowStart": 1793491200000, "windowEnd": 1793491260000, "revision": 0, "views": 147, "users": 131, … }
 * @see clickstreamSessions
 */
export const clickstreamPageViews = definePipeline(
  'clickstream',
  (s) =>
    s
      .parseJson<Click>()
      .withWatermarks(WATERMARKS)
      .keyBy('page')
      .window({ assign: tumbling('1m'), aggregate: { views: count(), users: distinct('userId') }, allowedLateness: ALLOWED_LATENESS }),
  { source: 'generator:clickstream' },
);

/**
 * User sessions (30-minute gap): `{ pages, durationMs, converted, sessionIds }` per session.
 *
 * @example { "key": { "userId": "u17" }, "windowStart": …, "windowEnd": …, "pages": 6, "durationMs": 41250, "converted": true, "sessionIds": 1 }
 * @see clickstreamPageViews
 */
export const clickstreamSessions = definePipeline(
  'clickstream-sessions',
  (s) =>
    s
      .parseJson<Click>()
      .withWatermarks(WATERMARKS)
      .keyBy('userId')
      .window({
        assign: session('30m'),
        aggregate: { pages: count(), durationMs: reduce(durationMs), converted: reduce(converted), sessionIds: distinct('sessionId') },
        allowedLateness: ALLOWED_LATENESS,
      }),
  { source: 'generator:clickstream' },
);

export default clickstreamPageViews;
