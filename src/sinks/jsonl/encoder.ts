/**
 * Encodes records as JSON Lines: one `JSON.stringify` per record, each followed by `\n`.
 * Values JSON cannot represent at the top level (`undefined`, functions, symbols) are written
 * as `null` so that every record still occupies exactly one line.
 *
 * @example encodeJsonLines([{ a: 1 }, 'x']) // '{"a":1}\n"x"\n'
 * @see fileSink
 * @see stdoutSink
 */
export function encodeJsonLines(records: readonly unknown[]): string {
  let out = '';
  for (const record of records) {
    const json = JSON.stringify(record) as string | undefined;
    out += json === undefined ? 'null\n' : json + '\n';
  }
  return out;
}
