import { describe, expect, it } from 'vitest';
import { batch, END, watermark } from '../../../src/core/elements.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { validate } from '../../../src/operators/validate.js';
import { env, envs, harness, shape } from './harness.js';

const schema = {
  type: 'object',
  required: ['page', 'price'],
  properties: { page: { type: 'string' }, price: { type: 'number' } },
};

describe('validate', () => {
  it('keeps the records that match the schema', async () => {
    const h = harness();
    const out = await h.run(validate(schema), [batch(envs([{ page: '/', price: 1 }, { page: '/a', price: 2.5, extra: true }]))]);
    expect(shape(out)).toEqual([{ batch: [{ page: '/', price: 1 }, { page: '/a', price: 2.5, extra: true }] }]);
    expect(h.deadLetters).toEqual([]);
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(validate(schema), [watermark(1), batch(envs([{ page: '/', price: 1 }])), watermark(2), END]);
    expect(shape(out)).toEqual([watermark(1), { batch: [{ page: '/', price: 1 }] }, watermark(2), END]);
  });

  it('dead-letters records that fail, naming the field, and the rest go on', async () => {
    const h = harness();
    const out = await h.run(validate(schema), [
      batch<unknown>([
        env({ page: '/', price: 1 }, 1),
        env({ page: '/b', price: '9.50' }, 2, { raw: '{"page":"/b","price":"9.50"}' }),
        env({ price: 3 }, 3),
        env({ page: '/c', price: 4 }, 4),
      ]),
    ]);
    expect(shape(out)).toEqual([{ batch: [{ page: '/', price: 1 }, { page: '/c', price: 4 }] }]);
    expect(h.deadLetters).toEqual([
      {
        pipeline: 'test',
        stage: 'validate',
        code: ErrorCode.VALIDATION_FAILED,
        reason: '/price must be number',
        partition: 'p0',
        position: { file: 'in.jsonl', line: 2 },
        raw: '{"page":"/b","price":"9.50"}',
      },
      expect.objectContaining({ code: ErrorCode.VALIDATION_FAILED, reason: "record is missing required field 'page'", position: { file: 'in.jsonl', line: 3 } }),
    ]);
    expect(h.counters.get('dead_lettered')).toBe(2);
  });

  it('rejects an invalid schema when the pipeline is defined, not per record', () => {
    expect(() => validate({ type: 'no-such-type' })).toThrow(UserError);
    expect(() => validate({ type: 'no-such-type' })).toThrow(/invalid JSON schema/);
  });
});
