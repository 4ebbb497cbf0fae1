/** ISO-8601 date or date-time; a date-time without a zone is read as UTC. */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const DIGITS = /^-?\d{1,16}$/;

/**
 * Reads an event time as epoch milliseconds from a number (epoch ms, fractions floored), a string
 * of digits (epoch ms), or an ISO-8601 string. Returns `NaN` for anything else.
 *
 * Zone-less date-times are UTC, not the machine's local time, so results never depend on where
 * Sluice runs.
 */
export function toEpochMillis(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value) : Number.NaN;
  if (typeof value === 'string') {
    if (DIGITS.test(value)) return Number(value);
    const m = ISO.exec(value);
    if (!m) return Number.NaN;
    const text = value.length > 10 && m[1] === undefined ? value.replace(' ', 'T') + 'Z' : value.replace(' ', 'T');
    const ms = Date.parse(text);
    // Date.parse rolls 2025-02-30 over into March; a day that does not exist is not a time
    return Number.isNaN(ms) || !isRealDate(value) ? Number.NaN : ms;
  }
  if (value instanceof Date) return value.getTime();
  return Number.NaN;
}

function isRealDate(iso: string): boolean {
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  const day = Number(iso.slice(8, 10));
  const check = new Date(Date.UTC(year, month - 1, day));
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}
