import { isAscii } from 'node:buffer';
import { batchOperator, type Operator } from '../core/operator.js';
import type { Envelope, Raw } from '../core/envelope.js';
import { ErrorCode, messageOf } from '../core/errors.js';
import { compileProjection, topLevelFields, type FieldProjector } from './json-fields.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Record bytes as text. ASCII (most JSON) decodes as Latin-1, which is several times faster
 * than UTF-8 decoding and gives one-byte strings that JSON.parse reads faster too; anything else
 * goes through the strict UTF-8 decoder, which rejects invalid bytes.
 */
function text(raw: Uint8Array): string {
  if (raw instanceof Buffer && isAscii(raw)) return raw.toString('latin1');
  return utf8.decode(raw);
}

/**
 * Parses each raw record as JSON. A record that is not valid JSON, or not UTF-8, goes to the
 * dead-letter output with the parser's reason and its original bytes.
 *
 * @example definePipeline('clicks', (s) => s.parseJson<Click>())
 * @see validate to check the parsed shape.
 */
export function parseJson<T = unknown>(): Operator<Raw, T> {
  return parser<T>(undefined, 'whole');
}

/**
 * {@link parseJson} that builds only the top-level fields `paths` start with, for pipelines where
 * nothing after it reads more (`definePipeline` puts it in their place by itself). Records are
 * still checked whole: what is not valid JSON is dead-lettered exactly as {@link parseJson} does.
 * Returns undefined when the paths cannot be projected.
 *
 * @example parseJsonFields(['ts', 'page'])
 * @see compileProjection
 */
export function parseJsonFields<T = unknown>(paths: readonly string[]): Operator<Raw, T> | undefined {
  const project = compileProjection(paths);
  return project === undefined ? undefined : parser<T>(project, topLevelFields(paths));
}

const PARSE_JSON: unique symbol = Symbol('sluice.parseJson');

/**
 * What a JSON-parsing operator builds: `'whole'` values ({@link parseJson}), or only these
 * top-level fields ({@link parseJsonFields}); undefined for any other operator.
 */
export function parseJsonBuilds(operator: unknown): 'whole' | readonly string[] | undefined {
  return typeof operator === 'function' ? (operator as { [PARSE_JSON]?: 'whole' | readonly string[] })[PARSE_JSON] : undefined;
}

function parser<T>(project: FieldProjector | undefined, builds: 'whole' | readonly string[]): Operator<Raw, T> {
  const operator = batchOperator<Raw, T>((ctx) => (events) => {
    const out = events as unknown as Envelope<T>[];
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<Raw>;
      const raw = env.value;
      // the projection hands back (undefined) what it does not take: that is parsed in full
      let value: unknown = project !== undefined && typeof raw !== 'string' ? project(raw instanceof Buffer ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) : undefined;
      if (value === undefined) {
        try {
          value = JSON.parse(typeof raw === 'string' ? raw : text(raw));
        } catch (err) {
          ctx.deadLetter(env, 'parse-json', ErrorCode.PARSE_ERROR, `not valid JSON: ${messageOf(err)}`);
          continue;
        }
      }
      (env as Envelope<unknown>).value = value;
      out[n++] = env as unknown as Envelope<T>;
    }
    out.length = n;
    return out;
  });
  return Object.assign(operator, { [PARSE_JSON]: builds });
}
