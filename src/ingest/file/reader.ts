import type { FileHandle } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../core/envelope.js';
import type { UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from './fs-errors.js';
import { openFile, unreadable } from './files.js';

const CR = 13;
const SPACE = 32;
const BOM = 0xfeff;
/** zlib refuses output chunks below 64 bytes. */
const MIN_GUNZIP_CHUNK = 64;

/**
 * Reads one JSON Lines file (plain or gzip) as a partition: one envelope per non-blank line,
 * whose value and raw are the line without its `\n` / `\r\n`, at `{ file, line }` with 1-based
 * physical line numbers. The file is opened on the first `read()`, so a glob over thousands of
 * files does not hold thousands of descriptors.
 *
 * @example const reader = new FileReader('data/a.jsonl', { batchSize: 4096, chunkBytes: 1 << 20 })
 * @see fileSource
 */
export class FileReader implements PartitionReader {
  readonly partition: string;
  private readonly batchSize: number;
  private readonly chunkBytes: number;
  private handle: FileHandle | undefined;
  private stream: Readable | undefined;
  private chunks: AsyncIterator<Buffer> | undefined;
  /** Bytes of a multi-byte character split across chunks, waiting for the rest. */
  private partial: Buffer | undefined;
  private chunk = '';
  private pos = 0;
  /** The start of a line whose end is in a later chunk. */
  private carry = '';
  private line = 0;
  private started = false;
  private done = false;
  private closed = false;
  /** An error met after some records of a batch were read, raised by the next `read()`. */
  private failure: UserError | undefined;

  /** Lines a resumed reader skips: a checkpoint already covers them. */
  private readonly skipThrough: number;

  constructor(path: string, options: { readonly batchSize: number; readonly chunkBytes: number; readonly afterLine?: number | undefined }) {
    this.partition = path;
    this.batchSize = options.batchSize;
    this.chunkBytes = options.chunkBytes;
    this.skipThrough = options.afterLine ?? 0;
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    if (this.failure !== undefined) throw this.failure;
    if (this.done || this.closed) return null;
    const chunks = (this.chunks ??= await this.start());
    const batch: Envelope<Raw>[] = [];
    const { partition, batchSize } = this;
    let { chunk, pos, line } = this;
    while (batch.length < batchSize) {
      const nl = chunk.indexOf('\n', pos);
      let text: string;
      if (nl !== -1) {
        text = this.carry.length === 0 ? chunk.slice(pos, nl) : this.carry + chunk.slice(pos, nl);
        this.carry = '';
        pos = nl + 1;
      } else {
        if (pos < chunk.length) this.carry += chunk.slice(pos);
        chunk = '';
        pos = 0;
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          return this.fail(err, batch, line + 1);
        }
        if (!next.done) {
          chunk = this.decode(next.value);
          if (!this.started && chunk.length > 0) {
            this.started = true;
            // Editors on Windows write a byte-order mark that would break the first JSON.parse.
            if (chunk.charCodeAt(0) === BOM) pos = 1;
          }
          continue;
        }
        this.done = true;
        await this.release();
        if (line + (this.carry.length > 0 || this.partial !== undefined ? 1 : 0) < this.skipThrough) {
          this.failure = unreadable(this.partition, undefined, `the checkpoint resumes after line ${this.skipThrough} but the file now has ${line} lines; it changed since — restore it or delete the checkpoint directory to start over`);
          throw this.failure;
        }
        if (this.partial !== undefined) {
          // a truncated character at the very end decodes to U+FFFD, as a decoder would
          this.carry += this.partial.toString('utf8');
          this.partial = undefined;
        }
        if (this.carry.length === 0) break;
        // A final line without a newline is still a record.
        text = this.carry;
        this.carry = '';
      }
      line++;
      const last = text.length - 1;
      if (last >= 0 && text.charCodeAt(last) === CR) text = text.slice(0, last);
      if (line > this.skipThrough && !isBlank(text)) batch.push(envelope<Raw>(text, partition, { file: partition, line }, text));
      if (this.done) break;
    }
    this.chunk = chunk;
    this.pos = pos;
    this.line = line;
    return batch.length > 0 ? batch : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  /**
   * Bytes to text. Most telemetry is ASCII, which decodes as Latin-1 at several times the speed
   * of UTF-8 (same characters); other chunks decode as UTF-8 up to the last whole character,
   * the rest waits for the next chunk.
   */
  private decode(bytes: Buffer): string {
    const buf = this.partial === undefined ? bytes : Buffer.concat([this.partial, bytes]);
    this.partial = undefined;
    if (isAscii(buf)) return buf.toString('latin1');
    const whole = wholeCharacters(buf);
    if (whole < buf.length) this.partial = Buffer.from(buf.subarray(whole));
    return buf.toString('utf8', 0, whole);
  }

  private async start(): Promise<AsyncIterator<Buffer>> {
    const { handle, regular } = await openFile(this.partition);
    if (this.closed) {
      await handle.close().catch(() => undefined);
      return (async function* () {})();
    }
    this.handle = handle;
    const raw = handle.createReadStream({ highWaterMark: this.chunkBytes, autoClose: false });
    // Gzip is recognised by content, not by name: `.jsonl` files are sometimes compressed.
    const gzip = regular && (await startsWithGzipMagic(handle));
    const stream: Readable = gzip
      ? pipeline(raw, createGunzip({ chunkSize: Math.max(MIN_GUNZIP_CHUNK, this.chunkBytes) }), () => undefined)
      : raw;
    this.stream = stream;
    return stream[Symbol.asyncIterator]();
  }

  private async fail(err: unknown, batch: Envelope<Raw>[], line: number): Promise<Envelope<Raw>[] | null> {
    this.done = true;
    await this.release();
    if (this.closed) return batch.length > 0 ? batch : null;
    this.failure = unreadable(this.partition, err, `${streamCause(err)} at line ${line}`);
    // Hand over the records read before the failure; the error follows on the next read.
    if (batch.length > 0) return batch;
    throw this.failure;
  }

  private async release(): Promise<void> {
    const { stream, handle } = this;
    this.stream = undefined;
    this.handle = undefined;
    stream?.destroy();
    await handle?.close().catch(() => undefined);
  }
}

function isBlank(text: string): boolean {
  // Only lines starting with whitespace pay for the trim.
  return text.length === 0 || (text.charCodeAt(0) <= SPACE && text.trim().length === 0);
}

async function startsWithGzipMagic(handle: FileHandle): Promise<boolean> {
  const magic = Buffer.alloc(2);
  const { bytesRead } = await handle.read(magic, 0, 2, 0);
  return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
}

function streamCause(err: unknown): string {
  const code = errorCode(err);
  if (code === 'Z_BUF_ERROR') return 'truncated gzip data';
  if (code !== undefined && code.startsWith('Z_')) return 'corrupt gzip data';
  return describeFsError(err);
}

/** Length of the prefix of `buf` that ends on a character boundary. */
function wholeCharacters(buf: Buffer): number {
  let lead = buf.length - 1;
  // step back over at most 3 continuation bytes (10xxxxxx) to the lead byte
  while (lead >= 0 && buf.length - lead <= 3 && ((buf[lead] as number) & 0xc0) === 0x80) lead--;
  if (lead < 0) return buf.length;
  const byte = buf[lead] as number;
  const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return buf.length - lead >= size ? buf.length : lead;
}
