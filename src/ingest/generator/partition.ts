import type { Position } from '../../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import { clickstream } from './clickstream.js';
import { contentSettings, type GeneratorConfig, type Workload } from './config.js';
import type { Model, ModelContext, ModelFactory } from './model.js';
import { hash32, Rng } from './rng.js';
import { telemetry } from './telemetry.js';

/**
 * Mean event-time gap within a partition (Poisson arrivals, 20 events per second of event time).
 * Fixed, not derived from `rate`: event time is a function of the event index alone, so pacing
 * changes when events arrive, never what they say.
 */
export const MEAN_GAP_MS = 50;

/**
 * Events between state snapshots. Every position carries the snapshot taken at the start of its
 * block, so a resume replays fewer than this many events (well under a millisecond) and a
 * snapshot costs a few bytes per event, where one per event would cost kilobytes.
 */
export const SNAPSHOT_EVERY = 256;

/** Late events lag by 10 × maxDelay plus up to this much: far beyond any sane out-of-orderness. */
export const LATE_SPAN_MS = 60_000;

const MODELS: Readonly<Record<Workload, ModelFactory>> = { clickstream, telemetry };

interface Snapshot {
  readonly settings: string;
  readonly seq: number;
  readonly t: number;
  readonly rng: unknown;
  readonly model: unknown;
}

/**
 * One generated event: the JSON line and its position `{ seq, state }`.
 *
 * @see PartitionGenerator
 */
export interface GeneratedEvent {
  readonly line: string;
  readonly position: Position;
}

/**
 * The event sequence of one partition: a Poisson clock, the workload model, and out-of-order and
 * late lags, all drawn from one seeded stream in a fixed order. Event `seq` (1-based) depends
 * only on the content settings, the seed and the partition index.
 *
 * @example const gen = PartitionGenerator.start(config, 0); gen.next().line // '{"eventId":"gen-0:1",…}'
 * @see GeneratorReader
 */
export class PartitionGenerator {
  readonly id: string;
  private seq = 0;
  /** Nominal event time in ms since `startTime`, before any lag. */
  private t = 0;
  private snapshot = '';

  private constructor(
    private readonly config: GeneratorConfig,
    readonly index: number,
    private readonly rng: Rng,
    private readonly model: Model,
  ) {
    this.id = partitionId(index);
  }

  /** The partition from its first event. */
  static start(config: GeneratorConfig, index: number): PartitionGenerator {
    const rng = Rng.forStream(config.seed, index);
    return new PartitionGenerator(config, index, rng, MODELS[config.workload].create(context(config, index), rng));
  }

  /**
   * The partition continuing right after the event at `position`: restores the snapshot the
   * position carries and replays the rest of its block. Throws `UserError(BAD_OPTION)` for a
   * position this generator, with these settings, did not write.
   */
  static resume(config: GeneratorConfig, index: number, position: Position): PartitionGenerator {
    const refuse = (why: string): never => {
      throw new UserError(ErrorCode.BAD_OPTION, `cannot resume generator partition '${partitionId(index)}': ${why}`);
    };
    const seq = Number(position['seq']);
    const state = position['state'];
    if (!Number.isSafeInteger(seq) || seq < 1 || typeof state !== 'string') refuse('its position has no { seq, state } from this generator');
    let snap: Snapshot;
    try {
      snap = JSON.parse(state as string) as Snapshot;
    } catch (err) {
      return refuse(`its position state is not JSON (${messageOf(err)})`);
    }
    if (snap.settings !== contentSettings(config)) {
      refuse('its position was written with other settings (workload, seed, start time, delays or anomaly rate)');
    }
    if (!Number.isSafeInteger(snap.seq) || seq - snap.seq < 1 || seq - snap.seq > SNAPSHOT_EVERY || typeof snap.t !== 'number') {
      refuse(`its position state does not belong to event ${seq}`);
    }
    let generator: PartitionGenerator;
    try {
      generator = new PartitionGenerator(config, index, Rng.restore(snap.rng), MODELS[config.workload].load(context(config, index), snap.model));
    } catch (err) {
      return refuse(`its position state is damaged (${messageOf(err)})`);
    }
    generator.seq = snap.seq;
    generator.t = snap.t;
    while (generator.seq < seq) generator.next();
    return generator;
  }

  /** Events generated so far: the `seq` of the last one. */
  get count(): number {
    return this.seq;
  }

  /** Generates the next event. */
  next(): GeneratedEvent {
    if (this.seq % SNAPSHOT_EVERY === 0) this.snapshot = JSON.stringify(this.save());
    const seq = ++this.seq;
    const rng = this.rng;
    this.t += rng.exponential(MEAN_GAP_MS);
    const fields = this.model.next(this.t, rng);
    const nominal = Math.floor(this.t);
    // Lagging never goes before event time 0: the first events stay at or after startTime.
    const ts = this.config.startTime + nominal - Math.min(nominal, this.lag());
    const line = JSON.stringify({ eventId: `${this.id}:${seq}`, ts: new Date(ts).toISOString(), ...fields });
    return { line, position: { seq, state: this.snapshot } };
  }

  /**
   * How far this event's time lags its place in the sequence: 0 for most, up to `maxDelay` for
   * out-of-order ones, and (10 × maxDelay, 10 × maxDelay + 60 s] for late ones.
   */
  private lag(): number {
    const { lateFraction, outOfOrderFraction, maxDelay } = this.config;
    const u = this.rng.next();
    if (u < lateFraction) return 10 * maxDelay + 1 + this.rng.int(LATE_SPAN_MS);
    if (u < lateFraction + outOfOrderFraction && maxDelay > 0) return 1 + this.rng.int(maxDelay);
    return 0;
  }

  private save(): Snapshot {
    return { settings: contentSettings(this.config), seq: this.seq, t: this.t, rng: this.rng.state(), model: this.model.save() };
  }
}

/**
 * The id of partition `index`: `gen-0`, `gen-1`, …
 *
 * @example partitionId(2) // 'gen-2'
 * @see PartitionGenerator
 */
export function partitionId(index: number): string {
  return `gen-${index}`;
}

function context(config: GeneratorConfig, partition: number): ModelContext {
  const seed = config.seed;
  return { partition, salt: hash32(seed % 4_294_967_296, Math.floor(seed / 4_294_967_296), partition, 0x5a17), config };
}
