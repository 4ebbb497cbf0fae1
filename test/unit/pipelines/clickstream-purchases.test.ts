import { describe, expect, it } from 'vitest';
import { CLICKSTREAM_FEATURES, clickstreamExamples, clickstreamFeatures } from '../../../src/dev/model-server/features.js';
import { generatedEvents } from '../../../src/dev/model-server/train.js';
import { sessionFeatures } from '../../../src/pipelines/clickstream-purchases.js';
import type { Click } from '../../../src/pipelines/clickstream.js';
import { reduce } from '../../../src/windows/aggregates/reduce.js';
import { mulberry32 } from '../../support/prng.js';

const aggregate = reduce(sessionFeatures);

/** The features of `clicks` fed in the given order, split in two fragments that are then merged. */
function fed(clicks: readonly Click[], split = clicks.length): number[] {
  let a = aggregate.create();
  let b = aggregate.create();
  clicks.forEach((c, i) => {
    expect(aggregate.check?.(c)).toBeUndefined();
    if (i < split) a = aggregate.add(a, c);
    else b = aggregate.add(b, c);
  });
  const merged = aggregate.merge?.(a, b) ?? a;
  // through a checkpoint and back
  const restored = aggregate.load?.(JSON.parse(JSON.stringify(aggregate.save?.(merged)))) ?? merged;
  const result = aggregate.result(restored);
  expect(Object.keys(result)).toEqual([...CLICKSTREAM_FEATURES]);
  return CLICKSTREAM_FEATURES.map((f) => result[f]);
}

/** Generated sessions (a seed the model never saw), in partition order. */
const sessions = new Map<string, Click[]>();
for (const click of generatedEvents('clickstream', { seed: 404, events: 20_000, partitions: 1 }) as unknown as Click[]) {
  sessions.set(click.sessionId, [...(sessions.get(click.sessionId) ?? []), click]);
}

describe('sessionFeatures (the clickstream-purchase model’s inputs as a window aggregate)', () => {
  it('gives features.ts’s features of each generated session, whatever the arrival order and the split', () => {
    const random = mulberry32(5);
    let bought = 0;
    for (const [id, clicks] of sessions) {
      const [example] = clickstreamExamples(clicks);
      if (example === undefined) throw new Error(`session ${id} opens with a purchase`);
      if (example.label === 1) bought++;
      const shuffled = [...clicks].sort(() => random() - 0.5);
      expect(fed(clicks), id).toEqual(example.features);
      expect(fed(shuffled, Math.floor(random() * (clicks.length + 1))), id).toEqual(example.features);
    }
    expect(sessions.size).toBeGreaterThan(1000);
    expect(bought).toBeGreaterThan(100);
  });

  it('counts only the clicks before the first purchase in event time, even when the purchase arrives first', () => {
    const click = (ts: string, seq: number, page: string, kind: Click['kind'], extra: Partial<Click> = {}): Click => ({
      eventId: `gen-0:${seq}`,
      ts,
      userId: 'u1',
      sessionId: 's1',
      page,
      kind,
      referrer: 'https://www.google.com/',
      device: 'tablet',
      dwellMs: 6000,
      ...extra,
    });
    const session = [
      click('2026-11-01T00:00:00.000Z', 1, '/', 'view'),
      click('2026-11-01T00:01:00.000Z', 2, '/product/p001', 'view'),
      click('2026-11-01T00:02:00.000Z', 3, '/cart', 'cart', { price: 20 }),
      click('2026-11-01T00:03:00.000Z', 4, '/checkout', 'view'),
      click('2026-11-01T00:04:00.000Z', 5, '/checkout/confirm', 'purchase', { price: 20 }),
      click('2026-11-01T00:05:00.000Z', 6, '/product/p002', 'view'),
    ];
    const expected = [4, 1, 1, 1, 3, 6, 20, 0, 1, 1, 0];
    expect(fed(session)).toEqual(expected);
    expect(fed([...session].reverse(), 2)).toEqual(expected);
    // a session that opens with a purchase is scored on zeros, as clickstreamFeatures([]) says
    expect(fed([session[4] as Click, session[5] as Click])).toEqual(clickstreamFeatures([]));
  });

  it('rejects a click it cannot describe, so that it is dead-lettered rather than spoil the features', () => {
    const good = [...sessions.values()][0]?.[0] as Click;
    expect(aggregate.check?.({ ...good, dwellMs: '9s' })).toBe('dwellMs must be a number, got "9s"');
    expect(aggregate.check?.({ ...good, price: 'free' })).toBe('price must be a number, got "free"');
    const { device: _device, ...withoutDevice } = good;
    expect(aggregate.check?.(withoutDevice)).toBe('device must be a string, got nothing');
    expect(aggregate.check?.({ ...good, price: null })).toBeUndefined();
  });
});
