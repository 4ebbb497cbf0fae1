import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileJournals } from '../../../src/checkpoint/journal.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('file journals', () => {
  it('keep answers across reopening, one file per name', async () => {
    const a = fileJournals(dir);
    const j = await a('predict-m');
    expect(await a('predict-m')).toBe(j);
    await j.record([
      ['k1', { score: 0.5 }],
      ['k2', 1],
    ]);
    await a.close();
    const again = await fileJournals(dir)('predict-m');
    expect(again.get('k1')).toEqual({ score: 0.5 });
    expect(again.get('k2')).toBe(1);
    expect(again.get('k3')).toBeUndefined();
    expect(await fileJournals(dir)('predict-other').then((o) => o.get('k1'))).toBeUndefined();
  });

  it('skip a line cut short by a kill: that answer is asked for again', async () => {
    const journals = fileJournals(dir);
    await (await journals('p')).record([['k1', 1]]);
    await journals.close();
    await appendFile(join(dir, 'p.jsonl'), '{"k":"k2","v":');
    const reopened = fileJournals(dir);
    const j = await reopened('p');
    expect(j.get('k1')).toBe(1);
    expect(j.get('k2')).toBeUndefined();
    await reopened.close();
    // the cut line was dropped when the file was rewritten on open
    expect(await readFile(join(dir, 'p.jsonl'), 'utf8')).toBe('{"k":"k1","v":1}\n');
  });

  it('forget their older half past maxEntries', async () => {
    const journals = fileJournals(dir, { maxEntries: 4 });
    const j = await journals('p');
    await j.record(['a', 'b', 'c', 'd', 'e'].map((k) => [k, k] as const));
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => j.get(k))).toEqual([undefined, undefined, undefined, 'd', 'e']);
    await journals.close();
    const reopened = fileJournals(dir, { maxEntries: 4 });
    expect((await reopened('p')).get('e')).toBe('e');
    await reopened.close();
    // the file had all five; reopening kept the newer half and rewrote it
    expect(await readFile(join(dir, 'p.jsonl'), 'utf8')).toBe('{"k":"d","v":"d"}\n{"k":"e","v":"e"}\n');
  });
});
