import { describe, expect, it } from 'vitest';
import { OpenLoopSchedule } from '../../../src/loadtest/schedule.js';

describe('OpenLoopSchedule', () => {
  const s = new OpenLoopSchedule(10_000, [
    { rate: 1000, durationMs: 2000 },
    { rate: 250, durationMs: 4000 },
  ]);

  it('counts rate × duration records per step and lays the steps end to end', () => {
    expect(s.counts).toEqual([2000, 1000]);
    expect(s.starts).toEqual([10_000, 12_000, 16_000]);
    expect(s.total).toBe(3000);
    expect(s.endAt).toBe(16_000);
  });

  it('spaces records evenly from the start of their step', () => {
    expect(s.dueAt(0, 0)).toBe(10_000);
    expect(s.dueAt(0, 1)).toBe(10_001);
    expect(s.dueAt(1, 3)).toBe(12_012); // 3 × 4 ms
  });

  it('says how many records are due by a time, whether or not they were sent', () => {
    expect(s.dueBy(9_999)).toEqual({ step: 0, count: 0 });
    expect(s.dueBy(10_000)).toEqual({ step: 0, count: 1 });
    expect(s.dueBy(10_500.5)).toEqual({ step: 0, count: 501 });
    // a sender that slept through the rest of step 0 is told step 1 is under way: it owes all of step 0
    expect(s.dueBy(12_010)).toEqual({ step: 1, count: 3 });
    expect(s.dueBy(16_000)).toEqual({ step: 2, count: 0 });
  });

  it('finds the step of a moment', () => {
    expect(s.stepAt(9_000)).toBe(-1);
    expect(s.stepAt(11_999)).toBe(0);
    expect(s.stepAt(12_000)).toBe(1);
    expect(s.stepAt(20_000)).toBe(2);
  });
});
