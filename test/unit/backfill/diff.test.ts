import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { canonical, diffResults, finalResults, formatDiff, loadResultSet, type ResultRecord } from '../../../src/backfill/diff.js';

const r = (id: string, revision: number, count: number, windowStart = 0, windowEnd = 60_000): ResultRecord => ({ id, key: { k: id }, windowStart, windowEnd, revision, count });
const set = (...records: ResultRecord[]): Map<string, ResultRecord> => finalResults(records).results;

describe('finalResults', () => {
  it('keeps the highest revision of each id whatever the order', () => {
    const { results } = finalResults([r('a', 1, 5), r('a', 0, 3), r('a', 2, 7), r('a', 1, 5)]);
    expect(results.get('a')?.count).toBe(7);
    expect(results.size).toBe(1);
  });

  it('treats identical duplicates as one and counts conflicting ones', () => {
    expect(finalResults([r('a', 0, 3), r('a', 0, 3)]).conflicts).toBe(0);
    expect(finalResults([r('a', 0, 3), r('a', 0, 4)]).conflicts).toBe(1);
  });

  it('refuses records without an id', () => {
    expect(() => finalResults([{ revision: 0 }], 'x.jsonl')).toThrow(/x.jsonl: record 1 has no string 'id'/);
  });
});

describe('diffResults', () => {
  it('matches sets with the same final results, ignoring field order and duplicates', () => {
    const a = set(r('a', 0, 1), r('b', 0, 2), r('b', 1, 3));
    const b = set({ count: 3, revision: 1, id: 'b', key: { k: 'b' }, windowStart: 0, windowEnd: 60_000 } as ResultRecord, r('a', 0, 1), r('a', 0, 1));
    const report = diffResults(a, b);
    expect(report).toMatchObject({ matches: true, same: 2, missing: [], extra: [], different: [] });
  });

  it('reports missing, extra and different results', () => {
    const report = diffResults(set(r('a', 0, 1), r('b', 0, 2), r('c', 0, 3)), set(r('b', 0, 2), r('c', 0, 4), r('d', 0, 5)));
    expect(report.matches).toBe(false);
    expect(report.missing.map((x) => x.id)).toEqual(['a']);
    expect(report.extra.map((x) => x.id)).toEqual(['d']);
    expect(report.different.map((x) => [x.a.count, x.b.count])).toEqual([[3, 4]]);
    expect(report.same).toBe(1);
    const lines = formatDiff(report);
    expect(lines[0]).toBe('1 same, 1 missing from B, 1 extra in B, 1 different, 0 at range edges, 0 re-fired late');
    expect(lines.at(-1)).toBe('result sets differ');
    expect(lines.join('\n')).toContain('c: A {"count":3} B {"count":4}');
  });

  it('reports windows one side re-fired for late events apart, without failing', () => {
    // live: fired, then re-fired with a late event (revision 1); backfill: the event in order
    const report = diffResults(set(r('w', 0, 3), r('w', 1, 4), r('x', 0, 1)), set(r('w', 0, 4), r('x', 0, 1)));
    expect(report.matches).toBe(true);
    expect(report.late.map((d) => [d.a.revision, d.b.revision])).toEqual([[1, 0]]);
    const lines = formatDiff(report);
    expect(lines[0]).toBe('1 same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges, 1 re-fired late');
    expect(lines.join('\n')).toContain('w: A {"revision":1} B {"revision":0}');
  });

  it('reports windows outside a backfill range apart, without failing', () => {
    const inside = r('in', 0, 1, 60_000, 120_000);
    const straddling = r('edge', 0, 2, 90_000, 150_000);
    const report = diffResults(set(inside, straddling), set(inside, { ...straddling, count: 1 }), [{ start: 60_000, end: 120_000 }]);
    expect(report.matches).toBe(true);
    expect(report.edges).toEqual([{ kind: 'different', id: 'edge' }]);
    // the same difference inside the range fails
    expect(diffResults(set(inside), set({ ...inside, count: 9 }), [{ start: 60_000, end: 120_000 }]).matches).toBe(false);
  });

  it('lists a few examples of each kind and how many more there are', () => {
    const a = set(...Array.from({ length: 5 }, (_, i) => r(`m${i}`, 0, i)));
    const lines = formatDiff(diffResults(a, new Map()), { examples: 2 });
    expect(lines).toContain('  … and 3 more');
    expect(lines.filter((l) => l.startsWith('  {'))).toHaveLength(2);
  });
});

describe('loadResultSet', () => {
  it('reads plain and gzip files of a directory, with the range sidecar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-diff-'));
    try {
      await writeFile(join(dir, 'a.jsonl'), `${JSON.stringify(r('a', 0, 1))}\n\n${JSON.stringify(r('a', 1, 2))}\n`);
      await writeFile(join(dir, 'b.jsonl.gz'), gzipSync(`${JSON.stringify(r('b', 0, 3))}\n`));
      await writeFile(join(dir, 'a.jsonl.range.json'), JSON.stringify({ start: 0, end: null }));
      const loaded = await loadResultSet(dir);
      expect([...loaded.results.keys()].sort()).toEqual(['a', 'b']);
      expect(loaded.results.get('a')?.count).toBe(2);
      expect(loaded.ranges).toEqual([{ start: 0, end: null }]);
      await expect(loadResultSet(join(dir, 'nothing-*.jsonl'))).rejects.toThrow(/no files match the glob/);
      await writeFile(join(dir, 'bad.jsonl'), 'not json\n');
      await expect(loadResultSet(join(dir, 'bad.jsonl'))).rejects.toThrow(/line 1 is not JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('canonical JSON does not depend on key order', () => {
    expect(canonical({ b: 1, a: { d: 2, c: 3 } })).toBe(canonical({ a: { c: 3, d: 2 }, b: 1 }));
  });
});
