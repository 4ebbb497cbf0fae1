import { constants, open as openFd } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { Sink } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from '../../ingest/file/fs-errors.js';
import { encodeJsonLines } from '../jsonl/encoder.js';
import type { FileSinkConfig } from './config.js';

/** fsync errors that only mean "this kind of file cannot be synced" (pipes, /dev/stdout). */
const UNSYNCABLE = new Set(['EINVAL', 'ENOTSUP', 'EROFS']);
/** How often to look for a reader of a named pipe nobody reads yet. */
const PIPE_RETRY_MS = 100;

/** Where the bytes go: a regular file (or device) through a file handle, or a named pipe. */
interface Target {
  readonly stream: Writable;
  /** A regular file: its length is a position checkpoints can cut it back to. */
  readonly handle: FileHandle | undefined;
  readonly regular: boolean;
}

/**
 * Writes JSON Lines to one file. The file is opened by {@link FileSinkService.open} or by the
 * first write; each write resolves once its bytes are handed to the OS, and `close` flushes,
 * fsyncs and closes the file.
 *
 * A named pipe (a slow consumer downstream) is written through a non-blocking socket: a write
 * to a full pipe then waits on the event loop instead of blocking a worker thread, so a stuck
 * reader can never keep the process from exiting.
 *
 * @example
 * const sink = new FileSinkService({ path: 'out.jsonl', append: false });
 * await sink.open(); await sink.write([{ a: 1 }]); await sink.close();
 * @see fileSink
 * @see openFileSink
 */
export class FileSinkService implements Sink {
  readonly description: string;
  private opening: Promise<void> | undefined;
  private target: Target | undefined;
  private failure: UserError | undefined;
  private closed = false;
  /** Bytes in the file after the last acknowledged write: the position checkpoints keep. */
  private bytes = 0;

  constructor(private readonly config: FileSinkConfig) {
    this.description = `file:${config.path}`;
  }

  /** Opens (creating or truncating) the file; safe to call more than once. */
  open(): Promise<void> {
    return (this.opening ??= this.openNow());
  }

  async write(records: readonly unknown[]): Promise<void> {
    if (this.closed) throw new Error(`${this.description} is closed`);
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    if (records.length === 0) return;
    const stream = this.target?.stream;
    if (stream === undefined) throw new Error(`${this.description} is closed`);
    const text = encodeJsonLines(records);
    const size = Buffer.byteLength(text);
    await new Promise<void>((resolve, reject) => {
      let pending = 1;
      const settle = (): void => {
        if (--pending === 0) resolve();
      };
      const ok = stream.write(text, (err) => (err ? reject(this.fail(err)) : settle()));
      if (!ok) {
        pending++;
        stream.once('drain', settle);
      }
    });
    this.bytes += size;
  }

  /** The file's length after every acknowledged write; none for pipes and devices. */
  position(): number | undefined {
    return this.target?.regular === true ? this.bytes : undefined;
  }

  /**
   * Cuts the file back to a checkpoint's length before a resumed run writes again, so output
   * re-emitted after the checkpoint lands once; `undefined` (no checkpoint yet) empties it.
   * Pipes and devices cannot rewind: their readers see re-emitted results again (at least once).
   */
  async restore(position: unknown): Promise<void> {
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    const target = this.target;
    if (target === undefined) throw new Error(`${this.description} is closed`);
    if (!target.regular || target.handle === undefined) return;
    const length = position === undefined ? 0 : Number(position);
    if (!Number.isSafeInteger(length) || length < 0) throw new Error(`${this.description}: bad checkpoint position ${String(position)}`);
    const { size } = await target.handle.stat();
    if (size < length) {
      throw new UserError(
        ErrorCode.UNWRITABLE_OUTPUT,
        `cannot resume '${this.config.path}': it holds ${size} bytes but the checkpoint says ${length} were written; it was changed outside Sluice — restore it or delete the checkpoint directory to start over`,
      );
    }
    await target.handle.truncate(length);
    this.bytes = length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opening === undefined) return;
    try {
      await this.opening;
    } catch {
      return; // Nothing was opened, so nothing to release; the open error was already reported.
    }
    const target = this.target;
    this.target = undefined;
    if (target === undefined) return;
    const { stream, handle } = target;
    try {
      if (this.failure === undefined) {
        await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
        await handle?.sync().catch((err: unknown) => {
          if (!UNSYNCABLE.has(errorCode(err) ?? '')) throw err;
        });
      }
    } catch (err) {
      throw this.fail(err);
    } finally {
      // The stream holds a reference on the handle, so `handle.close()` alone would wait forever.
      if (!stream.closed) await new Promise<void>((resolve) => stream.destroy().once('close', () => resolve()));
      await handle?.close().catch(() => undefined);
    }
  }

  private async openNow(): Promise<void> {
    const { path, append } = this.config;
    try {
      const existing = await stat(path).catch(() => undefined);
      if (existing?.isFIFO() === true) {
        const stream = await openPipe(path);
        // a reader that goes away (EPIPE) fails the sink instead of crashing the process
        stream.on('error', (err) => this.fail(err));
        this.target = { stream, handle: undefined, regular: false };
        return;
      }
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, append ? 'a' : 'w');
      const info = await handle.stat();
      this.bytes = append ? info.size : 0;
      // We close the handle ourselves, after the fsync that `close` promises.
      const stream = handle.createWriteStream({ autoClose: false });
      // Without a listener a failed write would crash the process; the write callback reports it.
      stream.on('error', (err) => this.fail(err));
      this.target = { stream, handle, regular: info.isFile() };
    } catch (err) {
      throw this.fail(err);
    }
  }

  private fail(err: unknown): UserError {
    const code = errorCode(err);
    // mkdir -p reports a file in the way as EEXIST or ENOTDIR, neither of which reads well.
    const cause = code === 'EEXIST' || code === 'ENOTDIR' ? 'a parent is not a directory' : describeFsError(err);
    this.failure ??= new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${this.config.path}': ${cause}`, { cause: err });
    return this.failure;
  }
}

/**
 * Opens a named pipe for writing without blocking a thread: a non-blocking open fails with
 * ENXIO while no reader has the pipe open, so it waits for one by retrying on a timer, as a
 * blocking open would wait, but interruptibly.
 */
async function openPipe(path: string): Promise<Socket> {
  for (;;) {
    try {
      const fd = await new Promise<number>((resolve, reject) =>
        openFd(path, constants.O_WRONLY | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))),
      );
      return new Socket({ fd, readable: false, writable: true });
    } catch (err) {
      if (errorCode(err) !== 'ENXIO') throw err;
      await new Promise((resolve) => setTimeout(resolve, PIPE_RETRY_MS));
    }
  }
}
