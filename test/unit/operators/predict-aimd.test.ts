import { describe, expect, it } from 'vitest';
import { AimdLimiter, type Permit } from '../../../src/operators/predict/aimd.js';

/** Acquires `n` permits that are granted at once (fails if one has to wait). */
async function grab(limiter: AimdLimiter, n: number): Promise<Permit[]> {
  const permits: Permit[] = [];
  for (let i = 0; i < n; i++) {
    let granted: Permit | undefined;
    void limiter.acquire().then((p) => (granted = p));
    await Promise.resolve();
    if (granted === undefined) throw new Error(`permit ${i + 1} of ${n} was not granted at once`);
    permits.push(granted);
  }
  return permits;
}

describe('AIMD concurrency limit', () => {
  it('starts at max and makes the next caller wait until a permit comes back', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 2 });
    const [a] = await grab(limiter, 2);
    let third = false;
    void limiter.acquire().then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    expect(limiter.waiting).toBe(1);
    limiter.release(a as Permit, 'ok');
    await Promise.resolve();
    expect(third).toBe(true);
    expect(limiter.inFlight).toBe(2);
  });

  it('halves the limit once for a burst of throttles on calls that started together', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 8 });
    const permits = await grab(limiter, 8);
    for (const p of permits) limiter.release(p, 'throttled');
    expect(limiter.limit).toBe(4);
    expect(limiter.decreases).toBe(1);
  });

  it('halves again for a throttle on a call that started after the last decrease, never below min', async () => {
    const limiter = new AimdLimiter({ min: 3, max: 16 });
    for (const expected of [8, 4, 3, 3]) {
      const [p] = await grab(limiter, 1);
      limiter.release(p as Permit, 'throttled');
      expect(limiter.limit).toBe(expected);
    }
    expect(limiter.lowest).toBe(3);
  });

  it('treats a slow call like a throttled one, and a plain failure as no signal', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 8 });
    const [a, b] = await grab(limiter, 2);
    limiter.release(a as Permit, 'failed');
    expect(limiter.limit).toBe(8);
    limiter.release(b as Permit, 'slow');
    expect(limiter.limit).toBe(4);
  });

  it('grows by about one per round of successful calls, up to max', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 6, initial: 2 });
    const limits: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (const p of await grab(limiter, limiter.limit)) limiter.release(p, 'ok');
      limits.push(limiter.limit);
    }
    // a round of L successes adds a little under L × 1/L = 1 (the limit grows within the round)
    expect(limits).toEqual([2, 3, 4, 5, 6, 6]);
  });

  it('lets waiting callers in when the limit grows, first come first served', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 4, initial: 1 });
    const [first] = await grab(limiter, 1);
    const order: number[] = [];
    for (const n of [1, 2, 3]) void limiter.acquire().then(() => order.push(n));
    limiter.release(first as Permit, 'ok'); // limit 1 → 2: two may start
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    expect(limiter.inFlight).toBe(2);
  });

  it('counts a permit released twice only once', async () => {
    const limiter = new AimdLimiter({ min: 1, max: 4 });
    const [p] = await grab(limiter, 1);
    limiter.release(p as Permit, 'throttled');
    limiter.release(p as Permit, 'throttled');
    expect(limiter.inFlight).toBe(0);
    expect(limiter.limit).toBe(2);
  });
});
