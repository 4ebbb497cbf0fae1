import { batchOperator, guarded, REJECTED, type Operator } from '../core/operator.js';
import { withValue, type Envelope } from '../core/envelope.js';
import { ErrorCode } from '../core/errors.js';

/**
 * Turns each event into zero or more events, which keep the source event's time, key, position
 * and watermark. A throwing `fn` dead-letters that event.
 *
 * @example s.flatMap((order) => order.items)
 * @see map
 */
export function flatMap<I, O>(fn: (value: I, env: Envelope<I>) => Iterable<O>): Operator<I, O> {
  return batchOperator((ctx) => (events) => {
    const out: Envelope<O>[] = [];
    for (const env of events) {
      const values = guarded(ctx, env, 'flat-map', ErrorCode.OPERATOR_FAILED, () => [...fn(env.value, env)]);
      if (values === REJECTED) continue;
      for (const value of values) out.push(withValue(env, value));
    }
    return out;
  });
}
