import type { Sink } from '../../core/connectors.js';
import { fileSinkConfig, type FileSinkOptions } from './config.js';
import { FileSinkService } from './service.js';

export { fileSinkConfig, type FileSinkConfig, type FileSinkOptions } from './config.js';
export { FileSinkService } from './service.js';

/**
 * A sink writing JSON Lines to a file, opened lazily: an unwritable path surfaces as
 * `UserError(UNWRITABLE_OUTPUT)` from the first write. Prefer {@link openFileSink} in the CLI.
 *
 * @example const sink = fileSink({ path: 'out/results.jsonl', append: true })
 * @see openFileSink
 * @see stdoutSink
 */
export function fileSink(options: FileSinkOptions): Sink {
  return new FileSinkService(fileSinkConfig(options));
}

/**
 * Opens a JSON Lines file sink eagerly (creating parent directories, truncating unless
 * `append`), so that an unwritable path fails the run at start-up, before any input is read.
 * Resolves once the file is open; rejects with `UserError(UNWRITABLE_OUTPUT)`, e.g.
 * `cannot write 'out.jsonl': permission denied`.
 *
 * @example const sink = await openFileSink({ path: 'out/results.jsonl' })
 * @see fileSink
 */
export async function openFileSink(options: FileSinkOptions): Promise<Sink> {
  const sink = new FileSinkService(fileSinkConfig(options));
  await sink.open();
  return sink;
}
