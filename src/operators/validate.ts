import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { batchOperator, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';

/** Options for {@link validate}. */
export interface ValidateOptions {
  /** Extra ajv options; `allErrors` stays off on the hot path. */
  readonly ajv?: AjvOptions;
}

/** One line describing why a record failed its schema, e.g. `/price must be number`. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match the schema';
  return errors
    .map((e) => {
      const where = e.instancePath === '' ? 'record' : e.instancePath;
      if (e.keyword === 'required') return `${where} is missing required field '${String(e.params['missingProperty'])}'`;
      if (e.keyword === 'additionalProperties') return `${where} has unexpected field '${String(e.params['additionalProperty'])}'`;
      return `${where} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/**
 * Compiles a JSON Schema once and checks every event against it; failures go to the dead-letter
 * output with the schema's complaint. The compiled validator runs on the hot path.
 *
 * @example s.parseJson().validate<Click>({ type: 'object', required: ['page'] })
 * @see parseJson
 */
export function validate<T>(schema: object, options: ValidateOptions = {}): Operator<unknown, T> {
  let check: ValidateFunction;
  try {
    check = new Ajv({ allErrors: false, strict: false, ...options.ajv }).compile(schema);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `invalid JSON schema: ${messageOf(err)}`, { cause: err });
  }
  return batchOperator((ctx) => (events) => {
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope;
      if (check(env.value)) {
        events[n++] = env;
      } else {
        ctx.deadLetter(env, 'validate', ErrorCode.VALIDATION_FAILED, describeErrors(check.errors));
      }
    }
    events.length = n;
    return events as Envelope<T>[];
  });
}
