/**
 * Reads only some top-level fields of a JSON record, straight from its bytes: the projection
 * `parseJson` uses when nothing after it reads more than a few fields of each event (see
 * `projectParse` in src/pipeline.ts). Building the whole object — every string, every number —
 * and the text it is parsed from is most of what parsing costs; a pipeline that windows by
 * `page` over `ts` needs two fields of it.
 *
 * The scanner checks the whole record against the JSON grammar (RFC 8259) as it goes, so a
 * record it accepts is one `JSON.parse` accepts too, and the fields it returns are the values
 * `JSON.parse` would give them (the last one of a repeated key). Whatever it does not handle
 * itself — anything that is not an ASCII object, a key with escapes, nesting deeper than
 * {@link MAX_DEPTH}, and every invalid record — it hands back as `undefined`, and the caller
 * parses that record in full, which also gives invalid records their usual error message.
 *
 * @module
 */

/** Nesting the scanner follows inside skipped values; deeper records are parsed in full. */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
/** Integers of up to this many digits are exact in a double and summed digit by digit. */
const EXACT_DIGITS = 15;

/** Byte classes, one table each (a lookup per byte is the scanner's inner loop). */
const table = (bytes: Iterable<number>): Uint8Array => {
  const t = new Uint8Array(256);
  for (const c of bytes) t[c] = 1;
  return t;
};
const codes = (chars: string): number[] => [...chars].map((c) => c.charCodeAt(0));
/** Bytes that stand for themselves inside a string: printable ASCII but `"` and `\`. */
const PLAIN = table(Array.from({ length: 0x60 }, (_, k) => k + 0x20).filter((c) => c !== QUOTE && c !== BACKSLASH));
const SPACE = table(codes(' \t\n\r'));
const DIGIT = table(codes('0123456789'));
const HEX = table(codes('0123456789abcdefABCDEF'));
/** The one-character escapes after a backslash (`\uXXXX` is checked apart). */
const ESCAPE = table(codes('"\\/bfnrt'));

/** Extracts the wanted fields of one record, or `undefined`: parse that record in full. */
export type FieldProjector = (bytes: Buffer) => Record<string, unknown> | undefined;

/**
 * Compiles a projector for the top-level fields that `paths` (dotted field paths) start with:
 * `['ts', 'device.id']` reads `ts` and the whole of `device`. Returns undefined when a field name
 * is not printable ASCII without quotes or backslashes, or is `__proto__`: those are not projected.
 *
 * @example compileProjection(['ts', 'page'])?.(Buffer.from('{"ts":1,"page":"/a","x":[2]}')) // { ts: 1, page: '/a' }
 */
export function compileProjection(paths: readonly string[]): FieldProjector | undefined {
  const names = topLevelFields(paths);
  if (names.some((name) => name === '__proto__' || ![...name].every((c) => PLAIN[c.charCodeAt(0)] === 1))) return undefined;
  const keys = names.map((name) => Buffer.from(name, 'latin1'));
  return (bytes) => project(bytes, names, keys);
}

/** The top-level fields dotted `paths` start with, each once: `['a.b', 'a', 'c']` → `['a', 'c']`. */
export function topLevelFields(paths: readonly string[]): string[] {
  return [...new Set(paths.map((path) => path.split('.')[0] as string))];
}

/** The fields a scan of the top-level object decodes, and where it puts them. */
interface Wanted {
  readonly names: readonly string[];
  readonly keys: readonly Buffer[];
  readonly out: Record<string, unknown>;
}

/** Whether the last string {@link string} scanned had a backslash escape. */
let escaped = false;

function project(b: Buffer, names: readonly string[], keys: readonly Buffer[]): Record<string, unknown> | undefined {
  const end = b.length;
  const start = space(b, 0, end);
  if (start >= end || b[start] !== OPEN_BRACE) return undefined;
  const out: Record<string, unknown> = {};
  const i = container(b, start, end, OPEN_BRACE, 1, { names, keys, out });
  return i >= 0 && space(b, i, end) === end ? out : undefined;
}

function space(b: Buffer, i: number, end: number): number {
  while (i < end && SPACE[b[i] as number] === 1) i++;
  return i;
}

/** One value of any kind at `i`, at nesting `depth`: the index after it, or -1. */
function value(b: Buffer, i: number, end: number, depth: number): number {
  if (i >= end) return -1;
  const c = b[i] as number;
  if (c === QUOTE) return string(b, i, end);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return depth < MAX_DEPTH ? container(b, i, end, c, depth + 1) : -1;
  if (c === MINUS || DIGIT[c] === 1) return number(b, i, end);
  if (c === LOWER_T) return literal(b, i, end, 'true');
  if (c === LOWER_F) return literal(b, i, end, 'false');
  if (c === LOWER_N) return literal(b, i, end, 'null');
  return -1;
}

/** A string at `i` (its opening quote): printable ASCII and valid escapes only. */
function string(b: Buffer, i: number, end: number): number {
  i++;
  escaped = false;
  for (;;) {
    while (i < end && PLAIN[b[i] as number] === 1) i++;
    if (i >= end) return -1;
    const c = b[i];
    if (c === QUOTE) return i + 1;
    // a control character or a byte outside ASCII
    if (c !== BACKSLASH || i + 1 >= end) return -1;
    escaped = true;
    const e = b[i + 1] as number;
    if (e === LOWER_U) {
      if (i + 5 >= end || HEX[b[i + 2] as number] !== 1 || HEX[b[i + 3] as number] !== 1 || HEX[b[i + 4] as number] !== 1 || HEX[b[i + 5] as number] !== 1) return -1;
      i += 6;
    } else if (ESCAPE[e] === 1) {
      i += 2;
    } else {
      return -1;
    }
  }
}

/**
 * An object or array at `i`, holding values at most `MAX_DEPTH` deep. With `wanted` (the
 * top-level object), the members it names are decoded into `wanted.out`; a key with escapes is
 * then handed back (-1), since it is not compared byte for byte.
 */
function container(b: Buffer, i: number, end: number, open: number, depth: number, wanted?: Wanted): number {
  const close = open === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
  i = space(b, i + 1, end);
  if (i < end && b[i] === close) return i + 1;
  for (;;) {
    let member = -1;
    if (open === OPEN_BRACE) {
      if (i >= end || b[i] !== QUOTE) return -1;
      const keyStart = i + 1;
      i = string(b, i, end);
      if (i < 0) return -1;
      if (wanted !== undefined) {
        if (escaped) return -1;
        member = match(b, keyStart, i - 1, wanted.keys);
      }
      i = space(b, i, end);
      if (i >= end || b[i] !== COLON) return -1;
      i = space(b, i + 1, end);
    }
    const valueStart = i;
    i = value(b, i, end, depth);
    if (i < 0) return -1;
    if (member >= 0) (wanted as Wanted).out[(wanted as Wanted).names[member] as string] = decode(b, valueStart, i);
    i = space(b, i, end);
    if (i >= end) return -1;
    const next = b[i];
    if (next === close) return i + 1;
    if (next !== COMMA) return -1;
    i = space(b, i + 1, end);
  }
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `i`. */
function number(b: Buffer, i: number, end: number): number {
  if (i < end && b[i] === MINUS) i++;
  if (i < end && b[i] === ZERO) {
    i++;
  } else {
    const start = i;
    while (i < end && DIGIT[b[i] as number] === 1) i++;
    if (i === start) return -1;
  }
  if (i < end && b[i] === DOT) {
    const start = ++i;
    while (i < end && DIGIT[b[i] as number] === 1) i++;
    if (i === start) return -1;
  }
  if (i < end && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    const start = i;
    while (i < end && DIGIT[b[i] as number] === 1) i++;
    if (i === start) return -1;
  }
  return i;
}

function literal(b: Buffer, i: number, end: number, word: string): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** Which of `keys` the key bytes `[start, end)` are, or -1. */
function match(b: Buffer, start: number, end: number, keys: readonly Buffer[]): number {
  const length = end - start;
  outer: for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as Buffer;
    if (key.length !== length) continue;
    for (let j = 0; j < length; j++) if (key[j] !== b[start + j]) continue outer;
    return k;
  }
  return -1;
}

/** The value of the (already checked) bytes `[start, end)`, as JSON.parse gives it. */
function decode(b: Buffer, start: number, end: number): unknown {
  const first = b[start] as number;
  if (first === QUOTE) {
    for (let j = start + 1; j < end - 1; j++) if (b[j] === BACKSLASH) return JSON.parse(b.toString('latin1', start, end)) as unknown;
    return b.toString('latin1', start + 1, end - 1);
  }
  if (first === LOWER_T) return true;
  if (first === LOWER_F) return false;
  if (first === LOWER_N) return null;
  if (first === MINUS || DIGIT[first] === 1) {
    const negative = first === MINUS;
    const digits = negative ? start + 1 : start;
    if (end - digits <= EXACT_DIGITS) {
      let n = 0;
      let j = digits;
      for (; j < end; j++) {
        const c = b[j] as number;
        if (DIGIT[c] !== 1) break;
        n = n * 10 + (c - ZERO);
      }
      // an integer (JSON's -0 included)
      if (j === end) return negative ? -n : n;
    }
    return Number(b.toString('latin1', start, end));
  }
  return JSON.parse(b.toString('latin1', start, end)) as unknown;
}
