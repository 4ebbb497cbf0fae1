import { describe, expect, it } from 'vitest';
import { readStamp, stampEvent } from '../../../src/loadtest/stamp.js';

const line = '{"eventId":"gen-0:1","ts":"2026-11-01T00:00:00.030Z","page":"/"}';

describe('load-test stamps', () => {
  it('puts the due time and the step first and keeps the event', () => {
    const stamped = stampEvent(line, { sentAt: 1795000000123.457, step: 3 }, 0);
    expect(stamped.startsWith('{"sentAt":1795000000123.457,"step":3,"eventId"')).toBe(true);
    expect(JSON.parse(stamped)).toMatchObject({ sentAt: 1795000000123.457, step: 3, eventId: 'gen-0:1', page: '/' });
  });

  it('pads to exactly the record size, and leaves longer events alone', () => {
    const padded = stampEvent(line, { sentAt: 1, step: 0 }, 300);
    expect(Buffer.byteLength(padded)).toBe(300);
    expect(JSON.parse(padded).pad).toMatch(/^x+$/);
    const long = stampEvent(line, { sentAt: 1, step: 0 }, 20);
    expect(JSON.parse(long).pad).toBeUndefined();
  });

  it('reads the stamp from bytes and from text, and nothing from other records', () => {
    const stamped = stampEvent(line, { sentAt: 1795000000123.5, step: 12 }, 0);
    expect(readStamp(Buffer.from(stamped))).toEqual({ sentAt: 1795000000123.5, step: 12 });
    expect(readStamp(stamped)).toEqual({ sentAt: 1795000000123.5, step: 12 });
    // a view into a larger buffer, as a Kafka fetch hands records over
    const big = Buffer.concat([Buffer.from('garbage'), Buffer.from(stamped)]);
    expect(readStamp(big.subarray(7))).toEqual({ sentAt: 1795000000123.5, step: 12 });
    expect(readStamp(Buffer.from(line))).toBeNull();
    expect(readStamp('{"sentAt":"soon","step":1}')).toBeNull();
  });
});
