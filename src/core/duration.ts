import { ErrorCode, UserError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses a duration such as `500ms`, `60s`, `5m`, `1h30m` or `1d` into milliseconds.
 *
 * @example parseDuration('1m30s') // 90000
 * @throws UserError naming the input when it is not a duration.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const input = text.trim();
  if (input === '0') return 0;
  if (/^\d+(\.\d+)?$/.test(input)) {
    throw new UserError(ErrorCode.BAD_DURATION, `${what} '${text}' needs a unit: ms, s, m, h or d (for example 30s)`);
  }
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < input.length) {
    const m = PART.exec(input);
    if (!m) break;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = PART.lastIndex;
  }
  if (input.length === 0 || matched !== input.length) {
    throw new UserError(ErrorCode.BAD_DURATION, `${what} '${text}' is not a duration; use a number with a unit: ms, s, m, h or d (for example 30s, 5m, 1h30m)`);
  }
  if (!Number.isSafeInteger(Math.round(total))) {
    throw new UserError(ErrorCode.BAD_DURATION, `${what} '${text}' is too large`);
  }
  return Math.round(total);
}

/** Accepts a duration as milliseconds or as text; see {@link parseDuration}. */
export function toMillis(value: number | string, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new UserError(ErrorCode.BAD_DURATION, `${what} must be a non-negative number of milliseconds, got ${value}`);
    }
    return value;
  }
  return parseDuration(value, what);
}

/** Formats milliseconds the way durations are written on the command line. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
