import { Observable } from 'rxjs';
import { readsOnly, type Operator } from '../core/operator.js';
import { batch, watermark, type Element } from '../core/elements.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import { compilePath, isValidPath } from '../core/paths.js';
import { toMillis } from '../core/duration.js';
import { toEpochMillis } from './event-time.js';

/** How event time and watermarks are derived; see {@link withWatermarks}. */
export interface WatermarkOptions<T> {
  /** Field path holding epoch ms or ISO-8601, or a function returning either (or a Date). */
  readonly time: string | ((value: T) => unknown);
  /** How far out of order events may arrive (default 0). */
  readonly maxOutOfOrderness?: string | number;
  /**
   * After this long (wall clock) without input a partition counts as idle: it stops holding back
   * results combined across partitions, and follows their watermark. Default: never idle.
   */
  readonly idleTimeout?: string | number;
  /**
   * When an event has no time: `arrival` takes the time the source received it (a Kinesis
   * record's ApproximateArrivalTimestamp, a Kafka record's timestamp) instead of dead-lettering it
   * as MISSING_TIME. Events without either are still dead-lettered.
   */
  readonly fallback?: 'arrival';
}

/** Normalised watermark settings. */
export interface WatermarkSpec {
  readonly maxOutOfOrderness: number;
  readonly idleTimeout: number | undefined;
}

export function watermarkSpec<T>(options: WatermarkOptions<T>): WatermarkSpec {
  const maxOutOfOrderness = toMillis(options.maxOutOfOrderness ?? 0, 'max out-of-orderness');
  const idle = options.idleTimeout === undefined ? undefined : toMillis(options.idleTimeout, 'idle timeout');
  if (idle !== undefined && idle <= 0) throw new UserError(ErrorCode.BAD_DEFINITION, 'idle timeout must be greater than zero');
  return { maxOutOfOrderness, idleTimeout: idle };
}

/**
 * Assigns event time to each event and generates watermarks with bounded out-of-orderness,
 * exactly as Flink's `BoundedOutOfOrdernessWatermarks`: watermark = max event time seen −
 * maxOutOfOrderness − 1 ms. It advances per event, never per batch: each event is stamped with
 * the watermark in effect just before it, and a `Watermark` element follows every batch that
 * advanced it. Events with no time, or a time that is not epoch ms or ISO-8601, are dead-lettered.
 *
 * @example s.parseJson().withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' })
 * @see window
 */
export function withWatermarks<T>(options: WatermarkOptions<T>): Operator<T, T> {
  const { maxOutOfOrderness } = watermarkSpec(options);
  const field = typeof options.time === 'string' ? options.time : undefined;
  if (field !== undefined && !isValidPath(field)) throw new UserError(ErrorCode.BAD_DEFINITION, `time: '${field}' is not a field path`);
  const read = typeof options.time === 'string' ? compilePath(options.time) : options.time;
  const describe = field === undefined ? 'time function result' : `time field '${field}'`;
  if (options.fallback !== undefined && options.fallback !== 'arrival') throw new UserError(ErrorCode.BAD_DEFINITION, `time fallback '${String(options.fallback)}': the only fallback is 'arrival'`);
  const arrival = options.fallback === 'arrival';

  const operator: Operator<T, T> = (ctx) => (source) =>
    new Observable<Element<T>>((subscriber) => {
      const restored = ctx.state.restored() as WatermarkState | undefined;
      let maxSeen = restored?.maxSeen ?? Number.NEGATIVE_INFINITY;
      let current = restored?.current ?? Number.NEGATIVE_INFINITY;
      let emitted = restored?.emitted ?? Number.NEGATIVE_INFINITY;
      return source.subscribe({
        next(element) {
          if (element.kind !== 'batch') {
            if (element.kind === 'barrier') ctx.state.save(element.checkpointId, { maxSeen, current, emitted } satisfies WatermarkState);
            subscriber.next(element);
            return;
          }
          const events = element.events;
          let n = 0;
          for (let i = 0; i < events.length; i++) {
            const env = events[i] as Envelope<T>;
            let raw: unknown;
            try {
              raw = (read as (v: T) => unknown)(env.value);
            } catch (err) {
              ctx.deadLetter(env, 'watermarks', ErrorCode.OPERATOR_FAILED, `time function failed: ${messageOf(err)}`);
              continue;
            }
            if ((raw === undefined || raw === null) && arrival) raw = env.meta?.timestamp;
            if (raw === undefined || raw === null) {
              ctx.deadLetter(env, 'watermarks', ErrorCode.MISSING_TIME, `missing ${describe}${arrival ? ' and no arrival time' : ''}`);
              continue;
            }
            const time = toEpochMillis(raw);
            if (Number.isNaN(time)) {
              ctx.deadLetter(env, 'watermarks', ErrorCode.BAD_TIME, `${describe} is not epoch milliseconds or an ISO-8601 time: ${preview(raw)}`);
              continue;
            }
            env.time = time;
            env.wm = current;
            if (time > maxSeen) {
              maxSeen = time;
              current = maxSeen - maxOutOfOrderness - 1;
            }
            events[n++] = env;
          }
          events.length = n;
          subscriber.next(batch(events));
          if (current > emitted) {
            emitted = current;
            subscriber.next(watermark(current));
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
  return field === undefined ? operator : readsOnly(operator, [field]);
}

/** Checkpointed state of the watermark generator. */
interface WatermarkState {
  readonly maxSeen: number;
  readonly current: number;
  readonly emitted: number;
}

function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (typeof value === 'bigint') text = `${value}n`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
