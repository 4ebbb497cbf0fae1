import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../../src/replay/capture-format.js';
import { textBytes, MessageEncoder } from '../../../src/replay/messages.js';
import { paceOf } from '../../../src/cli/replay.js';
import { withRecordGroup } from '../../../src/cli/record.js';

const base: CaptureRecord = { partition: 0, offset: '0', timestamp: 1, key: null, headers: {}, value: 'v' };

describe('MessageEncoder', () => {
  it('leaves keyed records to the key hash, with their headers and value bytes', () => {
    const message = new MessageEncoder(3).message({ ...base, partition: 2, key: 'user-7', headers: { a: 'b', bin: 'base64:AP8=' }, value: { base64: '/w==' } });
    expect(message).toEqual({ key: Buffer.from('user-7'), value: Buffer.of(0xff), headers: { a: Buffer.from('b'), bin: Buffer.of(0, 0xff) } });
    expect(message.partition).toBeUndefined();
  });

  it('writes tombstones as null values', () => {
    expect(new MessageEncoder(1).message({ ...base, key: 'k', value: null }).value).toBeNull();
  });

  it('keeps the captured partition number of keyless records when the topic has it, else wraps', () => {
    const encoder = new MessageEncoder(3);
    expect([0, 1, 2, 3, 7].map((p) => encoder.message({ ...base, partition: p }).partition)).toEqual([0, 1, 2, 0, 1]);
  });

  it('numbers named partitions in order of first appearance, stably', () => {
    const encoder = new MessageEncoder(2);
    const order = ['gen-2', 'gen-0', 'gen-2', 'gen-1', 'gen-0'].map((p) => encoder.keylessPartition(p));
    expect(order).toEqual([0, 1, 0, 0, 1]);
  });

  it('decodes base64: text (keys and headers that are not text) and keeps other text as UTF-8', () => {
    expect(textBytes('base64:AP8=')).toEqual(Buffer.of(0x00, 0xff));
    expect(textBytes('ключ')).toEqual(Buffer.from('ключ', 'utf8'));
    expect(textBytes('base64:not base64!')).toEqual(Buffer.from('base64:not base64!'));
  });
});

describe('record and replay flags', () => {
  it('--speed: 1 by default, 0 and max as fast as possible; --rate instead; not both', () => {
    expect(paceOf({})).toEqual({ kind: 'speed', factor: 1 });
    expect(paceOf({ speed: '2.5' })).toEqual({ kind: 'speed', factor: 2.5 });
    expect(paceOf({ speed: '0' })).toEqual({ kind: 'max' });
    expect(paceOf({ speed: 'max' })).toEqual({ kind: 'max' });
    expect(paceOf({ rate: '500' })).toEqual({ kind: 'rate', perSecond: 500 });
    expect(() => paceOf({ speed: '2', rate: '5' })).toThrow(/exclude each other/);
    expect(() => paceOf({ speed: '-1' })).toThrow(/--speed must be/);
    expect(() => paceOf({ rate: '0' })).toThrow(/--rate must be/);
  });

  it('gives a Kafka source without a group a throwaway one, and keeps a given group', () => {
    expect(withRecordGroup('kafka://b:9092/t')).toMatch(/^kafka:\/\/b:9092\/t\?group=sluice-record-[0-9a-f]{8}$/);
    expect(withRecordGroup('kafka://b:9092/t?start=latest')).toMatch(/\?start=latest&group=sluice-record-/);
    expect(withRecordGroup('kafka://b:9092/t')).not.toBe(withRecordGroup('kafka://b:9092/t'));
    expect(withRecordGroup('kafka://b:9092/t?group=mine')).toBe('kafka://b:9092/t?group=mine');
    expect(withRecordGroup('file:x.jsonl')).toBe('file:x.jsonl');
  });
});
