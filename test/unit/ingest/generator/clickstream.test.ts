import { beforeAll, describe, expect, it } from 'vitest';
import { PAGES, USERS } from '../../../../src/ingest/generator/clickstream.js';
import { generate } from './helpers.js';

interface Click {
  eventId: string;
  ts: string;
  userId: string;
  sessionId: string;
  page: string;
  kind: string;
  referrer: string;
  device: string;
  dwellMs: number;
  price?: number;
}

const THIRTY_MINUTES = 30 * 60_000;
let clicks: Click[];
beforeAll(() => {
  // 100k events span ~83 minutes of event time: long enough for users to come back
  clicks = generate({ workload: 'clickstream', seed: 3 }, 100_000).lines.map((line) => JSON.parse(line) as Click);
});

describe('clickstream model', () => {
  it('writes every field, in order, with the right types', () => {
    const fields = ['eventId', 'ts', 'userId', 'sessionId', 'page', 'kind', 'referrer', 'device', 'dwellMs'];
    const wrong = clicks.filter(
      (c) =>
        Object.keys(c).join() !== (c.kind === 'view' ? fields : [...fields, 'price']).join() ||
        !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(c.ts) ||
        !/^u\d+$/.test(c.userId) ||
        !/^[0-9a-f]{16}$/.test(c.sessionId) ||
        !PAGES.includes(c.page) ||
        !['view', 'cart', 'purchase'].includes(c.kind) ||
        !['mobile', 'desktop', 'tablet'].includes(c.device) ||
        !(Number.isSafeInteger(c.dwellMs) && c.dwellMs >= 0 && c.dwellMs <= 1_800_000) ||
        (c.price !== undefined && !(c.price >= 5 && c.price < 500)),
    );
    expect(wrong).toEqual([]);
    expect(new Set(clicks.map((c) => c.eventId)).size).toBe(clicks.length);
  });

  it('continues a session while the user’s gaps stay under 30 minutes, and starts a new one after', () => {
    const byUser = new Map<string, Click[]>();
    for (const click of clicks) {
      const own = byUser.get(click.userId);
      if (own === undefined) byUser.set(click.userId, [click]);
      else own.push(click);
    }
    let continued = 0;
    let renewed = 0;
    const broken: [Click, Click][] = [];
    const owner = new Map<string, string>();
    for (const [user, own] of byUser) {
      own.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
      for (let i = 0; i < own.length; i++) {
        const click = own[i] as Click;
        // a session id belongs to one user
        if ((owner.get(click.sessionId) ?? user) !== user) broken.push([click, click]);
        owner.set(click.sessionId, user);
        if (i === 0) continue;
        const before = own[i - 1] as Click;
        const gap = Date.parse(click.ts) - Date.parse(before.ts);
        const same = click.sessionId === before.sessionId;
        if (gap < THIRTY_MINUTES) continued++;
        else renewed++;
        if (same !== gap < THIRTY_MINUTES) broken.push([before, click]);
      }
    }
    expect(broken).toEqual([]);
    // both branches ran often, so the rule was really tested
    expect(continued).toBeGreaterThan(10_000);
    expect(renewed).toBeGreaterThan(500);
  });

  it('runs a funnel: each step reached by fewer sessions than the one before', () => {
    const reached = (test: (c: Click) => boolean) => new Set(clicks.filter(test).map((c) => c.sessionId)).size;
    const funnel = [
      reached((c) => c.kind === 'view'),
      reached((c) => c.page.startsWith('/product/')),
      reached((c) => c.kind === 'cart'),
      reached((c) => c.page === '/checkout'),
      reached((c) => c.kind === 'purchase'),
    ];
    for (let i = 1; i < funnel.length; i++) expect(funnel[i]).toBeLessThan(funnel[i - 1] as number);
    // most sessions never buy, but enough do for conversion metrics to mean something
    expect((funnel[4] as number) / (funnel[0] as number)).toBeGreaterThan(0.05);
    expect((funnel[4] as number) / (funnel[0] as number)).toBeLessThan(0.25);
    // a purchase follows a cart in its session
    const carted = new Set(clicks.filter((c) => c.kind === 'cart').map((c) => c.sessionId));
    expect(clicks.filter((c) => c.kind === 'purchase').every((c) => carted.has(c.sessionId))).toBe(true);
  });

  it('has Zipf-popular pages and users, and referrers that are sources or earlier pages', () => {
    const counts = (key: (c: Click) => string) => {
      const map = new Map<string, number>();
      for (const c of clicks) map.set(key(c), (map.get(key(c)) ?? 0) + 1);
      return [...map.values()].sort((a, b) => b - a);
    };
    const pages = counts((c) => c.page);
    expect(pages.length).toBeGreaterThan(190);
    expect(pages[0]).toBeGreaterThan(20 * (pages[100] as number));
    const users = counts((c) => c.userId);
    expect(users.length).toBeGreaterThan(USERS / 4);
    expect(users[0]).toBeGreaterThan(20 * (users[Math.floor(users.length / 2)] as number));
    const sources = new Set(clicks.map((c) => c.referrer).filter((r) => !r.startsWith('/')));
    expect([...sources].sort()).toEqual(
      ['direct', 'https://partner.example.com/', 'https://www.bing.com/', 'https://www.facebook.com/', 'https://www.google.com/', 'https://www.instagram.com/', 'newsletter'].sort(),
    );
    expect(clicks.filter((c) => c.referrer.startsWith('/')).every((c) => PAGES.includes(c.referrer))).toBe(true);
  });

  it('keeps user ids apart across partitions, and a user on one device', () => {
    const other = generate({ workload: 'clickstream', seed: 3 }, 20_000, 1).lines.map((line) => JSON.parse(line) as Click);
    const here = new Set(clicks.map((c) => c.userId));
    expect(other.some((c) => here.has(c.userId))).toBe(false);
    const devices = new Map<string, Set<string>>();
    for (const c of clicks) devices.set(c.userId, (devices.get(c.userId) ?? new Set()).add(c.device));
    expect([...devices.values()].filter((set) => set.size > 1)).toEqual([]);
  });
});
