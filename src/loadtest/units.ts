/**
 * Flag values of the sizing and load-test commands: byte sizes with Kinesis's units, plain numbers
 * and rate lists, each refused with one line that names the flag.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { KB, MB } from './limits.js';

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: KB, kib: KB, mb: MB, mib: MB };

/**
 * Bytes from `1024`, `512B`, `1KB`, `1.5 KB`, `1MB`; KB and MB are 1,024 and 1,048,576 bytes, as
 * in the Kinesis documentation (KiB and MiB are accepted too).
 *
 * @example parseByteSize('1KB', '--record-size') // 1024
 */
export function parseByteSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase() || 'b'];
  if (!m || unit === undefined) throw new UserError(ErrorCode.BAD_OPTION, `${flag} must be a size in bytes such as 1024, 512B, 1KB or 1MB, got '${text}'`);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UserError(ErrorCode.BAD_OPTION, `${flag} must be a whole number of bytes ≥ 1, got '${text}' (${bytes} B)`);
  return bytes;
}

/**
 * A number from a flag, at least `min` (and a whole number with `integer`).
 *
 * @example parseNumber('1.5', '--peak-factor', { min: 1 }) // 1.5
 */
export function parseNumber(
  text: string,
  flag: string,
  options: { readonly min: number; readonly above?: boolean; readonly integer?: boolean; readonly what?: string },
): number {
  const n = Number(text);
  const what = options.what ?? (options.integer === true ? 'a whole number' : 'a number');
  const low = options.above === true ? n <= options.min : n < options.min;
  if (text.trim() === '' || !Number.isFinite(n) || low || (options.integer === true && !Number.isSafeInteger(n))) {
    throw new UserError(ErrorCode.BAD_OPTION, `${flag} must be ${what} ${options.above === true ? '>' : '≥'} ${options.min}, got '${text}'`);
  }
  return n;
}

/**
 * Rates of a step-mode load test: `1000` or `1000,2000,4000`, each > 0 records per second.
 *
 * @example parseRates('1000,2000', '--rate') // [1000, 2000]
 */
export function parseRates(text: string, flag: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const rates = parts.map((p) => Number(p));
  if (parts.some((p) => p === '') || rates.some((r) => !Number.isFinite(r) || r <= 0)) {
    throw new UserError(ErrorCode.BAD_OPTION, `${flag} must be records per second > 0, or several separated by commas (1000,2000,4000), got '${text}'`);
  }
  return rates;
}
