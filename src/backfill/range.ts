/**
 * The time range of a backfill: `--start`/`--end` as epoch ms or ISO-8601, `[start, end)`.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import type { BackfillRange } from './diff.js';

/**
 * Parses a time flag: epoch milliseconds or an ISO-8601 date/time (UTC unless it says otherwise).
 *
 * @example parseTime('2026-01-01T10:00:00Z', '--start') // 1767261600000
 */
export function parseTime(text: string, flag: string): number {
  const time = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || !text.includes('T') ? text : `${text}Z`) : Number.NaN;
  if (!Number.isFinite(time)) throw new UserError(ErrorCode.BAD_OPTION, `${flag} '${text}' is not a time; write epoch milliseconds or ISO-8601 such as 2026-01-01T10:00:00Z`);
  return time;
}

/** `--start`/`--end` as a range; the end must come after the start. */
export function parseRange(start: string | undefined, end: string | undefined): BackfillRange {
  const range = { start: start === undefined ? null : parseTime(start, '--start'), end: end === undefined ? null : parseTime(end, '--end') };
  if (range.start !== null && range.end !== null && range.end <= range.start) {
    throw new UserError(ErrorCode.BAD_OPTION, `--end ${new Date(range.end).toISOString()} is not after --start ${new Date(range.start).toISOString()}`);
  }
  return range;
}

/** `[2026-01-01T10:00:00.000Z, 2026-01-01T12:00:00.000Z)`; open ends as `…`. */
export function describeRange(range: BackfillRange): string {
  const at = (t: number | null): string => (t === null ? '…' : new Date(t).toISOString());
  return `[${at(range.start)}, ${at(range.end)})`;
}
