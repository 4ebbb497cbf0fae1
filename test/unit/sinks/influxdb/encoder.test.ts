import { describe, expect, it } from 'vitest';
import { escapeMeasurement, escapeName, fieldString, influxLineEncoder, measurementProblem, type LineOutcome } from '../../../../src/sinks/influxdb/encoder.js';

// Line protocol as InfluxDB 1.x/2.x parse it; the integration test reads the same cases back
// from a real influxd.

const RESULT = { id: 'c9c310eeac7bd0e7', key: { page: '/help' }, windowStart: 1_793_536_140_000, windowEnd: 1_793_536_200_000, revision: 0, count: 4, avg_dwellMs: 4258.75 };

function text(outcome: LineOutcome): string {
  if (!('line' in outcome)) throw new Error(`refused: ${outcome.refused}`);
  return outcome.line.text;
}

function refusal(outcome: LineOutcome): string {
  if ('line' in outcome) throw new Error(`not refused: ${outcome.line.text}`);
  return outcome.refused;
}

const encode = influxLineEncoder('page_views');

describe('influxLineEncoder', () => {
  it('writes one point: key tags, aggregates as floats, revision and windowEnd as integers, the id, windowStart in ms', () => {
    expect(text(encode(RESULT))).toBe(
      'page_views,page=/help count=4,avg_dwellMs=4258.75,revision=0i,windowEnd=1793536200000i,id="c9c310eeac7bd0e7" 1793536140000',
    );
  });

  it('writes whole numbers without the integer suffix, so a field keeps its type between revisions', () => {
    const first = text(encode({ ...RESULT, avg_dwellMs: 4 }));
    const later = text(encode({ ...RESULT, revision: 1, avg_dwellMs: 4.5 }));
    expect(first).toContain('avg_dwellMs=4,');
    expect(later).toContain('avg_dwellMs=4.5,');
    expect(later).toContain('revision=1i');
  });

  it('gives a re-fired window the same measurement, tag set and timestamp as its first firing', () => {
    const identity = (line: string): string => `${line.slice(0, line.indexOf(' '))} ${line.slice(line.lastIndexOf(' ') + 1)}`;
    expect(identity(text(encode({ ...RESULT, revision: 3, count: 9 })))).toBe(identity(text(encode(RESULT))));
  });

  it('leaves out null, undefined, NaN and infinite values, which InfluxDB cannot store', () => {
    const line = text(encode({ ...RESULT, a: null, b: undefined, c: Number.NaN, d: Infinity, e: -Infinity, f: 1 }));
    expect(line).not.toMatch(/[ ,][abcde]=/);
    expect(line).toContain(',f=1,');
  });

  it('refuses a result with no field left and no revision', () => {
    expect(refusal(encode({ windowStart: 0, key: 'k', x: Number.NaN }))).toMatch(/no field/);
  });

  it('writes strings quoted, booleans bare, objects as JSON text, large and tiny numbers in exponent form', () => {
    const line = text(encode({ id: 'x', key: 'k', windowStart: 0, revision: 0, s: 'say "hi" \\ there', b: false, o: { top: ['a', 1] }, big: 1e21, tiny: 5e-324 }));
    expect(line).toBe(String.raw`page_views,key=k s="say \"hi\" \\ there",b=false,o="{\"top\":[\"a\",1]}",big=1e+21,tiny=5e-324,revision=0i,id="x" 0`);
  });

  it('keeps newlines inside string fields, which line protocol allows there', () => {
    expect(text(encode({ key: 'k', windowStart: 0, note: 'two\nlines' }))).toContain('note="two\nlines"');
  });

  it('flattens object keys with dots, sorts tags, and writes other keys as the tag "key"', () => {
    expect(text(encode({ key: { z: 1, device: { id: 'v1', fleet: 'north' }, a: true }, windowStart: 5, revision: 0 }))).toBe(
      'page_views,a=true,device.fleet=north,device.id=v1,z=1 revision=0i 5',
    );
    expect(text(encode({ key: 42, windowStart: 5, revision: 0 }))).toBe('page_views,key=42 revision=0i 5');
    expect(text(encode({ key: ['a', 'b'], windowStart: 5, revision: 0 }))).toBe('page_views,key=["a"\\,"b"] revision=0i 5');
    expect(text(encode({ windowStart: 5, revision: 0 }))).toBe('page_views revision=0i 5');
  });

  it('leaves out key fields that are null or empty (InfluxDB has no empty tag values)', () => {
    expect(text(encode({ key: { page: '', user: null, site: 's' }, windowStart: 0, revision: 0 }))).toBe('page_views,site=s revision=0i 0');
  });

  it('tags per-partition results with their partition, and refuses a key field of that name beside it', () => {
    expect(text(encode({ key: { page: '/' }, partition: 'logs/a.jsonl', windowStart: 0, revision: 0 }))).toBe('page_views,page=/,partition=logs/a.jsonl revision=0i 0');
    expect(refusal(encode({ key: { partition: 'p' }, partition: 'logs/a.jsonl', windowStart: 0, revision: 0 }))).toMatch(/partition/);
  });

  it('refuses a key that flattens to the same tag twice', () => {
    expect(refusal(encode({ key: { 'a.b': 1, a: { b: 2 } }, windowStart: 0, revision: 0 }))).toMatch(/tag 'a\.b' twice/);
  });

  it('escapes commas, equals signs and spaces in tag keys, tag values and field keys', () => {
    const line = text(encode({ key: { 'the page': 'a=b, c' }, windowStart: 0, 'p95 dwell,ms=': 1.5 }));
    expect(line).toBe(String.raw`page_views,the\ page=a\=b\,\ c p95\ dwell\,ms\==1.5 0`);
  });

  it('keeps a backslash literal where InfluxDB reads it literally', () => {
    expect(text(encode({ key: { path: 'C:\\dir\\x' }, windowStart: 0, revision: 0 }))).toBe('page_views,path=C:\\dir\\x revision=0i 0');
  });

  it('refuses tags and field names line protocol cannot carry, saying why', () => {
    expect(refusal(encode({ key: { page: 'a\nb' }, windowStart: 0, revision: 0 }))).toMatch(/newline/);
    expect(refusal(encode({ key: { page: 'ends\\' }, windowStart: 0, revision: 0 }))).toMatch(/backslash at the end/);
    expect(refusal(encode({ key: { page: 'a\\,b' }, windowStart: 0, revision: 0 }))).toMatch(/backslash before ','/);
    expect(refusal(encode({ key: { '': 'x' }, windowStart: 0, revision: 0 }))).toMatch(/empty tag key/);
    expect(refusal(encode({ key: 'k', windowStart: 0, 'bad\\': 1 }))).toMatch(/field name/);
  });

  it('refuses results without a usable windowStart', () => {
    expect(refusal(encode({ key: 'k', revision: 0 }))).toMatch(/windowStart must be epoch milliseconds.*nothing/);
    expect(refusal(encode({ key: 'k', windowStart: '2025-01-01', revision: 0 }))).toMatch(/windowStart/);
    expect(refusal(encode({ key: 'k', windowStart: 1.5, revision: 0 }))).toMatch(/whole number/);
    expect(refusal(encode({ key: 'k', windowStart: 9_300_000_000_000, revision: 0 }))).toMatch(/outside the times InfluxDB can store/);
    expect(refusal(encode('text'))).toMatch(/not a window result/);
    expect(text(encode({ key: 'k', windowStart: -60_000, revision: 0 }))).toBe('page_views,key=k revision=0i -60000');
  });

  it('counts UTF-8 bytes of the line and its newline', () => {
    const outcome = encode({ key: { page: '/é' }, windowStart: 0, revision: 0 });
    if (!('line' in outcome)) throw new Error('refused');
    expect(outcome.line.bytes).toBe(Buffer.byteLength(outcome.line.text) + 1);
    expect(outcome.line.bytes).toBe(outcome.line.text.length + 2);
  });

  it('escapes the measurement (commas and spaces only)', () => {
    expect(text(influxLineEncoder('page views,v=2')({ key: 'k', windowStart: 0, revision: 0 }))).toBe('page\\ views\\,v=2,key=k revision=0i 0');
  });
});

describe('escaping helpers', () => {
  it('escapes names and string values as the line protocol reference says', () => {
    expect(escapeMeasurement('a b,c=d')).toBe('a\\ b\\,c=d');
    expect(escapeName('a b,c=d', 'tag key')).toBe('a\\ b\\,c\\=d');
    expect(fieldString('q"b\\')).toBe('"q\\"b\\\\"');
  });

  it('knows which measurements cannot be written', () => {
    expect(measurementProblem('page_views')).toBeUndefined();
    expect(measurementProblem('')).toMatch(/empty/);
    expect(measurementProblem('#x')).toMatch(/comment/);
    expect(measurementProblem('a\nb')).toMatch(/newline/);
    expect(measurementProblem('a\\b')).toMatch(/backslash/);
  });
});
