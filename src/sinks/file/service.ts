import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WriteStream } from 'node:fs';
import type { Sink } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from '../../ingest/file/fs-errors.js';
import { encodeJsonLines } from '../jsonl/encoder.js';
import type { FileSinkConfig } from './config.js';

/** fsync errors that only mean "this kind of file cannot be synced" (pipes, /dev/stdout). */
const UNSYNCABLE = new Set(['EINVAL', 'ENOTSUP', 'EROFS']);

/**
 * Writes JSON Lines to one file. The file is opened by {@link FileSinkService.open} or by the
 * first write; each write resolves once its bytes are handed to the OS, and `close` flushes,
 * fsyncs and closes the file.
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
  private handle: FileHandle | undefined;
  private stream: WriteStream | undefined;
  private failure: UserError | undefined;
  private closed = false;

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
    const stream = this.stream;
    if (stream === undefined) throw new Error(`${this.description} is closed`);
    const text = encodeJsonLines(records);
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
    const { stream, handle } = this;
    this.stream = undefined;
    this.handle = undefined;
    if (stream === undefined || handle === undefined) return;
    try {
      if (this.failure === undefined) {
        await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
        await handle.sync().catch((err: unknown) => {
          if (!UNSYNCABLE.has(errorCode(err) ?? '')) throw err;
        });
      }
    } catch (err) {
      throw this.fail(err);
    } finally {
      // The stream holds a reference on the handle, so `handle.close()` alone would wait forever.
      if (!stream.closed) await new Promise<void>((resolve) => stream.destroy().once('close', () => resolve()));
      await handle.close().catch(() => undefined);
    }
  }

  private async openNow(): Promise<void> {
    const { path, append } = this.config;
    try {
      await mkdir(dirname(path), { recursive: true });
      this.handle = await open(path, append ? 'a' : 'w');
    } catch (err) {
      throw this.fail(err);
    }
    // We close the handle ourselves, after the fsync that `close` promises.
    this.stream = this.handle.createWriteStream({ autoClose: false });
    // Without a listener a failed write would crash the process; the write callback reports it.
    this.stream.on('error', (err) => this.fail(err));
  }

  private fail(err: unknown): UserError {
    const code = errorCode(err);
    // mkdir -p reports a file in the way as EEXIST or ENOTDIR, neither of which reads well.
    const cause = code === 'EEXIST' || code === 'ENOTDIR' ? 'a parent is not a directory' : describeFsError(err);
    this.failure ??= new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${this.config.path}': ${cause}`, { cause: err });
    return this.failure;
  }
}
