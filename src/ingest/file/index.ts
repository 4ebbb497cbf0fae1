import type { PartitionReader, Source } from '../../core/connectors.js';
import type { Position } from '../../core/envelope.js';
import { fileSourceConfig, type FileSourceConfig, type FileSourceOptions } from './config.js';
import { probeFiles, resolveFiles } from './files.js';
import { FileReader } from './reader.js';

export { DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_BYTES, fileSourceConfig, type FileSourceConfig, type FileSourceOptions } from './config.js';
export { FileReader } from './reader.js';

/**
 * The source behind `file:PATH_OR_GLOB`: JSON Lines files, plain or gzip, one partition per
 * file, partition id = the path as matched. Bad options throw `UserError(BAD_OPTION)` here;
 * unreadable inputs make `open()` throw `UserError(UNREADABLE_INPUT)` before anything is read.
 *
 * @example
 * const source = fileSource({ path: 'data/*.jsonl.gz' });
 * for (const reader of await source.open()) console.log(reader.partition);
 * @see FileReader
 * @see memorySource
 */
export function fileSource(options: FileSourceOptions): Source {
  return new FileSource(fileSourceConfig(options));
}

class FileSource implements Source {
  private readonly readers: PartitionReader[] = [];
  private fileCount: number | undefined;

  constructor(private readonly config: FileSourceConfig) {}

  get description(): string {
    const base = `file:${this.config.path}`;
    if (this.fileCount === undefined) return base;
    return `${base} (${this.fileCount} ${this.fileCount === 1 ? 'file' : 'files'})`;
  }

  async open(resume?: ReadonlyMap<string, Position>): Promise<PartitionReader[]> {
    const files = await resolveFiles(this.config.path);
    await probeFiles(files);
    this.fileCount = files.length;
    const readers = files.map((file) => new FileReader(file, { ...this.config, afterLine: resumeLine(resume?.get(file)) }));
    this.readers.push(...readers);
    return readers;
  }

  async close(): Promise<void> {
    const readers = this.readers.splice(0);
    await Promise.all(readers.map((reader) => reader.close()));
  }
}

/** The line a checkpoint position of this source names. */
function resumeLine(position: Position | undefined): number | undefined {
  if (position === undefined) return undefined;
  const line = position['line'];
  return typeof line === 'number' && Number.isSafeInteger(line) && line >= 0 ? line : undefined;
}
