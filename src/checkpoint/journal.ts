/**
 * File journals of external calls (see {@link Journal}): `DIR/<name>.jsonl`, one
 * `{"k":KEY,"v":ANSWER}` line per answer, appended before the answer is used. An append has
 * reached the operating system when it resolves, so it survives `kill -9` of the process (not a
 * power cut: the entries are a saving, never the source of truth, and a lost one is paid again).
 *
 * A journal holds at most `maxEntries` answers in memory; past that it forgets the older half
 * and, the next time it is opened, rewrites the file with what it kept.
 */
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Journal, JournalProvider } from '../core/context.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { describeFsError, errorCode } from '../ingest/file/fs-errors.js';

export interface FileJournalOptions {
  /** Answers kept per journal (default 1,000,000: ~100 MB of typical predictions). */
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Journals kept as files in `dir`, opened on first use (the same journal for the same name).
 *
 * @example const journals = fileJournals('.checkpoints/telemetry/journals'); const j = await journals('predict-telemetry-anomaly');
 */
export function fileJournals(dir: string, options: FileJournalOptions = {}): JournalProvider & { close(): Promise<void> } {
  const opened = new Map<string, Promise<FileJournal>>();
  const provider = (name: string): Promise<Journal> => {
    let journal = opened.get(name);
    if (journal === undefined) {
      journal = openJournal(dir, name, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
      // a failed open is reported to its caller and tried again by the next one
      journal.catch(() => opened.delete(name));
      opened.set(name, journal);
    }
    return journal;
  };
  return Object.assign(provider, {
    async close(): Promise<void> {
      const journals = await Promise.allSettled(opened.values());
      opened.clear();
      for (const journal of journals) if (journal.status === 'fulfilled') await journal.value.close();
    },
  });
}

interface FileJournal extends Journal {
  close(): Promise<void>;
}

async function openJournal(dir: string, name: string, maxEntries: number): Promise<FileJournal> {
  if (!NAME.test(name)) throw new Error(`journal name '${name}' cannot name a file`);
  const path = join(dir, `${name}.jsonl`);
  const entries = new Map<string, unknown>();
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read journal '${path}': ${describeFsError(err)}`, { cause: err });
  }
  let lines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines++;
    // a line cut short by a kill is skipped: its answer is simply asked for again
    try {
      const entry = JSON.parse(line) as { k?: unknown; v?: unknown };
      if (typeof entry.k === 'string') entries.set(entry.k, entry.v);
    } catch {
      continue;
    }
  }
  forgetOldest(entries, maxEntries);
  let handle: FileHandle;
  try {
    await mkdir(dir, { recursive: true });
    if (lines > entries.size) await rewrite(path, entries);
    handle = await open(path, 'a');
  } catch (err) {
    throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write journal '${path}': ${describeFsError(err)}`, { cause: err });
  }
  let appending: Promise<void> = Promise.resolve();
  return {
    get: (key) => entries.get(key),
    record(batch) {
      if (batch.length === 0) return appending;
      let out = '';
      for (const [key, value] of batch) {
        entries.set(key, value);
        out += JSON.stringify({ k: key, v: value }) + '\n';
      }
      forgetOldest(entries, maxEntries);
      const write = appending.then(async () => {
        await handle.write(out);
      });
      appending = write.catch(() => undefined);
      return write.catch((err: unknown) => {
        throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write journal '${path}': ${describeFsError(err)}`, { cause: err });
      });
    },
    async close() {
      await appending;
      await handle.close();
    },
  };
}

function forgetOldest(entries: Map<string, unknown>, maxEntries: number): void {
  if (entries.size <= maxEntries) return;
  let drop = entries.size - Math.floor(maxEntries / 2);
  for (const key of entries.keys()) {
    if (drop-- <= 0) break;
    entries.delete(key);
  }
}

/** Replaces the file with the entries kept (atomically: a crash leaves the old file). */
async function rewrite(path: string, entries: ReadonlyMap<string, unknown>): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    let out = '';
    for (const [key, value] of entries) out += JSON.stringify({ k: key, v: value }) + '\n';
    await handle.writeFile(out, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
