import { batchOperator, guarded, REJECTED, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode } from '../core/errors.js';

/**
 * Keeps the events for which `predicate` is true. Events it rejects are the user's choice, not a
 * loss, so they are not counted as drops; an event whose predicate throws is dead-lettered.
 *
 * @example s.filter((click) => click.kind === 'purchase')
 * @see map
 */
export function filter<T>(predicate: (value: T, env: Envelope<T>) => boolean): Operator<T, T> {
  return batchOperator((ctx) => (events) => {
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<T>;
      const keep = guarded(ctx, env, 'filter', ErrorCode.OPERATOR_FAILED, () => predicate(env.value, env));
      if (keep === true) events[n++] = env;
      else if (keep !== REJECTED && keep !== false) {
        ctx.deadLetter(env, 'filter', ErrorCode.OPERATOR_FAILED, `filter must return a boolean, got ${typeof keep}`);
      }
    }
    events.length = n;
    return events;
  });
}
