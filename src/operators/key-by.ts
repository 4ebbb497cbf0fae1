import { batchOperator, guarded, readsOnly, REJECTED, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { compilePath, isValidPath } from '../core/paths.js';
import { canonicalKey } from '../core/keys.js';

/**
 * Sets each event's key, from one or more fields (dotted paths) or from a function. Results show
 * field keys as `{ field: value, … }`. An event without a key field (missing or null) goes to
 * the dead-letter output naming the field.
 *
 * @example s.keyBy(['vehicle.id', 'region'])
 * @example s.keyBy((click) => click.sessionId)
 * @see window
 */
export function keyBy<T>(by: string | readonly string[] | ((value: T, env: Envelope<T>) => unknown)): Operator<T, T> {
  if (typeof by === 'function') return keyByFunction(by);
  const fields = typeof by === 'string' ? [by] : [...by];
  if (fields.length === 0) throw new UserError(ErrorCode.BAD_DEFINITION, 'keyBy needs at least one field');
  for (const field of fields) {
    if (!isValidPath(field)) throw new UserError(ErrorCode.BAD_DEFINITION, `keyBy: '${field}' is not a field path`);
  }
  return readsOnly(keyByFields<T>(fields), fields);
}

function keyByFields<T>(fields: readonly string[]): Operator<T, T> {
  const getters = fields.map(compilePath);
  if (fields.length === 1) {
    const [field] = fields as [string];
    const get = getters[0] as (v: unknown) => unknown;
    return batchOperator((ctx) => (events) => {
      let n = 0;
      for (let i = 0; i < events.length; i++) {
        const env = events[i] as Envelope<T>;
        const value = get(env.value);
        if (value === undefined || value === null) {
          ctx.deadLetter(env, 'key-by', ErrorCode.MISSING_KEY, `missing key field '${field}'`);
          continue;
        }
        env.key = canonicalKey(value);
        env.keyValue = { [field]: value };
        events[n++] = env;
      }
      events.length = n;
      return events;
    });
  }
  return batchOperator((ctx) => (events) => {
    let n = 0;
    outer: for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<T>;
      const values: unknown[] = [];
      const keyValue: Record<string, unknown> = {};
      for (let f = 0; f < fields.length; f++) {
        const value = (getters[f] as (v: unknown) => unknown)(env.value);
        if (value === undefined || value === null) {
          ctx.deadLetter(env, 'key-by', ErrorCode.MISSING_KEY, `missing key field '${fields[f] as string}'`);
          continue outer;
        }
        values.push(value);
        const name = fields[f] as string;
        // plain assignment to "__proto__" would set the prototype, not a field
        if (name === '__proto__') Object.defineProperty(keyValue, name, { value, enumerable: true, writable: true, configurable: true });
        else keyValue[name] = value;
      }
      env.key = canonicalKey(values);
      env.keyValue = keyValue;
      events[n++] = env;
    }
    events.length = n;
    return events;
  });
}

function keyByFunction<T>(fn: (value: T, env: Envelope<T>) => unknown): Operator<T, T> {
  return batchOperator((ctx) => (events) => {
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<T>;
      const key = guarded(ctx, env, 'key-by', ErrorCode.OPERATOR_FAILED, () => fn(env.value, env));
      if (key === REJECTED) continue;
      if (key === undefined || key === null) {
        ctx.deadLetter(env, 'key-by', ErrorCode.MISSING_KEY, 'key function returned no key');
        continue;
      }
      env.key = canonicalKey(key);
      env.keyValue = key;
      events[n++] = env;
    }
    events.length = n;
    return events;
  });
}
