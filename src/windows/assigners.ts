import { ErrorCode, UserError } from '../core/errors.js';
import { formatDuration, toMillis } from '../core/duration.js';

/**
 * Assigns event times to windows `[start, end)`, following Flink's assigners: tumbling and
 * sliding windows align to the epoch (plus an optional offset); session windows start at the
 * event and last `gap`, and merge with every session they touch.
 */
export type WindowAssigner = TumblingWindows | SlidingWindows | SessionWindows;

export interface TumblingWindows {
  readonly kind: 'tumbling';
  readonly size: number;
  readonly offset: number;
}

export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
}

export interface SessionWindows {
  readonly kind: 'session';
  readonly gap: number;
}

/**
 * Fixed, non-overlapping windows of `size`, aligned to the epoch plus `offset`.
 *
 * @example tumbling('1m') // [12:00, 12:01), [12:01, 12:02), …
 * @see sliding
 * @see session
 */
export function tumbling(size: string | number, options: { offset?: string | number } = {}): TumblingWindows {
  const ms = positive(size, 'tumbling window size');
  const offset = options.offset === undefined ? 0 : signedOffset(options.offset, ms, 'tumbling window');
  return { kind: 'tumbling', size: ms, offset };
}

/**
 * Overlapping windows `[k·slide + offset, k·slide + offset + size)`; each event is in
 * `size / slide` of them.
 *
 * @example sliding('5m', '1m')
 * @see tumbling
 */
export function sliding(size: string | number, slide: string | number, options: { offset?: string | number } = {}): SlidingWindows {
  const sizeMs = positive(size, 'sliding window size');
  const slideMs = positive(slide, 'sliding window slide');
  if (slideMs > sizeMs) {
    throw new UserError(
      ErrorCode.BAD_DEFINITION,
      `sliding window slide ${formatDuration(slideMs)} is longer than its size ${formatDuration(sizeMs)}: events between windows would be lost; use a slide no longer than the size`,
    );
  }
  const offset = options.offset === undefined ? 0 : signedOffset(options.offset, slideMs, 'sliding window');
  return { kind: 'sliding', size: sizeMs, slide: slideMs, offset };
}

/**
 * Per-key sessions: an event at `t` opens `[t, t + gap)`, and sessions that overlap or touch
 * merge (as in Flink, an event exactly `gap` after the previous one joins its session).
 *
 * @example session('30m')
 * @see tumbling
 */
export function session(gap: string | number): SessionWindows {
  return { kind: 'session', gap: positive(gap, 'session gap') };
}

/** Parses the CLI form: `tumbling:60s`, `sliding:5m/1m`, `session:30m`. */
export function parseWindowSpec(text: string): WindowAssigner {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  const usage = 'use tumbling:SIZE, sliding:SIZE/SLIDE or session:GAP (for example tumbling:60s)';
  if (arg === '') throw new UserError(ErrorCode.BAD_OPTION, `--window '${text}' has no duration; ${usage}`);
  switch (kind) {
    case 'tumbling':
      return tumbling(arg);
    case 'sliding': {
      const parts = arg.split('/');
      if (parts.length !== 2) throw new UserError(ErrorCode.BAD_OPTION, `--window '${text}' needs SIZE/SLIDE; ${usage}`);
      return sliding(parts[0] as string, parts[1] as string);
    }
    case 'session':
      return session(arg);
    default:
      throw new UserError(ErrorCode.BAD_OPTION, `--window: unknown window type '${kind}'; ${usage}`);
  }
}

/** Floor modulo: the result has the sign of `n`, so negative timestamps align correctly. */
function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/** Start of the window of `size` containing `t` (Flink's `getWindowStartWithOffset`, fixed for t < 0). */
export function windowStart(t: number, size: number, offset: number): number {
  return t - mod(t - offset, size);
}


function positive(value: string | number, what: string): number {
  const ms = toMillis(value, what);
  if (ms <= 0) throw new UserError(ErrorCode.BAD_DEFINITION, `${what} must be greater than zero`);
  return ms;
}

function signedOffset(value: string | number, period: number, what: string): number {
  const ms =
    typeof value === 'number' ? value : value.startsWith('-') ? -toMillis(value.slice(1), `${what} offset`) : toMillis(value, `${what} offset`);
  if (!Number.isInteger(ms)) throw new UserError(ErrorCode.BAD_DEFINITION, `${what} offset must be whole milliseconds`);
  if (Math.abs(ms) >= period) throw new UserError(ErrorCode.BAD_DEFINITION, `${what} offset must be shorter than the window period`);
  return ms;
}
