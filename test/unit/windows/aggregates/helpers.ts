import type { Aggregate } from '../../../../src/windows/aggregates/index.js';
import { mulberry32 } from '../../../support/prng.js';
export { mulberry32 } from '../../../support/prng.js';

/** Runs events through an aggregate the way a window does: check, then add. */
export function fold<A, R>(aggregate: Aggregate<A, R>, events: readonly unknown[]): A {
  let acc = aggregate.create();
  for (const event of events) {
    const problem = aggregate.check?.(event);
    if (problem !== undefined) throw new Error(`unexpected check failure: ${problem}`);
    acc = aggregate.add(acc, event);
  }
  return acc;
}

/** Folds events and returns the result. */
export function run<A, R>(aggregate: Aggregate<A, R>, events: readonly unknown[]): R {
  return aggregate.result(fold(aggregate, events));
}

/** Splits `items` at the given cut points (any numbers; they are reduced modulo the length). */
export function split<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((c) => (items.length === 0 ? 0 : c % (items.length + 1))))].sort((a, b) => a - b);
  const chunks: T[][] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(items.slice(start, point));
    start = point;
  }
  chunks.push(items.slice(start));
  return chunks;
}

/** Deterministic permutation of `items` driven by `seed`. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}


/** Tag of a non-finite number in {@link checkpointRoundTrip}'s JSON. */
const NON_FINITE = '$nonFinite';

/**
 * JSON text and back, keeping ±Infinity and NaN as the checkpoint codec promises, and nothing
 * more: -0 comes back as 0, as plain JSON has it.
 */
export function checkpointRoundTrip(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v));
  if (text === undefined) throw new Error('not JSON data');
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && Object.keys(v).length === 1 && NON_FINITE in v) return Number((v as Record<string, string>)[NON_FINITE]);
    return v;
  }) as unknown;
}

/** `load(save(acc))`, through the codec unless `roundTrip` is false; identity where absent. */
export function restore<A>(aggregate: Aggregate<A, unknown>, acc: A, roundTrip = true): A {
  const saved = aggregate.save ? aggregate.save(acc) : acc;
  const stored = roundTrip ? checkpointRoundTrip(saved) : saved;
  return aggregate.load ? aggregate.load(stored) : (stored as A);
}
