/**
 * Helpers for the `save`/`load` of aggregates: copying plain JSON data, numbers whose sign of
 * zero survives JSON, and the error a malformed saved state raises.
 *
 * @module
 */
import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * A number as saved data: itself, except -0, which JSON would write as `0`, becomes the string
 * `"-0"`. The checkpoint codec keeps ±Infinity and NaN, not the sign of zero, and min, max and
 * sum answer -0 when every value was -0.
 *
 * @example saveNumber(-0) // "-0"
 * @see loadNumber
 */
export function saveNumber(x: number): number | string {
  return Object.is(x, -0) ? '-0' : x;
}

/**
 * The number {@link saveNumber} saved; `undefined` for anything else.
 *
 * @example loadNumber('-0') // -0
 * @see saveNumber
 */
export function loadNumber(saved: unknown): number | undefined {
  if (typeof saved === 'number') return saved;
  return saved === '-0' ? -0 : undefined;
}

/**
 * The error of a saved state that `load` cannot read: a corrupt checkpoint, or one taken with
 * other aggregates.
 *
 * @example throw badSaved('min:price', '{ value: number }', saved);
 * @see CompositeAggregate.load
 */
export function badSaved(what: string, expected: string, saved: unknown): UserError {
  let got: string;
  try {
    got = JSON.stringify(saved) ?? String(saved);
  } catch {
    got = typeof saved;
  }
  if (got.length > 80) got = got.slice(0, 80) + '…';
  return new UserError(ErrorCode.BAD_CHECKPOINT, `saved state of ${what} is not ${expected}, got ${got}`);
}

/** A plain object: what JSON.parse builds (or one without a prototype). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A deep copy of plain JSON data (numbers, ±Infinity and NaN included, strings, booleans,
 * null, arrays, plain objects); properties set to `undefined` are dropped, as JSON does.
 * Throws a `UserError(BAD_DEFINITION)` naming the first value that is not plain data (a Set,
 * a Date, a class instance, a function, `undefined` in an array, a cycle): such an accumulator
 * needs its own `save` and `load`. `owner` names the data in that message, `hint` ends it.
 *
 * @example copyPlain({ n: 1, seen: ['a'] }, 'the accumulator of a reducer') // { n: 1, seen: ['a'] }
 * @see reduce
 * @see CompositeAggregate.save
 */
export function copyPlain(value: unknown, owner: string, hint = 'give it save and load'): unknown {
  return new PlainCopier(owner, hint).copy(value);
}

class PlainCopier {
  /** Objects being copied, outermost first, to tell a cycle from a shared part. */
  private readonly ancestors = new Set<object>();
  /** Keys and indexes from the root down to the value being copied; a path only on error. */
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly owner: string,
    private readonly hint: string,
  ) {}

  copy(value: unknown): unknown {
    switch (typeof value) {
      case 'number':
      case 'string':
      case 'boolean':
        return value;
      case 'object':
        if (value === null) return null;
        break;
      case 'undefined':
        throw this.notPlain('undefined');
      default:
        throw this.notPlain(`a ${typeof value}`);
    }
    if (this.ancestors.has(value)) throw this.notPlain('a cycle');
    this.ancestors.add(value);
    let out: unknown;
    if (Array.isArray(value)) out = this.copyArray(value);
    else if (isPlainObject(value)) out = this.copyObject(value);
    else {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      const known = typeof name === 'string' && name !== '' && name !== 'Object';
      throw this.notPlain(known ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'not a plain object');
    }
    this.ancestors.delete(value);
    return out;
  }

  private copyArray(value: readonly unknown[]): unknown[] {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      this.path.push(i);
      // JSON would turn a hole or undefined into null: a different accumulator.
      if (!(i in value) || value[i] === undefined) throw this.notPlain('undefined');
      out[i] = this.copy(value[i]);
      this.path.pop();
    }
    return out;
  }

  private copyObject(value: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const field = value[key];
      if (field === undefined) continue;
      this.path.push(key);
      const copied = this.copy(field);
      this.path.pop();
      // A plain assignment to "__proto__" would set the prototype instead of a field.
      if (key === '__proto__') Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true });
      else out[key] = copied;
    }
    return out;
  }

  private notPlain(what: string): UserError {
    const where = this.path.length === 0 ? 'it' : 'acc' + this.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
    return new UserError(ErrorCode.BAD_DEFINITION, `${this.owner} is not plain JSON data (${where} is ${what}), so it cannot be checkpointed; ${this.hint}`);
  }
}

/**
 * Saves the `{ value }` box of `min`/`max` as a copy, so that the checkpoint does not follow
 * the live accumulator.
 *
 * @example saveBox({ value: -0 }) // { value: "-0" }
 * @see loadBox
 */
export function saveBox(acc: { value: number }): { value: number | string } {
  return { value: saveNumber(acc.value) };
}

/**
 * A fresh `{ value }` box from what {@link saveBox} saved; `what` names the slot in errors.
 *
 * @example loadBox({ value: Infinity }, 'min:price') // { value: Infinity }
 * @see saveBox
 */
export function loadBox(saved: unknown, what: string): { value: number } {
  const value = isPlainObject(saved) ? loadNumber(saved['value']) : undefined;
  if (value === undefined || Number.isNaN(value)) throw badSaved(what, '{ value: number }', saved);
  return { value };
}
