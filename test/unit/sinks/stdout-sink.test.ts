import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { stderrSink, stdoutSink } from '../../../src/sinks/stdout/index.js';

/** A writable that records what it is given and completes each write when told to. */
function slowStream(highWaterMark = 16) {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString('utf8'));
      pending.push(() => callback());
    },
  });
  const flush = () => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) next();
  };
  return { stream, written, flush, pending };
}

function failingStream(code: string) {
  let writes = 0;
  const stream = new Writable({
    write(_chunk, _encoding, callback) {
      writes++;
      callback(Object.assign(new Error(`write ${code}`), { code }));
    },
  });
  return { stream, writes: () => writes };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('stdout sink', () => {
  it('writes JSON Lines and resolves only once the stream has taken the bytes', async () => {
    const { stream, written, flush } = slowStream();
    const sink = stdoutSink({ stream });
    let resolved = false;
    const write = sink.write([{ a: 1 }, 'b']).then(() => (resolved = true));
    await tick();
    expect(written).toEqual(['{"a":1}\n"b"\n']);
    expect(resolved).toBe(false);
    flush();
    await write;
    expect(resolved).toBe(true);
    expect(sink.closedEarly).toBe(false);
    expect(sink.description).toBe('stdout:');
    await sink.close();
  });

  it('waits for drain when the stream is over its high-water mark', async () => {
    const { stream, flush, pending } = slowStream(4);
    const sink = stdoutSink({ stream });
    let resolved = false;
    const write = sink.write(['a long record over the mark']).then(() => (resolved = true));
    await tick();
    expect(stream.writableNeedDrain).toBe(true);
    expect(pending).toHaveLength(1);
    expect(resolved).toBe(false);
    flush();
    await write;
    expect(stream.writableNeedDrain).toBe(false);
  });

  it('stops quietly when the reader closes the pipe (EPIPE)', async () => {
    const { stream, writes } = failingStream('EPIPE');
    const sink = stdoutSink({ stream });
    await expect(sink.write([{ a: 1 }])).resolves.toBeUndefined();
    expect(sink.closedEarly).toBe(true);
    await expect(sink.write([{ a: 2 }])).resolves.toBeUndefined();
    expect(writes()).toBe(1);
    await tick();
    await sink.close();
  });

  it('treats an EPIPE error event outside a write the same way', async () => {
    const { stream } = slowStream();
    const sink = stdoutSink({ stream });
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(sink.closedEarly).toBe(true);
    await expect(sink.write(['x'])).resolves.toBeUndefined();
  });

  it('rejects with a one-line UserError for other stream errors', async () => {
    const { stream } = failingStream('ENOSPC');
    const sink = stdoutSink({ stream });
    const expected = new UserError(ErrorCode.UNWRITABLE_OUTPUT, 'cannot write to stdout: no space left on device');
    await expect(sink.write(['x'])).rejects.toThrow(expected);
    await expect(sink.write(['y'])).rejects.toThrow(expected);
    expect(sink.closedEarly).toBe(false);
  });

  it('writes nothing for an empty batch', async () => {
    const { stream, written } = slowStream();
    await stdoutSink({ stream }).write([]);
    expect(written).toEqual([]);
  });
});

describe('stderr sink', () => {
  it('writes JSON Lines to its stream and names itself', async () => {
    const { stream, written, flush } = slowStream();
    const sink = stderrSink({ stream });
    const write = sink.write([[1, 2]]);
    await tick();
    flush();
    await write;
    expect(written.join('')).toBe('[1,2]\n');
    expect(sink.description).toBe('stderr:');
  });
});
