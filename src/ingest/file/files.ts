import { open, type FileHandle } from 'node:fs/promises';
import { glob, isDynamicPattern } from 'tinyglobby';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError } from './fs-errors.js';

/** Files probed at once by {@link probeFiles}: enough to hide latency, far below fd limits. */
const PROBE_CONCURRENCY = 16;

/**
 * Expands a `file:` path into the files to read: a glob is matched against the file system
 * (files only, sorted); anything else is a single path, checked later by {@link openFile}.
 * Matches keep the pattern's own spelling of the fixed part (`./data/a.jsonl` for
 * `./data/*.jsonl`) because they become partition ids that users see and resume by.
 *
 * @example await resolveFiles('data/*.jsonl') // ['data/a.jsonl', 'data/b.jsonl']
 * @see openFile
 */
export async function resolveFiles(pattern: string): Promise<string[]> {
  if (!isDynamicPattern(pattern)) return [pattern];
  const { base, rest } = splitPattern(pattern);
  // Globbing from the fixed base rather than the cwd avoids crawling unrelated directories
  // and keeps absolute patterns absolute (tinyglobby would otherwise return `../..` paths).
  const matches = await glob(rest, { cwd: base === '' ? '.' : base, onlyFiles: true, expandDirectories: false });
  const files = matches.map((match) => (base === '' ? match : base.endsWith('/') ? base + match : `${base}/${match}`));
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) {
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `no files match the glob '${pattern}'`);
  }
  return files;
}

/** Characters that may make a path segment dynamic; over-matching only shortens the base. */
const GLOB_CHARS = /[*?[\]{}()!+@\\]/;

function splitPattern(pattern: string): { base: string; rest: string } {
  const segments = pattern.split('/');
  let fixed = 0;
  // The last segment always goes to `rest`, so the glob never degenerates to an empty pattern.
  while (fixed < segments.length - 1 && !GLOB_CHARS.test(segments[fixed] ?? '')) fixed++;
  let base = segments.slice(0, fixed).join('/');
  if (base === '' && pattern.startsWith('/')) base = '/';
  return { base, rest: segments.slice(fixed).join('/') };
}

/**
 * An open input file. `regular` is false for pipes and devices, which cannot be read at an
 * offset (so gzip sniffing with a positioned read is skipped for them).
 *
 * @see openFile
 */
export interface OpenedFile {
  readonly handle: FileHandle;
  readonly regular: boolean;
}

/**
 * Opens a file for reading, turning failures into `UserError(UNREADABLE_INPUT)` with the cause
 * in plain words. Directories are rejected here because `open(2)` accepts them on Linux.
 *
 * @example const { handle } = await openFile('data/a.jsonl')
 * @see resolveFiles
 * @see probeFiles
 */
export async function openFile(path: string): Promise<OpenedFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw Object.assign(new Error(`EISDIR: '${path}'`), { code: 'EISDIR' });
    return { handle, regular: stats.isFile() };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw unreadable(path, err);
  }
}

/**
 * Checks that every file can be opened, so that a bad input fails the run at start-up instead
 * of after other partitions have produced output. Reports the first bad file in path order.
 *
 * @example await probeFiles(['a.jsonl', 'b.jsonl'])
 * @see openFile
 */
export async function probeFiles(paths: readonly string[]): Promise<void> {
  for (let start = 0; start < paths.length; start += PROBE_CONCURRENCY) {
    const group = paths.slice(start, start + PROBE_CONCURRENCY);
    const outcomes = await Promise.allSettled(group.map(async (path) => (await openFile(path)).handle.close()));
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }
}

/**
 * The error for an input that cannot be read: `cannot read 'path': cause`.
 *
 * @example unreadable('a.jsonl', err) // UserError: cannot read 'a.jsonl': no such file
 * @see describeFsError
 */
export function unreadable(path: string, err: unknown, detail = describeFsError(err)): UserError {
  return new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${path}': ${detail}`, { cause: err });
}
