import { describe, expect, it } from 'vitest';
import { encodeJsonLines } from '../../../../src/sinks/jsonl/encoder.js';
import { encodeKey, kafkaRecordEncoder, RECORD_OVERHEAD_BYTES } from '../../../../src/sinks/kafka/encoder.js';

const RESULT = { id: '0123456789abcdef0123456789abcdef', key: { page: '/é', n: 3 }, windowStart: 0, windowEnd: 60_000, revision: 0, count: 2 };

describe('kafkaRecordEncoder', () => {
  it('writes the value exactly as the file sink writes the line, without the newline', () => {
    const encoded = kafkaRecordEncoder('id')(RESULT);
    expect(encoded.value.toString('utf8') + '\n').toBe(encodeJsonLines([RESULT]));
  });

  it('keys by the result id by default and by a dotted path when asked', () => {
    expect(kafkaRecordEncoder('id')(RESULT).key?.toString()).toBe(RESULT.id);
    expect(kafkaRecordEncoder('key.page')(RESULT).key?.toString('utf8')).toBe('/é');
    expect(kafkaRecordEncoder('key.n')(RESULT).key?.toString()).toBe('3');
    expect(kafkaRecordEncoder('key')(RESULT).key?.toString('utf8')).toBe('{"page":"/é","n":3}');
  });

  it('gives records without the key field no key, rather than failing', () => {
    const encoded = kafkaRecordEncoder('key.missing')(RESULT);
    expect(encoded.key).toBeNull();
    expect(encoded.id).toBe(RESULT.id);
  });

  it('names records by their id only when it is a string', () => {
    expect(kafkaRecordEncoder('id')({ id: 7 }).id).toBeUndefined();
    expect(kafkaRecordEncoder('id')('text').id).toBeUndefined();
  });

  it('counts bytes, not characters, and the framing on top', () => {
    const encoded = kafkaRecordEncoder('key.page')(RESULT);
    const valueBytes = Buffer.byteLength(JSON.stringify(RESULT), 'utf8');
    expect(valueBytes).toBeGreaterThan(JSON.stringify(RESULT).length); // 'é' is two bytes
    expect(encoded.bytes).toBe(RECORD_OVERHEAD_BYTES + valueBytes + Buffer.byteLength('/é'));
  });

  it('writes values JSON cannot represent as null, like the file sink', () => {
    expect(kafkaRecordEncoder('id')(undefined).value.toString()).toBe('null');
  });
});

describe('encodeKey', () => {
  it('keeps strings as text and writes everything else as JSON', () => {
    expect(encodeKey('a b')?.toString()).toBe('a b');
    expect(encodeKey(false)?.toString()).toBe('false');
    expect(encodeKey(['x', 1])?.toString()).toBe('["x",1]');
    expect(encodeKey(null)).toBeNull();
    expect(encodeKey(undefined)).toBeNull();
  });
});
