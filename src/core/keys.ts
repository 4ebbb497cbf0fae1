import { configure } from 'safe-stable-stringify';

const stable = configure({ bigint: true, circularValue: Error, deterministic: true });

/**
 * The canonical string of a key, used to look up state and to derive result ids. Equal keys
 * give equal strings whatever their property order; values of different types never collide
 * (`1` and `"1"` are different keys).
 */
export function canonicalKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return 's' + value;
    case 'number':
      return 'n' + String(value);
    case 'boolean':
      return value ? 'bt' : 'bf';
    default:
      return 'j' + (stable(value) ?? 'undefined');
  }
}

/** Canonical JSON text of any value (object keys sorted). */
export function stableStringify(value: unknown): string {
  return stable(value) ?? 'null';
}
