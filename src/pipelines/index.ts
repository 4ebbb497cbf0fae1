/**
 * The built-in pipelines by name, for a command line that runs them without a module file
 * (`generator:` sources make them self-contained demos and load-test subjects).
 *
 * @module
 */
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { clickstreamPageViews, clickstreamSessions } from './clickstream.js';
import { telemetryBraking, telemetryDriving } from './telemetry.js';

export { clickstreamPageViews, clickstreamSessions, type Click } from './clickstream.js';
export { telemetryBraking, telemetryDriving, type Reading } from './telemetry.js';

/**
 * Every built-in pipeline, keyed by its name (the name its results' ids are derived from).
 *
 * @example BUILTIN_PIPELINES['clickstream-sessions'].defaults.source // 'generator:clickstream'
 * @see builtinPipeline
 */
export const BUILTIN_PIPELINES: Readonly<Record<string, PipelineDefinition>> = Object.freeze(
  Object.fromEntries([clickstreamPageViews, clickstreamSessions, telemetryDriving, telemetryBraking].map((definition) => [definition.name, definition])),
);

/**
 * The built-in pipeline called `name`; a `UserError(BAD_DEFINITION)` listing the names otherwise.
 *
 * @example builtinPipeline('telemetry-braking').window?.assigner // { kind: 'tumbling', size: 300000, offset: 0 }
 * @see BUILTIN_PIPELINES
 */
export function builtinPipeline(name: string): PipelineDefinition {
  const definition = Object.hasOwn(BUILTIN_PIPELINES, name) ? BUILTIN_PIPELINES[name] : undefined;
  if (definition === undefined) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `no built-in pipeline '${name}'; built-in: ${Object.keys(BUILTIN_PIPELINES).join(', ')}`);
  }
  return definition;
}
