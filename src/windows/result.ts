import { resultId } from '../core/ids.js';
import type { Bounds, Pane } from './pane.js';

/** Field names every window result has; aggregate outputs may not use them. */
export const RESERVED_RESULT_FIELDS = ['id', 'key', 'partition', 'windowStart', 'windowEnd', 'revision', 'supersedes'] as const;

/**
 * One firing of one window: deterministic `id` (pipeline, key, bounds), `revision` 0 for the first
 * firing and +1 for each late re-firing, then the aggregate outputs. `supersedes` lists the ids of
 * earlier session results this one replaces (a late event joined them).
 */
export type WindowResult<A extends object = Record<string, unknown>> = {
  readonly id: string;
  readonly key: unknown;
  readonly partition?: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
  readonly supersedes?: readonly string[];
} & A;

/** Builds the result object; field order is fixed so the JSON text is too. */
export function windowResult(
  pipeline: string,
  pane: Pane,
  revision: number,
  fields: Record<string, unknown>,
  partition: string | undefined,
  supersedes: readonly Bounds[] | undefined,
): WindowResult {
  const out: Record<string, unknown> = {
    id: resultId(pipeline, pane.keyString, pane.start, pane.end, partition),
    key: pane.keyValue,
  };
  if (partition !== undefined) out['partition'] = partition;
  out['windowStart'] = pane.start;
  out['windowEnd'] = pane.end;
  out['revision'] = revision;
  for (const name in fields) out[name] = fields[name];
  if (supersedes !== undefined && supersedes.length > 0) {
    out['supersedes'] = supersedes.map((b) => resultId(pipeline, pane.keyString, b.start, b.end, partition));
  }
  return out as WindowResult;
}
