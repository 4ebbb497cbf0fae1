import { Heap } from 'heap-js';
import { guarded, REJECTED, statefulBatchOperator, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { compilePath } from '../core/paths.js';
import { canonicalKey } from '../core/keys.js';
import { toMillis } from '../core/duration.js';

/** Options for {@link dedupe}. */
export interface DedupeOptions<T> {
  /** Field path or function giving the id that identifies repeats. */
  readonly id: string | ((value: T) => unknown);
  /** How long an id is remembered: `10m`, or milliseconds. */
  readonly ttl: string | number;
}

/**
 * Drops events whose id was already accepted within `ttl` of their event time, counting them as
 * `duplicates`.
 *
 * The outcome depends only on the partition's event sequence: an event is a duplicate when an
 * earlier accepted event with the same id lies within `ttl` of it in event time, whatever came
 * in between. An accepted id is forgotten once the watermark passes its time + `ttl` (later
 * events that old are late anyway). Events without event time (no `withWatermarks` before)
 * use the scheduler's clock for both.
 *
 * @example s.withWatermarks({ time: 'ts' }).dedupe({ id: 'eventId', ttl: '10m' })
 * @see keyBy
 */
export function dedupe<T>(options: DedupeOptions<T>): Operator<T, T> {
  const ttl = toMillis(options.ttl, 'dedupe ttl');
  if (ttl <= 0) throw new UserError(ErrorCode.BAD_DEFINITION, 'dedupe ttl must be greater than zero');
  const idOf = typeof options.id === 'string' ? compilePath(options.id) : options.id;
  const idName = typeof options.id === 'string' ? `id field '${options.id}'` : 'id function';
  return statefulBatchOperator((ctx, restored) => {
    /** Accepted event times per id; almost always one. */
    const accepted = new Map<string, number[]>();
    const expiries = new Heap<readonly [number, string, number]>((a, b) => a[0] - b[0]);
    for (const [id, times] of (restored as DedupeState | undefined)?.accepted ?? []) {
      accepted.set(id, [...times]);
      for (const time of times) expiries.push([time + ttl, id, time]);
    }

    const forgetBefore = (horizon: number): void => {
      for (let top = expiries.peek(); top !== undefined && top[0] < horizon; top = expiries.peek()) {
        expiries.pop();
        const [, id, time] = top;
        const times = accepted.get(id);
        if (times === undefined) continue;
        const at = times.indexOf(time);
        if (at >= 0) times.splice(at, 1);
        if (times.length === 0) accepted.delete(id);
      }
    };

    const transform = (events: Envelope<T>[]): Envelope<T>[] => {
      let n = 0;
      for (let i = 0; i < events.length; i++) {
        const env = events[i] as Envelope<T>;
        const id = guarded(ctx, env, 'dedupe', ErrorCode.OPERATOR_FAILED, () => idOf(env.value as never));
        if (id === REJECTED) continue;
        if (id === undefined || id === null) {
          ctx.deadLetter(env, 'dedupe', ErrorCode.BAD_FIELD, `missing ${idName}`);
          continue;
        }
        const eventTime = Number.isFinite(env.time);
        const time = eventTime ? env.time : ctx.scheduler.now();
        forgetBefore(eventTime ? env.wm : time);
        const key = canonicalKey(id);
        const times = accepted.get(key);
        if (times !== undefined && times.some((t) => Math.abs(time - t) <= ttl)) {
          ctx.counters.inc('duplicates');
          continue;
        }
        if (times === undefined) accepted.set(key, [time]);
        else times.push(time);
        expiries.push([time + ttl, key, time]);
        events[n++] = env;
      }
      events.length = n;
      return events;
    };
    const snapshot = (): DedupeState => ({ accepted: [...accepted].map(([id, times]) => [id, [...times]]) });
    return { transform, snapshot };
  });
}

/** Checkpointed state: the accepted times of every remembered id. */
interface DedupeState {
  readonly accepted: readonly (readonly [string, readonly number[]])[];
}
