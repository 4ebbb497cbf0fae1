import { batchOperator, guarded, REJECTED, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode } from '../core/errors.js';

/**
 * Transforms each event's value. If `fn` throws for an event, that event goes to the dead-letter
 * output with the message; the others go on.
 *
 * @example s.map((click) => ({ ...click, path: new URL(click.url).pathname }))
 * @see filter
 * @see flatMap
 */
export function map<I, O>(fn: (value: I, env: Envelope<I>) => O): Operator<I, O> {
  return batchOperator((ctx) => (events) => {
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<I>;
      const value = guarded(ctx, env, 'map', ErrorCode.OPERATOR_FAILED, () => fn(env.value, env));
      if (value === REJECTED) continue;
      (env as unknown as Envelope<O>).value = value;
      events[n++] = env;
    }
    events.length = n;
    return events as unknown as Envelope<O>[];
  });
}
