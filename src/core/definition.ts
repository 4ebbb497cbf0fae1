import type { Operator } from './operator.js';
import type { AggregateMap } from '../windows/aggregates/aggregate.js';
import type { WindowAssigner } from '../windows/assigners.js';
import type { WatermarkSpec } from '../windows/watermarks.js';

/** The windowing step of a pipeline. */
export interface WindowSpec {
  readonly assigner: WindowAssigner;
  readonly aggregates: AggregateMap;
  readonly allowedLateness: number;
}

/** Where a pipeline reads and writes when the command line does not say otherwise. */
export interface PipelineDefaults {
  readonly source?: string;
  readonly sinks?: readonly string[];
  readonly deadLetter?: string;
  readonly late?: string;
}

export const PIPELINE: unique symbol = Symbol.for('sluice.pipeline');

/**
 * A pipeline as the runtime sees it: operators before the window (run per partition), the window,
 * operators after it (run on the results). Built with `definePipeline`.
 */
export interface PipelineDefinition {
  readonly [PIPELINE]: true;
  readonly name: string;
  readonly before: readonly Operator<unknown, unknown>[];
  readonly watermarks: WatermarkSpec | undefined;
  readonly window: WindowSpec | undefined;
  readonly after: readonly Operator<unknown, unknown>[];
  readonly defaults: PipelineDefaults;
}

export function isPipelineDefinition(value: unknown): value is PipelineDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PIPELINE] === true;
}
