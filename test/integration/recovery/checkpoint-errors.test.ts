/**
 * Checkpoint files that cannot be used (issue 3): a corrupt file or one of an unknown format
 * version stops the run before it reads anything, with one line that names the file and the
 * problem — never a silent fresh start, which would rewrite the output from scratch.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, scratch, sluice, summaryOf, type CliResult } from '../cli/cli.js';
import { eventLines } from './recovery.js';

let dir: string;
let cleanup: () => Promise<void>;
let input: string;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  input = join(dir, 'events.jsonl');
  await writeFile(input, eventLines({ seed: 7, count: 20_000, stepMs: 50, keys: 8, maxDisorderMs: 2000, lateFraction: 0, lateSpreadMs: 0 }));
});
afterAll(() => cleanup());

/** A checkpointed aggregate whose files live under `name`. */
function paths(name: string) {
  const out = join(dir, `${name}.jsonl`);
  const checkpoints = join(dir, `${name}-checkpoints`);
  const args = [
    'aggregate',
    '--source',
    `file:${input}`,
    '--key',
    'k',
    '--time',
    'ts',
    '--window',
    'tumbling:10s',
    '--agg',
    'count,sum:v',
    '--max-out-of-orderness',
    '2s',
    '--sink',
    `file:${out}`,
    '--checkpoint',
    `file:${checkpoints}`,
    '--checkpoint-interval',
    '5000',
  ];
  return { out, checkpoints, home: join(checkpoints, 'aggregate'), args };
}

/** The newest checkpoint file of a store directory. */
async function newest(home: string): Promise<string> {
  const names = (await readdir(home)).filter((n) => /^checkpoint-\d+\.json$/.test(n)).sort();
  const last = names.at(-1);
  if (last === undefined) throw new Error(`no checkpoint in ${home}`);
  return join(home, last);
}

/** Runs once to the end (taking checkpoints), then spoils the newest checkpoint with `spoil`. */
async function spoiled(name: string, spoil: (text: string) => string) {
  const p = paths(name);
  const first = await sluice(p.args);
  expect(first.code, first.stderr).toBe(0);
  expect(summaryOf(first).eventsIn).toBe(20_000);
  const file = await newest(p.home);
  const original = await readFile(file, 'utf8');
  const bad = spoil(original);
  expect(bad).not.toBe(original);
  await writeFile(file, bad);
  return { ...p, file, original, bad, out: p.out, outBefore: await readFile(p.out), listing: await readdir(p.home) };
}

/** The run refuses, twice in a row, and leaves the output and the checkpoint directory alone. */
async function expectRefusal(s: Awaited<ReturnType<typeof spoiled>>, message: RegExp): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await sluice(s.args);
    expect(result.code, result.stderr).not.toBe(0);
    const line = expectOneLineError(result, result.code ?? -1);
    expect(line).toContain(s.file);
    expect(line).toMatch(message);
    expect(result.stdout).toBe('');
    // nothing was read or written: the output is as the good run left it, no checkpoint was added
    expect((await readFile(s.out)).equals(s.outBefore), 'the output file changed').toBe(true);
    expect(await readdir(s.home)).toEqual(s.listing);
    expect(await readFile(s.file, 'utf8')).toBe(s.bad);
  }
  // with the file put back, the run resumes: the input was already read to its end
  await writeFile(s.file, s.original);
  const resumed = await sluice(s.args);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(summaryOf(resumed).eventsIn).toBe(0);
  expect((await readFile(s.out)).equals(s.outBefore)).toBe(true);
}

/** Replaces the character at `index` with `by`. */
const replaceAt = (text: string, index: number, by: string): string => text.slice(0, index) + by + text.slice(index + 1);

describe('a checkpoint that cannot be used stops the run', () => {
  it('a flipped digit (still valid JSON): corrupt, checksum mismatch', async () => {
    const s = await spoiled('digit', (text) => {
      // a digit inside the data, e.g. of a count or a position
      const at = text.indexOf('"data":') + text.slice(text.indexOf('"data":')).search(/[1-8]/);
      return replaceAt(text, at, String(Number(text[at]) + 1));
    });
    expect(() => JSON.parse(s.bad) as unknown).not.toThrow();
    await expectRefusal(s, /is corrupt: checksum mismatch/);
  }, 60_000);

  it('a flipped bit in the JSON structure: corrupt, not valid JSON', async () => {
    const s = await spoiled('bit', (text) => {
      const at = text.indexOf('"partitions"') + '"partitions"'.length; // the ':' after it
      return replaceAt(text, at, String.fromCharCode(text.charCodeAt(at) ^ 0x01));
    });
    await expectRefusal(s, /is corrupt: not valid JSON/);
  }, 60_000);

  it('a truncated file (a torn write): corrupt', async () => {
    const s = await spoiled('torn', (text) => text.slice(0, Math.floor(text.length / 2)));
    await expectRefusal(s, /is corrupt/);
  }, 60_000);

  it('format version 7: names the version, checksum left as it was', async () => {
    const s = await spoiled('version', (text) => text.replace(/"version":\s*1\b/, '"version":7'));
    expect(s.bad).toMatch(/"version":7/);
    await expectRefusal(s, /has format version 7; this Sluice reads version 1/);
  }, 60_000);

  it('exits 1, as for any input that cannot be read (README: 2 is for a wrong command line or pipeline definition)', async () => {
    const codes: Record<string, number | null> = {};
    for (const [name, spoil] of [
      // another checksum: the data no longer matches it
      ['exit-corrupt', (text: string) => text.replace(/("checksum":"sha256:)([0-9a-f])/, (_m, prefix: string, c: string) => prefix + (c === '0' ? '1' : '0'))],
      ['exit-version', (text: string) => text.replace(/"version":\s*1\b/, '"version":7')],
    ] as const) {
      const s = await spoiled(name, spoil);
      const result: CliResult = await sluice(s.args);
      expectOneLineError(result, result.code ?? -1);
      codes[name] = result.code;
    }
    expect(codes).toEqual({ 'exit-corrupt': 1, 'exit-version': 1 });
  }, 60_000);
});
