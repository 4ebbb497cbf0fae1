import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, readJsonl, scratch, sluice } from './cli.js';

// `sluice dlq replay` over a dead-letter file a run wrote: the rejected records come back, byte
// for byte, selected by stage or code.

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const lines = [
  '{"k":"a","t":1000,"v":1}',
  '{"k":"a", not json',
  '{"t":2000,"v":2}',
  '{"k":"b","t":"soon","v":3}',
  '{"k":"b","t":3000,"v":"4"}',
  '{"k":"b","t":4000,"v":5}',
];

async function deadLetters(name: string): Promise<string> {
  const input = join(dir, `${name}.jsonl`);
  await writeFile(input, lines.join('\n') + '\n');
  const dead = join(dir, `${name}.dead.jsonl`);
  const run = await sluice(['aggregate', '--source', `file:${input}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'sum:v', '--dead-letter', `file:${dead}`]);
  expect(run.code, run.stderr).toBe(0);
  expect(await readJsonl(dead)).toHaveLength(4);
  return dead;
}

describe('sluice dlq replay', () => {
  it('writes the original bytes of every dead-lettered record, in order', async () => {
    const dead = await deadLetters('all');
    const out = join(dir, 'all.replayed.jsonl');
    const result = await sluice(['dlq', 'replay', '--from', dead, '--to', `file:${out}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines).toEqual([expect.stringMatching(new RegExp(`^sluice dlq replay: 4 of 4 records from .*all\\.dead\\.jsonl to file:.* in \\d+\\.\\d s$`))]);
    // in the dead-letter file's order (stages reject at different moments of a batch)
    const entries = await readJsonl<{ raw: string }>(dead);
    expect(entries.map((e) => e.raw).sort()).toEqual([lines[1], lines[2], lines[3], lines[4]].sort());
    expect(await readFile(out, 'utf8')).toBe(entries.map((e) => `${e.raw}\n`).join(''));
  });

  it('selects entries by stage and by code, and says how many it left out', async () => {
    const dead = await deadLetters('some');
    const byStage = join(dir, 'some.stage.jsonl');
    const stage = await sluice(['dlq', 'replay', '--from', dead, '--to', `file:${byStage}`, '--stage', 'parse-json,key-by']);
    expect(stage.code, stage.stderr).toBe(0);
    expect(stage.errLines[0]).toMatch(/: 2 of 4 records .*; 2 left out by --stage\/--code$/);
    expect((await readFile(byStage, 'utf8')).split('\n').filter(Boolean).sort()).toEqual([lines[1], lines[2]].sort());
    const byCode = join(dir, 'some.code.jsonl');
    const code = await sluice(['dlq', 'replay', '--from', dead, '--to', `file:${byCode}`, '--code', 'BAD_TIME']);
    expect(code.code, code.stderr).toBe(0);
    expect(await readFile(byCode, 'utf8')).toBe(`${lines[3]}\n`);
  });

  it('refuses a file that is not a dead-letter output, naming the line, and writes nothing', async () => {
    const bogus = join(dir, 'bogus.jsonl');
    await writeFile(bogus, '{"stage":"parse-json","code":"PARSE_ERROR","reason":"x","partition":"p","position":{"line":1},"raw":"x"}\n{"hello":1}\n');
    const out = join(dir, 'bogus.out');
    const line = expectOneLineError(await sluice(['dlq', 'replay', '--from', bogus, '--to', `file:${out}`]), 1);
    expect(line).toMatch(/bogus\.jsonl' line 2 is not a dead-letter entry: 'stage' is missing/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it('will not overwrite a file, and names what --to takes', async () => {
    const dead = await deadLetters('exists');
    const out = join(dir, 'exists.out');
    await writeFile(out, 'keep me\n');
    const line = expectOneLineError(await sluice(['dlq', 'replay', '--from', dead, '--to', `file:${out}`]), 1);
    expect(line).toMatch(/cannot write '.*exists\.out'/);
    expect(await readFile(out, 'utf8')).toBe('keep me\n');
    expect(expectOneLineError(await sluice(['dlq', 'replay', '--from', dead, '--to', 's3://bucket/x']), 2)).toMatch(/--to 's3:\/\/bucket\/x': write kafka:\/\/BROKERS\/TOPIC or file:PATH/);
  });
});
