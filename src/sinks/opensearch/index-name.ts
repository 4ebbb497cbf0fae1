/**
 * Index names, fixed (`results`) or dated (`results-%Y.%m.%d`): the date comes from the result's
 * `windowStart` in UTC, so a window's result always lands in the same index however late it
 * fires, and a replay rewrites the same documents.
 */

/**
 * The longest index name OpenSearch accepts, in bytes.
 * https://docs.opensearch.org/latest/api-reference/index-apis/create-index/ (index naming restrictions)
 */
export const MAX_INDEX_NAME_BYTES = 255;

/** The tokens a dated index name may use, all in UTC. */
export const INDEX_NAME_TOKENS: Readonly<Record<string, (date: Date) => string>> = {
  Y: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  m: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  d: (d) => String(d.getUTCDate()).padStart(2, '0'),
  H: (d) => String(d.getUTCHours()).padStart(2, '0'),
};

/** Characters OpenSearch never allows in an index name (besides upper case). */
const FORBIDDEN = /[\s\\/*?"<>|,#:]/;

/**
 * An index name or a dated pattern, compiled.
 *
 * @see compileIndexName
 */
export interface IndexName {
  /** As written, e.g. `results-%Y.%m.%d`. */
  readonly pattern: string;
  /** True when the name depends on the result's time. */
  readonly dated: boolean;
  /** The index for a result whose `windowStart` is `epochMs` (ignored for a fixed name). */
  at(epochMs: number): string;
}

/**
 * Compiles `pattern`: `%Y` (year), `%m` (month), `%d` (day) and `%H` (hour), all UTC, and checks
 * that the names it makes are valid index names (OpenSearch allows no other `%`). Throws an
 * `Error` saying what is wrong; callers wrap it in their UserError.
 *
 * @example compileIndexName('results-%Y.%m.%d').at(Date.UTC(2026, 0, 2)) // 'results-2026.01.02'
 * @see parseOpenSearchUrl
 */
export function compileIndexName(pattern: string): IndexName {
  const parts: (string | ((date: Date) => string))[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c !== '%') {
      literal += c;
      continue;
    }
    const token = pattern[i + 1];
    i++;
    const format = token === undefined ? undefined : INDEX_NAME_TOKENS[token];
    if (format === undefined) {
      throw new Error(`'%${token ?? ''}' in index '${pattern}' is not a date token; use ${Object.keys(INDEX_NAME_TOKENS).map((t) => `%${t}`).join(', ')} (UTC, from the result's windowStart)`);
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(format);
  }
  if (literal !== '') parts.push(literal);
  const dated = parts.some((p) => typeof p !== 'string');
  const at = (epochMs: number): string => {
    const date = new Date(epochMs);
    return parts.map((p) => (typeof p === 'string' ? p : p(date))).join('');
  };
  // a sample shows what the pattern makes; the year 2000 is as long as any year we will see
  const problem = indexNameProblem(at(Date.UTC(2000, 0, 1)));
  if (problem !== undefined) throw new Error(`index '${pattern}' ${problem}`);
  return { pattern, dated, at };
}

/**
 * Why OpenSearch would refuse `name` as an index name, or undefined when it would not.
 *
 * @example indexNameProblem('Results') // 'has upper-case letters, which OpenSearch does not allow in index names'
 */
export function indexNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty: write opensearch://HOST:PORT/INDEX';
  if (name !== name.toLowerCase()) return 'has upper-case letters, which OpenSearch does not allow in index names';
  if (/^[-_+]/.test(name)) return "starts with '-', '_' or '+', which OpenSearch does not allow";
  if (name === '.' || name === '..') return 'is not an index name';
  const bad = FORBIDDEN.exec(name);
  if (bad !== null) return `contains '${bad[0] === ' ' ? 'a space' : bad[0]}', which OpenSearch does not allow in index names`;
  if (Buffer.byteLength(name) > MAX_INDEX_NAME_BYTES) return `is longer than ${MAX_INDEX_NAME_BYTES} bytes`;
  return undefined;
}
