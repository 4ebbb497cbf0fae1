import { beforeAll, describe, expect, it } from 'vitest';
import { clickstreamPageViews, clickstreamSessions, type Click } from '../../../src/pipelines/clickstream.js';
import { acceptedWindows, LATE_HEAVY, runBuiltin, total, tumblingStart, type BuiltinRun } from './helpers.js';

const MINUTE = 60_000;
const GAP = 30 * MINUTE;

describe('built-in pipeline clickstream (page views per page per minute)', () => {
  let run: BuiltinRun<Click>;
  beforeAll(async () => {
    run = await runBuiltin<Click>(clickstreamPageViews, { workload: 'clickstream', ...LATE_HEAVY });
  });

  it('counts every event that was not late exactly once', () => {
    const accepted = acceptedWindows(run.events, tumblingStart(MINUTE), MINUTE);
    expect(run.late).toEqual(run.events.filter((click) => accepted.get(click)?.length === 0));
    expect(run.late.length).toBeGreaterThan(500);
    expect(run.deadLetters).toEqual([]);
    expect(total(run.results, 'views')).toBe(run.events.length - run.late.length);
  });

  it('gives each page and minute its views and distinct users', () => {
    const late = new Set(run.late);
    const expected = new Map<string, { views: number; users: Set<string> }>();
    for (const click of run.events) {
      if (late.has(click)) continue;
      const start = Math.floor(Date.parse(click.ts) / MINUTE) * MINUTE;
      const key = `${click.page} ${start}`;
      const entry = expected.get(key) ?? { views: 0, users: new Set<string>() };
      entry.views++;
      entry.users.add(click.userId);
      expected.set(key, entry);
    }
    const got = new Map(run.results.map((r) => [`${String(r.key['page'])} ${r.windowStart}`, { views: r['views'], users: r['users'] }]));
    expect(got).toEqual(new Map([...expected].map(([key, e]) => [key, { views: e.views, users: e.users.size }])));
    for (const r of run.results) expect([Object.keys(r.key), r.windowEnd - r.windowStart]).toEqual([['page'], MINUTE]);
  });
});

describe('built-in pipeline clickstream-sessions (30-minute sessions per user)', () => {
  let run: BuiltinRun<Click>;
  beforeAll(async () => {
    run = await runBuiltin<Click>(clickstreamSessions, { workload: 'clickstream', ...LATE_HEAVY, events: 60_000 });
  });

  it('carries pages, duration, conversion and how many client session ids each session spans', () => {
    for (const r of run.results) {
      expect(Object.keys(r)).toEqual(['id', 'key', 'windowStart', 'windowEnd', 'revision', 'pages', 'durationMs', 'converted', 'sessionIds']);
      expect(Object.keys(r.key)).toEqual(['userId']);
      // the window ends one gap after the last click: duration is the rest
      expect(r['durationMs']).toBe(r.windowEnd - GAP - r.windowStart);
    }
    // a session closes 30 minutes after its last click: no lag the generator makes is that late
    expect(run.late).toEqual([]);
    expect(total(run.results, 'pages')).toBe(run.events.length);
  });

  it('rebuilds exactly the sessions the clients reported, each one whole', () => {
    const late = new Set(run.late);
    const sessions = new Map<string, { userId: string; first: number; last: number; pages: number; converted: boolean }>();
    for (const click of run.events) {
      if (late.has(click)) continue;
      const t = Date.parse(click.ts);
      const s = sessions.get(click.sessionId) ?? { userId: click.userId, first: t, last: t, pages: 0, converted: false };
      s.first = Math.min(s.first, t);
      s.last = Math.max(s.last, t);
      s.pages++;
      s.converted ||= click.kind === 'purchase';
      sessions.set(click.sessionId, s);
    }
    const row = (userId: unknown, start: number, pages: unknown, duration: unknown, converted: unknown) => JSON.stringify([userId, start, pages, duration, converted]);
    const expected = [...sessions.values()].map((s) => row(s.userId, s.first, s.pages, s.last - s.first, s.converted)).sort();
    const got = run.results.map((r) => row(r.key['userId'], r.windowStart, r['pages'], r['durationMs'], r['converted'])).sort();
    expect(got).toEqual(expected);
    expect(run.results.every((r) => r['sessionIds'] === 1)).toBe(true);
    // the comparison covered sessions that converted and sessions that did not
    expect(run.results.filter((r) => r['converted'] === true).length).toBeGreaterThan(100);
    expect(run.results.filter((r) => (r['pages'] as number) > 1).length).toBeGreaterThan(1000);
  });
});
