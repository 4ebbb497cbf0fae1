import { gunzipSync } from 'node:zlib';
import type { PartitionReader } from '../../core/connectors.js';
import { envelope, type Envelope, type Raw } from '../../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import type { S3Service } from './service.js';

/**
 * Reads one S3 object of newline-delimited JSON (plain or gzip, recognised by its magic bytes)
 * as a partition: one envelope per non-blank line at `{ object, line }` (1-based physical lines),
 * as the file source does, so checkpoints resume after the last line they cover. The object is
 * fetched on the first `read()`; Firehose objects are at most 128 MiB, so it is held whole.
 *
 * @example const reader = new S3ObjectReader(service, { bucket: 'b', key: 'p/2026/01/01/00/x.gz', batchSize: 1024 })
 * @see s3Source
 */
export class S3ObjectReader implements PartitionReader {
  readonly partition: string;
  private lines: string[] | undefined;
  private next = 0;
  private closed = false;

  constructor(
    private readonly service: S3Service,
    private readonly options: { readonly bucket: string; readonly key: string; readonly batchSize: number; readonly afterLine?: number | undefined },
  ) {
    this.partition = `s3://${options.bucket}/${options.key}`;
  }

  async read(): Promise<Envelope<Raw>[] | null> {
    if (this.closed) return null;
    const lines = (this.lines ??= await this.fetch());
    const batch: Envelope<Raw>[] = [];
    while (batch.length < this.options.batchSize && this.next < lines.length) {
      const line = ++this.next;
      let text = lines[line - 1] as string;
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() === '') continue;
      batch.push(envelope<Raw>(text, this.partition, { object: this.options.key, line }, text));
    }
    return batch.length > 0 ? batch : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lines = undefined;
  }

  private async fetch(): Promise<string[]> {
    let bytes: Buffer;
    try {
      bytes = await this.service.get(this.options.bucket, this.options.key);
      if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    } catch (err) {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${this.partition}': ${messageOf(err).split('\n')[0] ?? ''}`, { cause: err });
    }
    const lines = bytes.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const skip = this.options.afterLine ?? 0;
    if (skip > lines.length) {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${this.partition}': the checkpoint resumes after line ${skip} but the object has ${lines.length} lines; it changed since — delete the checkpoint directory to start over`);
    }
    this.next = skip;
    return lines;
  }
}
