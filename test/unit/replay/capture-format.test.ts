import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envelope, type Raw } from '../../../src/core/envelope.js';
import { UserError } from '../../../src/core/errors.js';
import { checkCapture, openCaptureWriter, readCapture } from '../../../src/replay/capture-file.js';
import { captureRecordOf, captureValue, decodeCaptureLine, encodeCaptureLine, valueBytes, type CaptureRecord } from '../../../src/replay/capture-format.js';

const kafkaRecord: CaptureRecord = {
  partition: 2,
  offset: '9007199254740993',
  timestamp: 1_793_536_140_123,
  key: 'user-7',
  headers: { trace: 'a1', 'content-type': 'application/json' },
  value: '{"page":"/","note":"naïve ✓"}',
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-capture-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = [];
  for await (const record of readCapture(path)) out.push(record);
  return out;
}

describe('capture records', () => {
  it('takes partition and offset from a Kafka position, and key, headers and timestamp from meta', () => {
    const env = envelope<Raw>(Buffer.from(kafkaRecord.value as string), 'clicks-2', { partition: 2, offset: '9007199254740993' }, undefined, {
      key: 'user-7',
      headers: kafkaRecord.headers,
      timestamp: kafkaRecord.timestamp as number,
    });
    expect(captureRecordOf(env)).toEqual(kafkaRecord);
  });

  it('uses the partition id and the file line or generator seq for sources without meta', () => {
    expect(captureRecordOf(envelope<Raw>('{"a":1}', 'logs/a.jsonl', { file: 'logs/a.jsonl', line: 17 }))).toEqual({
      partition: 'logs/a.jsonl',
      offset: 17,
      timestamp: null,
      key: null,
      headers: {},
      value: '{"a":1}',
    });
    expect(captureRecordOf(envelope<Raw>('{}', 'gen-1', { seq: 42, state: '{…}' }))).toMatchObject({ partition: 'gen-1', offset: 42 });
  });

  it('writes fields in the documented order and reads back what it wrote', () => {
    const line = encodeCaptureLine(kafkaRecord);
    expect(line.endsWith('\n')).toBe(true);
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['partition', 'offset', 'timestamp', 'key', 'headers', 'value']);
    expect(decodeCaptureLine(line.trimEnd(), 'x line 1')).toEqual(kafkaRecord);
  });

  it('keeps UTF-8 bytes as text and other bytes as base64, byte for byte', () => {
    expect(captureValue(Buffer.from('ünïcode ✓', 'utf8'))).toBe('ünïcode ✓');
    const binary = Uint8Array.of(0x00, 0xff, 0xfe, 0x80, 0x41, 0xc3);
    const value = captureValue(binary);
    expect(value).toEqual({ base64: Buffer.from(binary).toString('base64') });
    const decoded = decodeCaptureLine(encodeCaptureLine({ ...kafkaRecord, value }).trimEnd(), 'x');
    expect(valueBytes(decoded.value)).toEqual(Buffer.from(binary));
    // a view into a larger buffer encodes only its own bytes
    const view = Uint8Array.of(0x78, 0x78, 0xff, 0x79).subarray(2, 3);
    expect(captureValue(view)).toEqual({ base64: '/w==' });
    expect(captureValue(undefined)).toBeNull();
    expect(valueBytes(null)).toBeNull();
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1]', 'not a JSON object'],
    ['{"partition":-1,"offset":1,"timestamp":null,"key":null,"headers":{},"value":"x"}', 'partition'],
    ['{"partition":0,"offset":1,"timestamp":"now","key":null,"headers":{},"value":"x"}', 'timestamp'],
    ['{"partition":0,"offset":1,"timestamp":null,"key":5,"headers":{},"value":"x"}', 'key'],
    ['{"partition":0,"offset":1,"timestamp":null,"key":null,"headers":{"a":1},"value":"x"}', 'headers'],
    ['{"partition":0,"offset":1,"timestamp":null,"key":null,"headers":{},"value":{"base64":"%%"}}', 'value'],
    ['{"partition":0,"offset":1,"timestamp":null,"key":null,"headers":{},"value":7}', 'value'],
  ])('refuses %s, naming the line', (line, field) => {
    const decode = (): CaptureRecord => decodeCaptureLine(line, "'c.jsonl' line 3");
    expect(decode).toThrow(UserError);
    expect(decode).toThrow(new RegExp(`^'c\\.jsonl' line 3 is not a capture record .*${field}`));
  });
});

describe('capture files', () => {
  const records: CaptureRecord[] = Array.from({ length: 5000 }, (_, i) => ({
    ...kafkaRecord,
    partition: i % 3,
    offset: String(i),
    key: i % 7 === 0 ? null : `k${i % 11}`,
    value: i % 5 === 0 ? { base64: Buffer.from([i & 0xff, 0xff]).toString('base64') } : `{"n":${i}}`,
  }));

  it.each(['capture.jsonl', 'capture.jsonl.gz'])('round-trips %s (gzip by name when writing, by content when reading)', async (name) => {
    const path = join(dir, 'nested', name);
    const out = await openCaptureWriter(path);
    // many small writes: the writer must wait for the stream to drain, not drop or reorder
    for (const record of records) await out.write(encodeCaptureLine(record));
    await out.close();
    await out.close();
    const bytes = await readFile(path);
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
    expect(gzip).toBe(name.endsWith('.gz'));
    // a complete file: gunzip checks the trailer and fails on a truncated stream
    const text = gzip ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    expect(text.split('\n')).toHaveLength(records.length + 1);
    expect(await collect(path)).toEqual(records);
    expect(await checkCapture(path)).toBe(records.length);
  });

  it('refuses a file it cannot create, naming it', async () => {
    await writeFile(join(dir, 'file'), '');
    await expect(openCaptureWriter(join(dir, 'file', 'c.jsonl'))).rejects.toThrow(/^cannot write '.*file\/c\.jsonl': /);
  });

  it('names a missing file and the first bad line of a corrupt one', async () => {
    await expect(checkCapture(join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read '.*missing\.jsonl': no such file/);
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, encodeCaptureLine(kafkaRecord) + '\n' + '{"partition":0}\n');
    await expect(checkCapture(path)).rejects.toThrow(/bad\.jsonl' line 3 is not a capture record/);
  });
});
