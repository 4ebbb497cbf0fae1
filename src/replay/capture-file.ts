/**
 * Capture files on disk: writing them (gzip when the name ends in `.gz`) and reading them back
 * (gzip recognised by content, as the file source does).
 *
 * @module
 */
import { once } from 'node:events';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ErrorCode, UserError } from '../core/errors.js';
import { describeFsError, errorCode } from '../ingest/file/fs-errors.js';
import { FileReader } from '../ingest/file/reader.js';
import { decodeCaptureLine, type CaptureRecord } from './capture-format.js';

/** Lines per read and bytes per file chunk when reading a capture. */
const READ_BATCH = 1024;
const READ_CHUNK_BYTES = 1 << 20;
/** fsync errors that only mean "this kind of file cannot be synced" (pipes, /dev/stdout). */
const UNSYNCABLE: ReadonlySet<string> = new Set(['EINVAL', 'ENOTSUP', 'EROFS']);

/**
 * An open capture file. Lines of one `write` stay together, in order; `close` makes the file
 * complete (gzip trailer, fsync) and must be called even after a failed run, so that what was
 * captured stays readable.
 *
 * @see openCaptureWriter
 */
export interface CaptureWriter {
  readonly path: string;
  /** Appends text (whole lines); resolves once the file stream accepted it (backpressure). */
  write(text: string): Promise<void>;
  /** Finishes the file; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Creates (or truncates) a capture file, and its folder if needed; gzip when `path` ends in `.gz`.
 *
 * @example const out = await openCaptureWriter('capture.jsonl.gz'); await out.write(line); await out.close();
 * @throws UserError(UNWRITABLE_OUTPUT) when the file cannot be created or written.
 * @see readCapture
 */
export async function openCaptureWriter(path: string): Promise<CaptureWriter> {
  const unwritable = (err: unknown): UserError => new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${path}': ${describeFsError(err)}`, { cause: err });
  let handle: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    handle = await open(path, 'w');
  } catch (err) {
    throw unwritable(err);
  }
  // the handle is closed by `close`, after the fsync, not by the stream
  const file = handle.createWriteStream({ autoClose: false });
  const gzip = path.endsWith('.gz') ? createGzip() : undefined;
  const head: Writable = gzip ?? file;
  let failure: UserError | undefined;
  const done = (gzip === undefined ? finished(file) : pipeline(gzip, file)).catch((err: unknown) => {
    failure ??= unwritable(err);
  });
  let closing: Promise<void> | undefined;
  return {
    path,
    async write(text) {
      if (failure !== undefined) throw failure;
      if (closing !== undefined) throw new Error(`capture '${path}' is closed`);
      if (!head.write(text)) {
        try {
          await Promise.race([once(head, 'drain'), done]);
        } catch (err) {
          failure ??= unwritable(err);
        }
      }
      if (failure !== undefined) throw failure;
    },
    close() {
      closing ??= (async () => {
        head.end();
        await done;
        if (failure === undefined) {
          await handle.sync().catch((err: unknown) => {
            // pipes and devices cannot be synced, and need not be
            if (!UNSYNCABLE.has(errorCode(err) ?? '')) failure = unwritable(err);
          });
        }
        // the stream holds a reference on the handle: `handle.close()` alone would wait forever
        if (!file.closed) await new Promise<void>((resolve) => file.destroy().once('close', () => resolve()));
        await handle.close().catch(() => undefined);
        if (failure !== undefined) throw failure;
      })();
      return closing;
    },
  };
}

/**
 * The records of a capture file, in file order; blank lines are skipped. Breaking out of the
 * loop closes the file.
 *
 * @example for await (const record of readCapture('capture.jsonl.gz')) send(record);
 * @throws UserError(UNREADABLE_INPUT) for a missing or corrupt file, naming the line.
 * @see openCaptureWriter
 */
export async function* readCapture(path: string): AsyncGenerator<CaptureRecord> {
  const reader = new FileReader(path, { batchSize: READ_BATCH, chunkBytes: READ_CHUNK_BYTES });
  try {
    for (let batch = await reader.read(); batch !== null; batch = await reader.read()) {
      for (const env of batch) yield decodeCaptureLine(env.value as string, `'${path}' line ${String(env.position['line'])}`);
    }
  } finally {
    await reader.close();
  }
}

/**
 * Reads a capture once to the end, checking every line: a corrupt file is then refused before
 * anything is replayed, rather than half-way with half of it in the topic. Returns the count.
 *
 * @see readCapture
 */
export async function checkCapture(path: string): Promise<number> {
  let records = 0;
  for await (const _ of readCapture(path)) records++;
  return records;
}
