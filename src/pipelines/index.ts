/**
 * The built-in pipelines by name, for a command line that runs them without a module file
 * (`generator:` sources make them self-contained demos and load-test subjects).
 *
 * @module
 */
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { clickstreamPageViews, clickstreamSessions } from './clickstream.js';
import { clickstreamPurchases } from './clickstream-purchases.js';
import { telemetryBraking, telemetryDriving } from './telemetry.js';
import { telemetryAnomalies } from './telemetry-anomalies.js';

export { clickstreamPageViews, clickstreamSessions, type Click } from './clickstream.js';
export { clickstreamPurchases, sessionFeatures, type SessionFeatures, type SessionPurchase } from './clickstream-purchases.js';
export { telemetryBraking, telemetryDriving, type Reading } from './telemetry.js';
export { telemetryAnomalies, type VehicleAnomaly, type VehicleWindowFeatures } from './telemetry-anomalies.js';
export { MODEL_ENDPOINT_URL_ENV, modelEndpoint, type ModelPipelineOptions } from './model-endpoint.js';

/**
 * Every built-in pipeline, keyed by its name (the name its results' ids are derived from).
 *
 * The prediction pipelines are built on first access, not when this module loads: they read
 * `SLUICE_MODEL_ENDPOINT_URL`, and a malformed value must stop only a run of one of them (with a
 * one-line error), not every command. Each is built once; the same object comes back after.
 *
 * @example BUILTIN_PIPELINES['clickstream-sessions'].defaults.source // 'generator:clickstream'
 * @see builtinPipeline
 */
export const BUILTIN_PIPELINES: Readonly<Record<string, PipelineDefinition>> = Object.freeze(
  byName([
    clickstreamPageViews,
    clickstreamSessions,
    ['clickstream-purchases', () => clickstreamPurchases()],
    telemetryDriving,
    telemetryBraking,
    ['telemetry-anomalies', () => telemetryAnomalies()],
  ]),
);

/** Definitions by name; a `[name, build]` pair becomes an enumerable getter that builds once. */
function byName(entries: readonly (PipelineDefinition | readonly [string, () => PipelineDefinition])[]): Record<string, PipelineDefinition> {
  const all: Record<string, PipelineDefinition> = {};
  for (const entry of entries) {
    if (!Array.isArray(entry)) {
      const definition = entry as PipelineDefinition;
      all[definition.name] = definition;
      continue;
    }
    const [name, build] = entry as readonly [string, () => PipelineDefinition];
    let built: PipelineDefinition | undefined;
    Object.defineProperty(all, name, { enumerable: true, get: () => (built ??= build()) });
  }
  return all;
}

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
