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
    const stream = this.stream;
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

  /** The file's length after every acknowledged write. */
  position(): number {
    return this.bytes;
  }

  /**
   * Cuts the file back to a checkpoint's length before a resumed run writes again, so output
   * re-emitted after the checkpoint lands once; `undefined` (no checkpoint yet) empties it.
   */
  async restore(position: unknown): Promise<void> {
    await this.open();
    if (this.failure !== undefined) throw this.failure;
    const handle = this.handle;
    if (handle === undefined) throw new Error(`${this.description} is closed`);
    const target = position === undefined ? 0 : Number(position);
    if (!Number.isSafeInteger(target) || target < 0) throw new Error(`${this.description}: bad checkpoint position ${String(position)}`);
    const { size } = await handle.stat();
    if (size < target) {
      throw new UserError(
        ErrorCode.UNWRITABLE_OUTPUT,
        `cannot resume '${this.config.path}': it holds ${size} bytes but the checkpoint says ${target} were written; it was changed outside Sluice — restore it or delete the checkpoint directory to start over`,
      );
    }
    await handle.truncate(target);
    this.bytes = target;
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
      this.bytes = append ? (await this.handle.stat()).size : 0;
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
