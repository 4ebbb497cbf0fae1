/**
 * The `check` shared by the numeric aggregates (sum, avg, min, max, percentiles), so that they
 * all reject the same values with the same wording.
 *
 * @module
 */
import type { FieldGetter } from '../../core/paths.js';

/**
 * Builds a `check` for a numeric field: `null` and missing pass (they are skipped, as SQL
 * skips NULL), finite numbers pass, anything else gets a one-line reason.
 *
 * @example numericCheck('price', compilePath('price'))({ price: '9.50' }) // "field 'price' must be a number, got string \"9.50\""
 * @see sum
 * @see avg
 * @see min
 * @see max
 * @see percentile
 */
export function numericCheck(field: string, get: FieldGetter): (event: unknown) => string | undefined {
  return (event) => {
    const value = get(event);
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'number') {
      return Number.isFinite(value) ? undefined : `field '${field}' must be a finite number, got ${String(value)}`;
    }
    return `field '${field}' must be a number, got ${describe(value)}`;
  };
}

const PREVIEW = 24;

/** Names the type, and for strings the start of the value: "12.5" as a string is a common mistake worth showing. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > PREVIEW ? value.slice(0, PREVIEW) + '…' : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
