/**
 * Sluice's public API: define a pipeline in TypeScript and run it with `sluice run MODULE`.
 *
 * @example
 * import { definePipeline, tumbling, count, p95 } from 'sluice';
 * export default definePipeline('page-views', (s) => s
 *   .parseJson<{ page: string; ts: string; ms: number }>()
 *   .withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' })
 *   .keyBy('page')
 *   .window({ assign: tumbling('1m'), aggregate: { views: count(), p95_ms: p95('ms') } }));
 */
export { definePipeline, Stream, type WindowOptions } from './pipeline.js';
export type { PipelineDefinition, PipelineDefaults, WindowSpec } from './core/definition.js';
export type { Envelope, Position, Raw } from './core/envelope.js';
export type { Element, Batch, Watermark, Barrier, EndOfPartition, Control } from './core/elements.js';
export type { PartitionContext, DeadLetter } from './core/context.js';
export type { Source, PartitionReader, Sink } from './core/connectors.js';
export { batchOperator, asyncBatchOperator, guarded, readsOnly, REJECTED, type Operator } from './core/operator.js';
export { ErrorCode, UserError } from './core/errors.js';
export { parseDuration } from './core/duration.js';
export { parseJson } from './operators/parse-json.js';
export { limitSize } from './operators/limit-size.js';
export { validate } from './operators/validate.js';
export { map } from './operators/map.js';
export { filter } from './operators/filter.js';
export { flatMap } from './operators/flat-map.js';
export { keyBy } from './operators/key-by.js';
export { dedupe, type DedupeOptions } from './operators/dedupe.js';
export { enrich, type EnrichOptions } from './operators/enrich.js';
export { predict, type PredictOptions, type Predicted, type PredictOperator, type PredictionService, type Features } from './operators/predict.js';
export { withWatermarks, type WatermarkOptions } from './windows/watermarks.js';
export { tumbling, sliding, session, type WindowAssigner } from './windows/assigners.js';
export type { WindowResult } from './windows/result.js';
export { count, sum, avg, min, max, distinct, percentile, p50, p95, p99, reduce, type Aggregate, type AggregateMap, type Reducer } from './windows/aggregates/index.js';
export { runPipeline, type RunOptions, type RunSummary } from './runtime/run.js';
export { fileSource } from './ingest/file/index.js';
export { memorySource } from './ingest/memory/index.js';
export { fileSink, openFileSink } from './sinks/file/index.js';
export { stdoutSink, stderrSink } from './sinks/stdout/index.js';
