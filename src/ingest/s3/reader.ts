import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import type { S3Service } from './service.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Reads one S3 object of newline-delimited JSON (plain or gzip, recognised by its magic bytes)
 * as a partition: one envelope per non-blank line at `{ object, line }` (1-based physical lines),
 * as the file source does, so checkpoints resume after the last line they cover. The object is
 * streamed from the first `read()` on and pulled only as batches are asked for, so a reader
 * holds about one chunk and one batch whatever the object's size (Firehose: up to 128 MiB
 * compressed, several times that expanded).
 *
 * @example const reader = new S3ObjectReader(service, { bucket: 'b', key: 'p/2026/01/01/00/x.gz', batchSize: 1024 })
 * @see s3Source
 */
export class S3ObjectReader implements PartitionReader {
  readonly partition: string;
  private lines: AsyncGenerator<string, void> | undefined;
  /** The body and, for gzip, the gunzip reading it: destroyed on close or failure. */
  private readonly streams: Readable[] = [];
  /** The physical line number of the last line taken from `lines`. */
  private line = 0;
  private closed = false;

  constructor(
    private readonly service: S3Service,
    private readonly options: { readonly bucket: string; readonly key: string; readonly batchSize: number; readonly afterLine?: number | undefined },
  ) {
    this.partition = `s3://${options.bucket}/${options.key}`;
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    if (this.closed) return null;
    const batch: Envelope<Raw>[] = [];
    const skip = this.options.afterLine ?? 0;
    try {
      const lines = (this.lines ??= await this.open());
      while (batch.length < this.options.batchSize) {
        const next = await lines.next();
        if (next.done === true) {
          if (this.line < skip) throw this.shrunk(skip);
          break;
        }
        const line = ++this.line;
        if (line <= skip || next.value.trim() === '') continue;
        batch.push(envelope<Raw>(next.value, this.partition, { object: this.options.key, line }, next.value));
      }
    } catch (err) {
      this.destroy();
      // closed while reading: the stream failed because we destroyed it
      if (this.closed) return null;
      if (err instanceof UserError) throw err;
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${this.partition}': ${messageOf(err).split('\n')[0] ?? ''}`, { cause: err });
    }
    return batch.length > 0 ? batch : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.destroy();
    this.lines = undefined;
  }

  private async open(): Promise<AsyncGenerator<string, void>> {
    const body = await this.service.stream(this.options.bucket, this.options.key);
    this.streams.push(body);
    // closed while the GET was under way: reading on would only fail
    if (this.closed) this.destroy();
    const { head, chunks } = await peek(body, 2);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return splitLines(chunks);
    // pipeline, not pipe: a failing body errors the gunzip we read from, and destroying the
    // gunzip ends the body's generator
    const gunzip = pipeline(Readable.from(chunks, { objectMode: false }), createGunzip(), () => undefined);
    this.streams.push(gunzip);
    return splitLines(gunzip);
  }

  private destroy(): void {
    for (const stream of this.streams) stream.destroy();
  }

  private shrunk(skip: number): UserError {
    return new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${this.partition}': the checkpoint resumes after line ${skip} but the object has ${this.line} lines; it changed since — delete the checkpoint directory to start over`);
  }
}

/**
 * The first `size` bytes of `body` (fewer if it is shorter), and all its chunks again from the
 * start: the bytes looked at may arrive split across chunks, and must not be lost.
 */
async function peek(body: Readable, size: number): Promise<{ head: Buffer; chunks: AsyncGenerator<Buffer, void> }> {
  const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer, void>;
  const taken: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < size && !ended) {
    const next = await source.next();
    if (next.done === true) ended = true;
    else {
      taken.push(next.value);
      length += next.value.length;
    }
  }
  async function* chunks(): AsyncGenerator<Buffer, void> {
    yield* taken.splice(0);
    while (!ended) {
      const next = await source.next();
      if (next.done === true) ended = true;
      else yield next.value;
    }
  }
  return { head: Buffer.concat(taken).subarray(0, size), chunks: chunks() };
}

/**
 * Physical lines of `chunks` split at `\n`, a trailing `\r` dropped, the text after the last
 * `\n` a line unless empty (as `split('\n')` then dropping a final empty string). Splits bytes,
 * not text, so a character or a `\r\n` cut between chunks comes out whole.
 */
async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void> {
  let partial: Buffer[] = [];
  const text = (bytes: Buffer): string => bytes.toString('utf8', 0, bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length);
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      yield text(partial.length === 0 ? piece : Buffer.concat([...partial, piece]));
      partial = [];
      start = nl + 1;
    }
    // a copy: a long line's tail must not pin the whole chunk it came from
    if (start < chunk.length) partial.push(Buffer.from(chunk.subarray(start)));
  }
  if (partial.length > 0) yield text(Buffer.concat(partial));
}
