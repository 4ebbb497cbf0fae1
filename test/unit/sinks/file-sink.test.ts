import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { fileSink, openFileSink } from '../../../src/sinks/file/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sink-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const unwritable = (message: string) => new UserError(ErrorCode.UNWRITABLE_OUTPUT, message);

describe('file sink', () => {
  it('writes JSON Lines, creating parent directories', async () => {
    const path = join(dir, 'out', 'deep', 'results.jsonl');
    const sink = await openFileSink({ path });
    expect(sink.description).toBe(`file:${path}`);
    await sink.write([{ a: 1 }, { b: 'é' }]);
    await sink.write([]);
    await sink.write([2]);
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe('{"a":1}\n{"b":"é"}\n2\n');
  });

  it('has the bytes in the file as soon as write resolves, before close', async () => {
    const path = join(dir, 'live.jsonl');
    const sink = fileSink({ path });
    await sink.write([{ n: 1 }]);
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n');
    await sink.close();
  });

  it('truncates an existing file by default, as soon as it is opened', async () => {
    const path = join(dir, 'out.jsonl');
    await writeFile(path, 'old\nold\n');
    const sink = await openFileSink({ path });
    expect(await readFile(path, 'utf8')).toBe('');
    await sink.write([{ fresh: true }]);
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe('{"fresh":true}\n');
  });

  it('appends when asked', async () => {
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '"old"\n');
    const sink = await openFileSink({ path, append: true });
    await sink.write(['new']);
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe('"old"\n"new"\n');
  });

  it('waits for drain on large writes and keeps their order', async () => {
    const path = join(dir, 'big.jsonl');
    const sink = fileSink({ path });
    const records = Array.from({ length: 50_000 }, (_, i) => ({ i, pad: 'x'.repeat(20) }));
    await sink.write(records.slice(0, 25_000));
    await sink.write(records.slice(25_000));
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(50_000);
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(records.map((r) => r.i));
  });

  it('lazy sink: touches nothing until the first write', async () => {
    const path = join(dir, 'never.jsonl');
    const sink = fileSink({ path });
    await sink.close();
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('close is idempotent, and writing after close is a programming error', async () => {
    const sink = await openFileSink({ path: join(dir, 'c.jsonl') });
    await sink.close();
    await sink.close();
    await expect(sink.write([1])).rejects.toThrow(/is closed/);
  });

  it('fails at open when the path is a directory', async () => {
    await expect(openFileSink({ path: dir })).rejects.toThrow(unwritable(`cannot write '${dir}': is a directory`));
  });

  it('fails at open when a parent is a file', async () => {
    const file = join(dir, 'file');
    await writeFile(file, '');
    const path = join(file, 'out.jsonl');
    await expect(openFileSink({ path })).rejects.toThrow(unwritable(`cannot write '${path}': a parent is not a directory`));
  });

  it('lazy sink: the first write rejects with the open error, and so does close-free reuse', async () => {
    const sink = fileSink({ path: dir });
    await expect(sink.write([1])).rejects.toThrow(unwritable(`cannot write '${dir}': is a directory`));
    await expect(sink.write([1])).rejects.toMatchObject({ code: ErrorCode.UNWRITABLE_OUTPUT });
    await sink.close();
  });

  it('rejects an empty path', () => {
    expect(() => fileSink({ path: '' })).toThrow(UserError);
  });
});
