import type { GeneratorConfig } from './config.js';
import type { Rng } from './rng.js';

/**
 * What a workload model knows about the partition it generates for.
 *
 * @see ModelFactory
 */
export interface ModelContext {
  /** Partition index: entity ids are offset by it so they are unique across partitions. */
  readonly partition: number;
  /** A per-(seed, partition) constant for stateless per-entity decisions with `hash32`. */
  readonly salt: number;
  readonly config: GeneratorConfig;
}

/**
 * One partition's workload: turns a nominal event time into the fields of an event. The
 * generator owns the clock, the ids and the out-of-order delays; a model owns only its entities.
 *
 * A model must draw randomness only from the `rng` it is given, in an order that depends only on
 * its state and `t`, and `save()` must capture everything else it remembers: that is what makes
 * a resumed partition continue byte for byte.
 *
 * @see ModelFactory
 */
export interface Model {
  /** The fields after `eventId` and `ts`, for the event at nominal time `t` (ms since start). */
  next(t: number, rng: Rng): Record<string, unknown>;
  /** The model's state as plain JSON data; numbers must survive `JSON.stringify` exactly. */
  save(): unknown;
}

/**
 * Creates a workload's model for a partition, fresh or from a saved state.
 *
 * @example const model = clickstream.create({ partition: 0, salt, config }, rng)
 * @see Model
 */
export interface ModelFactory {
  create(context: ModelContext, rng: Rng): Model;
  /** Throws (any error) when `saved` is not a state this model wrote. */
  load(context: ModelContext, saved: unknown): Model;
}

/**
 * A saved array of number tuples, checked: what both models keep per entity. Throws when the
 * shape is wrong, so a damaged position fails at open instead of producing odd events.
 *
 * @example numberRows(saved, 7) // [[…7 numbers], …]
 * @see Model.save
 */
export function numberRows(saved: unknown, width: number): number[][] {
  if (!Array.isArray(saved) || !saved.every((row) => Array.isArray(row) && row.length === width && row.every((n) => typeof n === 'number'))) {
    throw new Error(`model state must be rows of ${width} numbers`);
  }
  return saved as number[][];
}
