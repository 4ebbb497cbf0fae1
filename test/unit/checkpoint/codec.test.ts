import { describe, expect, it } from 'vitest';
import { CHECKPOINT_ADVICE, decodeCheckpoint, encodeCheckpoint } from '../../../src/checkpoint/codec.js';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { canonicalJson, expectBadCheckpoint, forge, sample, sampleData, sha256 } from './helpers.js';

const SOURCE = 'ckpt/clicks/checkpoint-000000000001.json';
const decode = (text: string) => () => decodeCheckpoint(text, SOURCE);

describe('checkpoint codec: round trip', () => {
  it('gives back the checkpoint, ±Infinity and NaN included', () => {
    expect(decodeCheckpoint(encodeCheckpoint(sample(1)), SOURCE)).toEqual(sample(1));
  });

  it('writes the documented format: special numbers as $number, checksum of the canonical data', () => {
    const doc = JSON.parse(encodeCheckpoint(sample(1))) as Record<string, unknown>;
    expect(doc).toEqual({ format: 'sluice-checkpoint', version: 1, checksum: `sha256:${sha256(canonicalJson(sampleData()))}`, data: sampleData() });
    expect((doc.data as Checkpoint).shared).toEqual({ combiner: { sum: { $number: 'NaN' }, max: { $number: 'Infinity' }, min: { $number: '-Infinity' }, nested: [{ x: [1, null, true] }] } });
  });

  it('writes the same text whatever order the keys were set in', () => {
    const c = sample(1);
    const reordered: Checkpoint = { shared: c.shared, partitions: { 'in/b.jsonl': c.partitions['in/b.jsonl']!, p0: c.partitions.p0! }, createdAt: c.createdAt, checkpointId: 1, pipeline: 'clicks' };
    expect(encodeCheckpoint(reordered)).toBe(encodeCheckpoint(c));
  });

  it('reads a reformatted file with the same data (the checksum covers data, not layout)', () => {
    expect(decodeCheckpoint(JSON.stringify(JSON.parse(encodeCheckpoint(sample(1))), null, 2), SOURCE)).toEqual(sample(1));
  });

  it('writes -0 as 0', () => {
    const c: Checkpoint = { ...sample(1), shared: { x: -0 } };
    expect(Object.is(decodeCheckpoint(encodeCheckpoint(c), SOURCE).shared.x, 0)).toBe(true);
  });

  it('keeps a __proto__ key as data, not as a prototype', () => {
    const shared = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const back = decodeCheckpoint(encodeCheckpoint({ ...sample(1), shared }), SOURCE).shared;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it.each([
    ['undefined', { a: [1, undefined] }, 'shared.a[1] is undefined'],
    ['a function', { f: () => 1 }, 'shared.f is function'],
    ['a bigint', { n: 1n }, 'shared.n is bigint'],
    ['a Map', { m: new Map() }, 'shared.m is not a plain object'],
    ['a Date', { d: new Date(0) }, 'shared.d is not a plain object'],
    ['a $number key', { w: { $number: 'NaN' } }, "shared.w has a '$number' key, which the checkpoint format reserves"],
  ])('refuses to encode %s, naming where it is', (_what, shared, where) => {
    expect(() => encodeCheckpoint({ ...sample(1), shared })).toThrow(new Error(`cannot encode checkpoint: ${where}; checkpoint state must be plain data`));
  });

  it('refuses to encode a cycle', () => {
    const shared: Record<string, unknown> = {};
    shared.self = { back: shared };
    expect(() => encodeCheckpoint({ ...sample(1), shared })).toThrow('shared.self.back refers back to itself');
  });

  it('encodes the same object reached twice (only cycles are refused)', () => {
    const twice = { a: 1 };
    expect(decodeCheckpoint(encodeCheckpoint({ ...sample(1), shared: { x: twice, y: twice } }), SOURCE).shared).toEqual({ x: { a: 1 }, y: { a: 1 } });
  });
});

describe('checkpoint codec: what decode refuses', () => {
  const good = encodeCheckpoint(sample(1));

  it('ends every message with what to do', () => {
    expect(CHECKPOINT_ADVICE).toBe('; move it aside to restart from the previous checkpoint, or delete the checkpoint directory to start over');
  });

  it.each([
    ['an empty file', '', 'is corrupt: the file is empty'],
    ['a truncated file', good.slice(0, good.length / 2), 'is corrupt: not valid JSON (the file may be truncated)'],
    ['another kind of JSON', '{"format":"something-else","version":1}', "is not a Sluice checkpoint: its format is not 'sluice-checkpoint'"],
    ['a JSON array', '[]', "is not a Sluice checkpoint: its format is not 'sluice-checkpoint'"],
    ['a newer version', good.replace('"version":1', '"version":7'), 'has format version 7; this Sluice reads version 1'],
    ['a version that is not a number', good.replace('"version":1', '"version":"1"'), 'is corrupt: version must be an integer'],
    ['a changed byte', good.replace('"line":42', '"line":43'), 'is corrupt: checksum mismatch'],
    ['a changed checksum', good.replace(/sha256:[0-9a-f]/, 'sha256:g'), "is corrupt: checksum must be 'sha256:' followed by 64 lowercase hex digits"],
    ['an unknown envelope field', forge(sampleData(), { note: 'x' }), 'is corrupt: note is not a checkpoint field'],
  ])('refuses %s', async (_what, text, message) => {
    await expectBadCheckpoint(decode(text), `checkpoint '${SOURCE}' ${message}`);
  });

  it('reports the version of a newer file even though its checksum scheme may differ', async () => {
    await expectBadCheckpoint(decode(forge(sampleData(), { version: 2, checksum: 'blake3:abc' })), `checkpoint '${SOURCE}' has format version 2; this Sluice reads version 1`);
  });

  type Data = ReturnType<typeof sampleData> & { partitions: Record<string, Record<string, unknown>>; shared: Record<string, unknown> };
  const p0 = (d: Data) => d.partitions.p0!;
  it.each<[string, (d: Data) => unknown, string]>([
    ['pipeline', (d) => (d.pipeline = 5), 'pipeline must be a string'],
    ['checkpointId', (d) => (d.checkpointId = -1), 'checkpointId must be a non-negative integer'],
    ['checkpointId', (d) => (d.checkpointId = 1.5), 'checkpointId must be a non-negative integer'],
    ['checkpointId', (d) => delete d.checkpointId, 'checkpointId must be a non-negative integer'],
    ['createdAt', (d) => (d.createdAt = null), 'createdAt must be a string'],
    ['partitions', (d) => (d.partitions = [] as never), 'partitions must be an object'],
    ['a partition', (d) => (d.partitions.p0 = 'x' as never), 'partitions.p0 must be an object'],
    ['position', (d) => (p0(d).position = 'x'), 'partitions.p0.position must be an object or null'],
    ['position', (d) => (p0(d).position = [1]), 'partitions.p0.position must be an object or null'],
    ['a position field', (d) => (p0(d).position = { line: true }), 'partitions.p0.position.line must be a string or a number'],
    ['ended', (d) => delete p0(d).ended, 'partitions.p0.ended must be a boolean'],
    ['ended of a path-named partition', (d) => (d.partitions['in/b.jsonl']!.ended = 1), 'partitions["in/b.jsonl"].ended must be a boolean'],
    ['operators', (d) => (p0(d).operators = null), 'partitions.p0.operators must be an object'],
    ['shared', (d) => delete (d as Record<string, unknown>).shared, 'shared must be an object'],
    ['an unknown field', (d) => (d.extra = 1), 'extra is not a checkpoint field'],
    ['an unknown partition field', (d) => (p0(d).offset = 1), 'partitions.p0.offset is not a checkpoint field'],
    ['a $number of another value', (d) => (d.shared.x = { $number: '1e999' }), 'shared.x must be {"$number": "Infinity" | "-Infinity" | "NaN"}'],
    ['a $number with company', (d) => (d.shared.x = { $number: 'NaN', y: 1 }), 'shared.x must be {"$number": "Infinity" | "-Infinity" | "NaN"}'],
    ['a $number that is not a string', (d) => (d.shared.x = [{ $number: null }]), 'shared.x[0] must be {"$number": "Infinity" | "-Infinity" | "NaN"}'],
  ])('names an ill-typed %s by its path', async (_what, spoil, problem) => {
    const data = sampleData() as Data;
    spoil(data);
    await expectBadCheckpoint(decode(forge(data)), `checkpoint '${SOURCE}' is corrupt: ${problem}`);
  });

  it('refuses data that is not an object', async () => {
    await expectBadCheckpoint(decode(forge([1])), `checkpoint '${SOURCE}' is corrupt: data must be an object`);
  });
});
