/** Helpers for the backfill tests: a windowed pipeline module and deterministic events. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../cli/cli.js';

/**
 * Writes a module equal to `sluice aggregate --name aggregate --key k --time ts
 * --window tumbling:1m --agg count,sum:v --max-out-of-orderness 5s` (same ids and fields).
 */
export async function windowModule(dir: string): Promise<string> {
  const index = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;
  const path = join(dir, 'windows.mjs');
  await writeFile(
    path,
    `import { definePipeline, tumbling, count, sum } from ${JSON.stringify(index)};\n` +
      `export default definePipeline('aggregate', (s) =>\n` +
      `  s.parseJson().withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' }).keyBy('k')\n` +
      `   .window({ assign: tumbling('1m'), aggregate: { count: count(), sum_v: sum('v') } }),\n` +
      `);\n`,
  );
  return path;
}

/** The `sluice aggregate` flags {@link windowModule} equals. */
export const AGGREGATE_FLAGS = ['--key', 'k', '--time', 'ts', '--window', 'tumbling:1m', '--agg', 'count,sum:v', '--max-out-of-orderness', '5s'] as const;

/**
 * A module counting events per key and minute with allowed lateness: late events re-fire their
 * window (revision 1, 2 …). Counts only, so the order events arrive in cannot change a value.
 */
export async function lateWindowModule(dir: string, allowedLateness: string): Promise<string> {
  const index = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;
  const path = join(dir, 'late-windows.mjs');
  await writeFile(
    path,
    `import { definePipeline, tumbling, count } from ${JSON.stringify(index)};\n` +
      `export default definePipeline('late', (s) =>\n` +
      `  s.parseJson().withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' }).keyBy('k')\n` +
      `   .window({ assign: tumbling('1m'), aggregate: { count: count() }, allowedLateness: ${JSON.stringify(allowedLateness)} }),\n` +
      `);\n`,
  );
  return path;
}
