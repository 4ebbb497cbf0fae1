/**
 * The one place that talks the MultiLangDaemon's protocol, through the `aws-kcl` package: JSON
 * lines on this process's stdin and stdout. Everything else in this process writes to stderr —
 * `process.stdout.write` itself is pointed at stderr while the protocol runs, so no stray line
 * (a library's console.log) can corrupt it.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type { KclCheckpointer, KclRecordProcessor } from './processor.js';
import type { KclRecord } from './reader.js';

/** aws-kcl's checkpointer: node-style callback, error as the daemon's exception name. */
interface AwsKclCheckpointer {
  checkpoint(sequenceNumber: string | null, callback: (err: unknown, sequenceNumber?: string) => void): void;
}

type Done = () => void;

/** The record processor shape aws-kcl calls (version 2 of its interface). */
interface AwsKclRecordProcessor {
  initialize(input: { shardId: string; sequenceNumber?: string | null; subSequenceNumber?: number | null }, done: Done): void;
  processRecords(input: { records: KclRecord[]; checkpointer: AwsKclCheckpointer }, done: Done): void;
  leaseLost(input: unknown, done: Done): void;
  shardEnded(input: { checkpointer: AwsKclCheckpointer }, done: Done): void;
  shutdownRequested(input: { checkpointer: AwsKclCheckpointer }, done: Done): void;
}

type KclProcessFactory = (processor: AwsKclRecordProcessor, input?: NodeJS.ReadableStream, output?: NodeJS.WritableStream, error?: NodeJS.WritableStream) => { run(): void };

/** Wraps aws-kcl's callback checkpointer in the narrow promise interface. */
export function promiseCheckpointer(checkpointer: AwsKclCheckpointer): KclCheckpointer {
  return {
    checkpoint: (sequenceNumber) =>
      new Promise<void>((resolve, reject) =>
        checkpointer.checkpoint(sequenceNumber ?? null, (err) => (err === undefined || err === null ? resolve() : reject(new Error(String(err))))),
      ),
  };
}

/**
 * Runs the protocol for `processor` over `input`/`output` (default: this process's stdin and
 * stdout, with `process.stdout.write` sent to stderr from now on). A callback that fails is
 * fatal: the daemon would wait for its status forever, so `fail` gets the error.
 *
 * @example startKclProtocol(source, { fail: (err) => stop(err) })
 */
export function startKclProtocol(processor: KclRecordProcessor, options: { readonly fail: (err: unknown) => void; readonly input?: NodeJS.ReadableStream; readonly output?: NodeJS.WritableStream }): void {
  const require = createRequire(import.meta.url);
  const kcl = require('aws-kcl') as KclProcessFactory;
  const input = options.input ?? process.stdin;
  const output = options.output ?? protocolStdout();
  const settle = (promise: Promise<void>, done: Done): void => {
    promise.then(done, options.fail);
  };
  const adapter: AwsKclRecordProcessor = {
    initialize: (init, done) => settle(processor.initialize(init), done),
    processRecords: (batch, done) => settle(processor.processRecords({ records: batch.records ?? [], checkpointer: promiseCheckpointer(batch.checkpointer) }), done),
    leaseLost: (_input, done) => settle(processor.leaseLost(), done),
    shardEnded: (ended, done) => settle(processor.shardEnded({ checkpointer: promiseCheckpointer(ended.checkpointer) }), done),
    shutdownRequested: (requested, done) => settle(processor.shutdownRequested({ checkpointer: promiseCheckpointer(requested.checkpointer) }), done),
  };
  input.once('end', () => processor.closed());
  input.once('close', () => processor.closed());
  kcl(adapter, input, output, process.stderr).run();
}

/**
 * A writable on file descriptor 1 for the protocol alone; `process.stdout.write` goes to stderr
 * from now on.
 */
function protocolStdout(): NodeJS.WritableStream {
  const stdout = process.stdout;
  const write = stdout.write.bind(stdout) as (chunk: string | Uint8Array, encoding?: BufferEncoding, cb?: (err?: Error | null) => void) => boolean;
  const protocol = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      write(chunk, undefined, (err) => callback(err ?? null));
    },
  });
  stdout.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void) =>
    typeof encoding === 'function' ? process.stderr.write(chunk, encoding) : process.stderr.write(chunk, encoding, cb)) as typeof stdout.write;
  return protocol;
}
