import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/checkpoint/codec.js';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';

// Keys a naive decoder gets wrong (prototype setters, inherited names) beside arbitrary ones;
// `$number` is reserved by the format and refused on encode, so it is left out.
const key = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', 'constructor', 'toString', '', 'a.b', '$numbers')).filter((k) => k !== '$number');

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(), // NaN, ±Infinity and -0 included
    fc.integer(),
    fc.string({ unit: 'binary' }), // lone surrogates included
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
}));

const position = fc.option(fc.dictionary(key, fc.oneof(fc.string(), fc.double())), { nil: null });
const partition = fc.record({ position, ended: fc.boolean(), operators: fc.dictionary(key, value, { maxKeys: 3 }) });
const checkpoint: fc.Arbitrary<Checkpoint> = fc.record({
  pipeline: fc.string(),
  checkpointId: fc.nat(),
  createdAt: fc.string(),
  partitions: fc.dictionary(key, partition, { maxKeys: 3 }),
  shared: fc.dictionary(key, value, { maxKeys: 3 }),
});

// toEqual rather than toStrictEqual: the latter compares own `constructor` keys as if they were
// the objects' classes. Prototypes are checked in codec.test.ts.
/** What a checkpoint should decode to: the same, with -0 written as 0. */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutNegativeZero);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)]));
  }
  return v;
}

describe('checkpoint codec (property)', () => {
  it('decodes what it encodes, special numbers and odd keys included', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        expect(decodeCheckpoint(encodeCheckpoint(c), 'p')).toEqual(withoutNegativeZero(c));
      }),
      { numRuns: 500 },
    );
  });

  it('never decodes a flipped bit into different data: it refuses the file or reads the same', () => {
    fc.assert(
      fc.property(checkpoint, fc.nat(), fc.integer({ min: 0, max: 7 }), (c, at, bit) => {
        const bytes = Buffer.from(encodeCheckpoint(c), 'utf8');
        const i = at % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << bit);
        let back: Checkpoint;
        try {
          back = decodeCheckpoint(bytes.toString('utf8'), 'p');
        } catch (err) {
          expect(err).toBeInstanceOf(UserError);
          expect((err as UserError).code).toBe(ErrorCode.BAD_CHECKPOINT);
          return;
        }
        // e.g. `1e+21` → `1E+21`, or the trailing newline → another space character.
        expect(back).toEqual(withoutNegativeZero(c));
      }),
      { numRuns: 1000 },
    );
  });
});
