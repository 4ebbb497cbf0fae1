import { describe, expect, it } from 'vitest';
import type { PartitionCheckpoint } from '../../../../src/checkpoint/store.js';
import { inheritOperators } from '../../../../src/ingest/kinesis/lease-store.js';
import { hashKey } from '../../../../src/loadtest/hashing.js';
import type { PaneState } from '../../../../src/windows/pane.js';

// What a child shard inherits from its parents' final state: after a split, the windows of the
// keys that now hash into its range; after a merge, both parents' windows at the lower watermark.

const pane = (route: string | undefined, start = 0): PaneState => ({ key: `k:${route ?? '-'}`, keyValue: { k: route }, start, end: start + 60_000, acc: [1], firings: 0, supersedes: null, ...(route === undefined ? {} : { route }) });

const parent = (watermark: number, panes: PaneState[], extra: Record<string, unknown> = {}): PartitionCheckpoint => ({
  position: { shard: 'p', sequence: '9', sub: 0 },
  ended: true,
  operators: { 'before.1': { maxSeen: watermark + 1, current: watermark, emitted: watermark }, window: { window: { watermark, panes } }, ...extra },
});

const MAX = (1n << 128n) - 1n;
const HALF = MAX / 2n;

describe('inheritOperators', () => {
  it('after a split, keeps exactly the panes whose partition key hashes into the child range', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const from = parent(1_000, keys.map((k) => pane(k)));
    const low = inheritOperators([from], { start: 0n, end: HALF });
    const high = inheritOperators([from], { start: HALF + 1n, end: MAX });
    const routes = (ops: Record<string, unknown>): string[] => ((ops['window'] as { window: { panes: PaneState[] } }).window.panes.map((p) => p.route as string));
    expect(routes(low).every((k) => hashKey(k) <= HALF)).toBe(true);
    expect(routes(high).every((k) => hashKey(k) > HALF)).toBe(true);
    // every pane goes to exactly one child
    expect([...routes(low), ...routes(high)].sort()).toEqual([...keys].sort());
    expect(routes(low).length).toBeGreaterThan(5);
    expect(routes(high).length).toBeGreaterThan(5);
    // the rest of the parent's state is copied
    expect(low['before.1']).toEqual(from.operators['before.1']);
  });

  it('keeps panes without a route (a source without record keys) in every child', () => {
    const ops = inheritOperators([parent(0, [pane(undefined)])], { start: 0n, end: 1n });
    expect((ops['window'] as { window: { panes: PaneState[] } }).window.panes).toHaveLength(1);
  });

  it('after a merge, takes both parents\' panes at the lower watermark, other state from that parent', () => {
    const a = parent(5_000, [pane('a', 0)], { 'before.2': 'from-a' });
    const b = parent(3_000, [pane('b', 60_000)], { 'before.2': 'from-b' });
    const ops = inheritOperators([a, b], { start: 0n, end: MAX });
    const window = (ops['window'] as { window: { watermark: number; panes: PaneState[] } }).window;
    expect(window.watermark).toBe(3_000);
    expect(window.panes.map((p) => p.route)).toEqual(['a', 'b']);
    expect(ops['before.2']).toBe('from-b');
  });
});
