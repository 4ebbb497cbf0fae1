import type { Sink } from '../../core/connectors.js';
import { ErrorCode, UserError } from '../../core/errors.js';
import { describeFsError, errorCode } from '../../ingest/file/fs-errors.js';
import { encodeJsonLines } from '../jsonl/encoder.js';

/** Errors meaning the reader went away (`sluice … | head`), which is not a failure of ours. */
const READER_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/**
 * The part of a writable stream the stream sinks use; `process.stdout`, `process.stderr` and
 * any `stream.Writable` fit.
 *
 * @example const stream: SinkStream = new PassThrough()
 * @see StreamSinkOptions
 */
export type SinkStream = Pick<NodeJS.WritableStream, 'write' | 'once' | 'on'>;

/**
 * Options of {@link stdoutSink} and {@link stderrSink}.
 *
 * @example { stream: new PassThrough() }
 * @see stdoutSink
 */
export interface StreamSinkOptions {
  /** The stream to write to instead of the process's own; tests inject one. */
  readonly stream?: SinkStream | undefined;
}

/**
 * A sink over a byte stream that may be closed by its reader. Once `closedEarly` is true,
 * writes resolve without writing and the runtime should stop reading input.
 *
 * @example if (sink.closedEarly) await source.close()
 * @see stdoutSink
 */
export interface StreamSink extends Sink {
  readonly closedEarly: boolean;
}

/**
 * A sink writing JSON Lines to standard output (`--sink stdout:`). Each write resolves when its
 * bytes are handed to the OS, which is also how backpressure from a slow reader is felt. If the
 * reader closes the pipe, writes resolve quietly and `closedEarly` turns true.
 *
 * @example
 * const sink = stdoutSink();
 * await sink.write([{ page: '/', count: 3 }]);
 * if (sink.closedEarly) stopReading();
 * @see stderrSink
 * @see fileSink
 */
export function stdoutSink(options: StreamSinkOptions = {}): StreamSink {
  return new StreamSinkImpl(options.stream ?? process.stdout, 'stdout');
}

/**
 * Like {@link stdoutSink}, but writing to standard error.
 *
 * @example const sink = stderrSink()
 * @see stdoutSink
 */
export function stderrSink(options: StreamSinkOptions = {}): StreamSink {
  return new StreamSinkImpl(options.stream ?? process.stderr, 'stderr');
}

class StreamSinkImpl implements StreamSink {
  readonly description: string;
  private gone = false;
  private failure: UserError | undefined;

  constructor(
    private readonly stream: SinkStream,
    private readonly name: string,
  ) {
    this.description = `${name}:`;
    // An 'error' event without a listener would crash the process, EPIPE included.
    stream.on('error', (err: unknown) => this.note(err));
  }

  get closedEarly(): boolean {
    return this.gone;
  }

  async write(records: readonly unknown[]): Promise<void> {
    if (this.gone || records.length === 0) return;
    if (this.failure !== undefined) throw this.failure;
    const text = encodeJsonLines(records);
    const { stream } = this;
    await new Promise<void>((resolve, reject) => {
      let pending = 1;
      const settle = (): void => {
        if (--pending === 0) resolve();
      };
      const ok = stream.write(text, (err?: Error | null) => {
        if (err === undefined || err === null) settle();
        else if (this.note(err)) resolve();
        else reject(this.failure);
      });
      if (!ok && !this.gone) {
        pending++;
        stream.once('drain', settle);
      }
    });
  }

  /** Leaves the process's stream open: other code (logs, the summary) may still use it. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Records a stream error; true when it only means that the reader has gone. */
  private note(err: unknown): boolean {
    if (READER_GONE.has(errorCode(err) ?? '')) {
      this.gone = true;
      return true;
    }
    this.failure ??= new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write to ${this.name}: ${describeFsError(err)}`, { cause: err });
    return false;
  }
}
