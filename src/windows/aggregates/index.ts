/**
 * Window aggregates: the built-ins, user reducers, and the composite a window runs.
 *
 * @module
 */
export type { Aggregate, AggregateMap, AggregateResults } from './aggregate.js';
export { type ExactSum, addExact, mergeExact, exactValue } from './exact-sum.js';
export { numericCheck } from './numeric-field.js';
export { count } from './count.js';
export { type SumAcc, sum, sumParts } from './sum.js';
export { avg } from './avg.js';
export { min } from './min.js';
export { max } from './max.js';
export { type DistinctAcc, distinct } from './distinct.js';
export { type PercentileAcc, mergeSketch, percentile, p50, p95, p99 } from './percentile.js';
export { type Reducer, type Buffered, reduce, buffered } from './reduce.js';
export { type CompositeOptions, CompositeAggregate } from './composite.js';
export { parseAggSpec } from './parse-agg-spec.js';
