/** Reads one field, following a dotted path such as `device.id`; only own properties count. */
export type FieldGetter = (value: unknown) => unknown;

/**
 * Compiles a dotted path into a getter. Missing fields, and fields of non-objects, read as
 * `undefined`; inherited properties such as `constructor` never match.
 *
 * @example compilePath('device.id')({ device: { id: 7 } }) // 7
 */
export function compilePath(path: string): FieldGetter {
  const parts = path.split('.');
  if (parts.length === 1) {
    const name = path;
    return (value) =>
      value !== null && typeof value === 'object' && Object.hasOwn(value, name)
        ? (value as Record<string, unknown>)[name]
        : undefined;
  }
  return (value) => {
    let current: unknown = value;
    for (const part of parts) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
    return current;
  };
}

/** Checks a field path written by a user: non-empty segments separated by dots. */
export function isValidPath(path: string): boolean {
  return path.length > 0 && path.split('.').every((part) => part.length > 0);
}
