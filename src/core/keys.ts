import { configure } from 'safe-stable-stringify';

const stable = configure({ bigint: true, circularValue: Error, deterministic: true });

/** Starts every canonical key that is not a plain string, so the two can never collide. */
const TAG = '\u0000';

/**
 * The canonical string of a key, used to look up state and to derive result ids. Equal keys
 * give equal strings whatever their property order; values of different types never collide
 * (`1` and `"1"` are different keys).
 *
 * A string is its own canonical key (the common case costs no allocation on the hot path);
 * everything else, and the rare string that starts with NUL, is tagged with a leading NUL and
 * its type.
 */
export function canonicalKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.length > 0 && value.charCodeAt(0) === 0 ? TAG + 's' + value : value;
    case 'number':
      return TAG + 'n' + String(value);
    case 'boolean':
      return value ? TAG + 'bt' : TAG + 'bf';
    default:
      return TAG + 'j' + (stable(value) ?? 'undefined');
  }
}
