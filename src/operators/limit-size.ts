import { batchOperator, type Operator } from '../core/operator.js';
import type { Envelope, Raw } from '../core/envelope.js';
import { ErrorCode, UserError } from '../core/errors.js';

/**
 * Dead-letters raw records larger than `maxBytes` before anything parses them, so one huge
 * record cannot stall or exhaust a partition's pipeline; the others go on.
 *
 * @example s.pipe(limitSize(1 << 20)).parseJson()
 * @see parseJson
 */
export function limitSize(maxBytes: number): Operator<Raw, Raw> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new UserError(ErrorCode.BAD_DEFINITION, `max record size must be a positive number of bytes, got ${maxBytes}`);
  return batchOperator((ctx) => (events) => {
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<Raw>;
      const raw = env.value;
      // a string's UTF-16 length bounds its UTF-8 size from below: only long ones are measured
      const size = typeof raw === 'string' ? (raw.length > maxBytes / 3 ? Buffer.byteLength(raw) : raw.length) : raw.byteLength;
      if (size > maxBytes) {
        ctx.deadLetter(env, 'limit-size', ErrorCode.RECORD_TOO_LARGE, `record is ${size} bytes, over the ${maxBytes}-byte limit (--max-record-size)`);
        continue;
      }
      events[n++] = env;
    }
    events.length = n;
    return events;
  });
}
