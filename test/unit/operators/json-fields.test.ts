import { describe, expect, it } from 'vitest';
import { compileProjection, type FieldProjector } from '../../../src/operators/json-fields.js';

const projector = (paths: readonly string[]): FieldProjector => {
  const p = compileProjection(paths);
  if (p === undefined) throw new Error(`no projector for ${paths.join(', ')}`);
  return p;
};

/** What the projection must equal: JSON.parse, then only the wanted top-level fields. */
function expected(text: string, names: readonly string[]): Record<string, unknown> {
  const full = JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(full, name)) out[name] = full[name];
  return out;
}

/** Checks the one promise that matters: what the scanner accepts, JSON.parse accepts, with the same fields. */
function agrees(project: FieldProjector, names: readonly string[], bytes: Buffer): 'projected' | 'handed back' {
  const got = project(bytes);
  if (got === undefined) return 'handed back';
  const text = bytes.toString('latin1');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`accepted ${JSON.stringify(text)}, which JSON.parse refuses: ${(err as Error).message}`);
  }
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), text).toBe(true);
  expect(got, text).toStrictEqual(expected(text, names));
  for (const name of names) if (Object.hasOwn(got, name)) expect(Object.is(got[name], (parsed as Record<string, unknown>)[name]) || typeof got[name] === 'object', `${name} of ${text}`).toBe(true);
  return 'projected';
}

describe('compileProjection', () => {
  it('takes the wanted top-level fields of an object, with the values JSON.parse gives', () => {
    const project = projector(['ts', 'page', 'device.id']);
    const text = '{ "ts" : 1761955200000, "page":"/a b", "x":[1,{"y":null}], "device": {"id": 7, "n": "q\\"r"}, "neg": -0 }';
    expect(project(Buffer.from(text))).toStrictEqual({ ts: 1761955200000, page: '/a b', device: { id: 7, n: 'q"r' } });
  });

  it('gives fields as JSON.parse does: escapes, exponents, -0, big and fractional numbers, literals, the last of a repeated key', () => {
    const names = ['s', 'n', 'm', 'z', 'big', 't', 'f', 'u', 'a', 'o'];
    const project = projector(names);
    const text = '{"s":"tab\\tquote\\"\\u00e9\\ud83d\\ude00","n":1.5e-3,"m":-12,"z":-0,"big":12345678901234567890,"t":true,"f":false,"u":null,"a":[1,"2",[]],"o":{},"n":2E+2}';
    expect(agrees(project, names, Buffer.from(text))).toBe('projected');
    expect(Object.is(project(Buffer.from('{"z":-0}'))?.['z'], -0)).toBe(true);
    expect(project(Buffer.from('{"n":1,"n":"two"}'))).toStrictEqual({ n: 'two' });
  });

  it('hands back whatever it does not take itself: non-ASCII, escaped keys, non-objects, deep nesting, invalid JSON', () => {
    const project = projector(['a']);
    const handedBack = [
      '{"a":"é"}',
      '{"\\u0061":1}',
      '[1,2]',
      '"a"',
      '',
      '   ',
      `{"a":${'['.repeat(100)}${']'.repeat(100)}}`,
      '{"a":1,}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":+1}',
      '{"a":1e}',
      '{"a":-}',
      '{"a":tru}',
      '{"a":"x\ny"}',
      '{"a":"\\x"}',
      '{"a":"\\u12G4"}',
      '{"a":1} x',
      '{"a":1}}',
      '{"a" 1}',
      '{a:1}',
      "{'a':1}",
      '{"a":[1 2]}',
      '{"a":{"b"}}',
      '{"a":NaN}',
      '{"a":"unterminated}',
    ];
    for (const text of handedBack) expect(project(Buffer.from(text)), text).toBeUndefined();
  });

  it('refuses to build a projection for field names it cannot match byte for byte', () => {
    expect(compileProjection(['__proto__'])).toBeUndefined();
    expect(compileProjection(['crème'])).toBeUndefined();
    expect(compileProjection(['a"b'])).toBeUndefined();
    expect(compileProjection(['a.b', 'c'])).toBeDefined();
  });

  it('never accepts a record JSON.parse refuses, and always agrees with it (random mutations of valid records)', () => {
    const names = ['ts', 'page', 'v'];
    const project = projector(names);
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pieces = ['{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\n', '\t', '0', '1', '-', '+', '.', 'e', 'E', 'true', 'false', 'null', 'u', '\\u00', 'a', 'ts', 'page', '"v"', '\u0001', '\u007f', 'x'];
    const seeds = [
      '{"ts":1761955200000,"page":"/p/1","v":[1,2.5,{"q":null}],"w":"\\"x\\""}',
      '{"page":"a","ts":-0.5e+3,"v":{"v":{"v":[]}},"page":"b"}',
      '{ "v" : true , "ts" : 0 , "other" : [ "\\u0041" , false ] }',
      '{}',
    ];
    let projected = 0;
    let handedBack = 0;
    for (let round = 0; round < 20_000; round++) {
      let text = seeds[random(seeds.length)] as string;
      const edits = 1 + random(3);
      for (let e = 0; e < edits; e++) {
        const at = random(text.length + 1);
        const kind = random(3);
        if (kind === 0) text = text.slice(0, at) + (pieces[random(pieces.length)] as string) + text.slice(at);
        else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1 + random(3));
        else text = text.slice(0, at) + (pieces[random(pieces.length)] as string) + text.slice(at + 1);
      }
      if (agrees(project, names, Buffer.from(text, 'latin1')) === 'projected') projected++;
      else handedBack++;
    }
    // both outcomes were exercised many times
    expect(projected).toBeGreaterThan(1_000);
    expect(handedBack).toBeGreaterThan(1_000);
  });
});
