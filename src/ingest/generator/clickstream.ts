import { numberRows, type Model, type ModelContext, type ModelFactory } from './model.js';
import { hash32, unitHash, Zipf, type Rng } from './rng.js';

/**
 * The clickstream workload: web shop visits by ~10k users per partition, with Zipf-popular users
 * and pages, referrers, devices, and a funnel view → product → cart → checkout → purchase.
 *
 * Sessions without per-user state: a user may be online only in the first 18 minutes of each
 * hour of their own (phase and on/off decided by a hash of the user and the hour), and the
 * session id is a hash of (user, hour). Events of one session are therefore < 30 minutes apart
 * (18 min plus at most 11 min of lag), and two sessions of a user are > 30 minutes apart (42 min
 * minus that lag): "a new session after a 30-minute gap" holds by construction, and the state is
 * only the 64 visits in progress, not 10k users' histories.
 *
 * @module
 */

/** Users per partition; user ids are offset by partition so they are unique across partitions. */
export const USERS = 10_000;
/** Visits in progress at once; each event advances one of them, picked at random. */
export const VISITS = 64;
/** Each user's online window per hour of event time. */
export const ONLINE_MS = 18 * 60_000;
const HOUR_MS = 3_600_000;
/** Share of hours in which a user comes online at all. */
const ONLINE_SHARE = 0.5;

const BROWSE = ['/', '/search', '/deals', '/new', '/help', '/account', '/stores', ...Array.from({ length: 23 }, (_, i) => `/category/c${i + 1}`)];
const PRODUCTS = 167;
/** Every page, ~200: browse pages, product pages, then the cart and checkout pages. */
export const PAGES: readonly string[] = [
  ...BROWSE,
  ...Array.from({ length: PRODUCTS }, (_, i) => `/product/p${String(i + 1).padStart(3, '0')}`),
  '/cart',
  '/checkout',
  '/checkout/confirm',
];
const [CART_PAGE, CHECKOUT_PAGE, CONFIRM_PAGE] = [PAGES.length - 3, PAGES.length - 2, PAGES.length - 1];

// A flat exponent: users are drawn among those online (~15%), which concentrates the draws, and
// a steeper one gives the top user thousands of clicks per session.
const USER_POPULARITY = new Zipf(USERS, 0.5);
const BROWSE_POPULARITY = new Zipf(BROWSE.length, 1);
const PRODUCT_POPULARITY = new Zipf(PRODUCTS, 1);

/** Where a visit's first page view comes from, with its share. */
const SOURCES: readonly (readonly [string, number])[] = [
  ['direct', 0.35],
  ['https://www.google.com/', 0.3],
  ['https://www.facebook.com/', 0.1],
  ['newsletter', 0.08],
  ['https://www.instagram.com/', 0.07],
  ['https://www.bing.com/', 0.05],
  ['https://partner.example.com/', 0.05],
];

/** Funnel stages; a visit emits one event per step and then moves on by {@link NEXT}. */
const Stage = { Browse: 0, Product: 1, Cart: 2, Checkout: 3, Purchase: 4, Done: 5 } as const;
type Stage = (typeof Stage)[keyof typeof Stage];

/** From each stage: [next stage, probability]; each step further down is rarer. */
const NEXT: readonly (readonly (readonly [Stage, number])[])[] = [
  [[Stage.Browse, 0.35], [Stage.Product, 0.45], [Stage.Done, 0.2]],
  [[Stage.Browse, 0.2], [Stage.Product, 0.4], [Stage.Cart, 0.15], [Stage.Done, 0.25]],
  [[Stage.Product, 0.25], [Stage.Checkout, 0.4], [Stage.Done, 0.35]],
  [[Stage.Purchase, 0.55], [Stage.Done, 0.45]],
  [[Stage.Browse, 0.2], [Stage.Done, 0.8]],
];

// A visit is a row of numbers, so the saved state is compact JSON.
const RANK = 0;
const HOUR = 1;
const END = 2;
const STAGE = 3;
const PRODUCT = 4;
const LAST_PAGE = 5;
const IDLE: readonly number[] = [0, 0, 0, Stage.Done, -1, -1];

/**
 * The clickstream model factory.
 *
 * @example clickstream.create(context, rng).next(1000, rng) // { userId: 'u17', sessionId: '…', page: '/', kind: 'view', … }
 * @see telemetry
 */
export const clickstream: ModelFactory = {
  create: (context) => new Clickstream(context, Array.from({ length: VISITS }, () => [...IDLE])),
  load: (context, saved) => {
    const visits = numberRows(saved, IDLE.length);
    if (visits.length !== VISITS) throw new Error(`expected ${VISITS} visits`);
    return new Clickstream(context, visits);
  },
};

class Clickstream implements Model {
  private readonly userBase: number;

  constructor(
    private readonly context: ModelContext,
    private readonly visits: number[][],
  ) {
    this.userBase = context.partition * USERS;
  }

  next(t: number, rng: Rng): Record<string, unknown> {
    const i = rng.int(VISITS);
    let visit = this.visits[i] as number[];
    // A visit also ends when its user's online window closes: that keeps sessions apart.
    if (visit[STAGE] === Stage.Done || t >= (visit[END] as number)) visit = this.visits[i] = this.startVisit(t, rng);
    const user = this.userBase + (visit[RANK] as number);
    const stage = visit[STAGE] as Stage;
    const referrer = visit[LAST_PAGE] === -1 ? pick(SOURCES, rng) : (PAGES[visit[LAST_PAGE] as number] as string);
    let page: number;
    if (stage === Stage.Browse) page = BROWSE_POPULARITY.sample(rng);
    else if (stage === Stage.Product) page = BROWSE.length + (visit[PRODUCT] = PRODUCT_POPULARITY.sample(rng));
    else page = stage === Stage.Cart ? CART_PAGE : stage === Stage.Checkout ? CHECKOUT_PAGE : CONFIRM_PAGE;
    const kind = stage === Stage.Cart ? 'cart' : stage === Stage.Purchase ? 'purchase' : 'view';
    // Log-normal dwell: a median of 9 s with a long tail, capped at 30 minutes.
    const dwellMs = Math.min(1_800_000, Math.round(9000 * Math.exp(0.9 * rng.normal())));
    const event: Record<string, unknown> = {
      userId: `u${user}`,
      sessionId: hex(hash32(this.context.salt, user, visit[HOUR] as number, 1)) + hex(hash32(this.context.salt, user, visit[HOUR] as number, 2)),
      page: PAGES[page],
      kind,
      referrer,
      device: deviceOf(this.context.salt, user),
      dwellMs,
    };
    if (kind !== 'view') event['price'] = priceOf(visit[PRODUCT] as number);
    visit[LAST_PAGE] = page;
    visit[STAGE] = pick(NEXT[stage] ?? [], rng);
    return event;
  }

  save(): unknown {
    return this.visits.map((visit) => [...visit]);
  }

  /** A visit by a user who is online at `t`, drawn by popularity. */
  private startVisit(t: number, rng: Rng): number[] {
    for (let tries = 0; tries < 1000; tries++) {
      const visit = this.ifOnline(USER_POPULARITY.sample(rng), t);
      if (visit !== undefined) return visit;
    }
    // About 15% of draws succeed, so this is never reached in practice; it keeps the loop finite.
    for (let rank = 0; rank < USERS; rank++) {
      const visit = this.ifOnline(rank, t);
      if (visit !== undefined) return visit;
    }
    throw new Error(`no clickstream user is online at event time ${t}`);
  }

  /** A new visit row for user `rank` when its online window contains `t`. */
  private ifOnline(rank: number, t: number): number[] | undefined {
    const user = this.userBase + rank;
    const phase = hash32(this.context.salt, user, 0x0f5e7) % HOUR_MS;
    const hour = Math.floor((t - phase) / HOUR_MS);
    const start = phase + hour * HOUR_MS;
    if (t - start >= ONLINE_MS || unitHash(this.context.salt, user, hour, 0x0a11) >= ONLINE_SHARE) return undefined;
    return [rank, hour, start + ONLINE_MS, Stage.Browse, -1, -1];
  }
}

function pick<T>(choices: readonly (readonly [T, number])[], rng: Rng): T {
  let u = rng.next();
  for (const [choice, p] of choices) if ((u -= p) < 0) return choice;
  // rounding may leave u a hair above 0 after the last choice
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

function deviceOf(salt: number, user: number): string {
  const u = unitHash(salt, user, 0xde71ce);
  return u < 0.45 ? 'mobile' : u < 0.9 ? 'desktop' : 'tablet';
}

/** A product's price in $5.00–$499.99: a catalogue fact, the same in every partition and seed. */
function priceOf(product: number): number {
  return (500 + (hash32(product, 0x9e1ce) % 49_500)) / 100;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
