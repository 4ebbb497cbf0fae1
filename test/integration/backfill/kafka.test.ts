import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKafka } from '../../support/kafka.js';
import { ensureBuilt, expectOneLineError, scratch, sluice } from '../cli/cli.js';
import { BASE_TIME, eventLines, eventsIn } from '../recovery/recovery.js';
import { windowModule } from './backfill.js';

const kafka = useKafka();
let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
let topic = '';
const STEP = 2000;
const HOUR = 3_600_000;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  module = await windowModule(dir);
  topic = await kafka.createTopic({ prefix: 'backfill', partitions: 2 });
  const all = eventLines({ seed: 5, count: 5400, stepMs: STEP, keys: 10, maxDisorderMs: 4000, lateFraction: 0, lateSpreadMs: 0 }).trimEnd().split('\n');
  const producer = kafka.client().producer();
  await producer.connect();
  // record timestamps advance with the stream (event times themselves are a little out of order)
  const messages = all.map((value, i) => ({ value, key: (JSON.parse(value) as { k: string }).k, timestamp: String(BASE_TIME + i * STEP) }));
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500) });
  await producer.disconnect();
  // the same events the range [01:00, 03:00) selects: records 1800…5399
  await writeFile(join(dir, 'range.jsonl'), all.slice(HOUR / STEP).join('\n') + '\n');
}, 300_000);
afterAll(() => cleanup());

describe('sluice backfill from a Kafka time range', () => {
  const from = (): string => `kafka://${kafka.bootstrap}/${topic}`;
  const range = ['--start', new Date(BASE_TIME + HOUR).toISOString(), '--end', new Date(BASE_TIME + 3 * HOUR).toISOString()];

  it('--plan lists each partition and its offset range', async () => {
    const result = await sluice(['backfill', module, '--from', from(), ...range, '--plan']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.outLines).toHaveLength(3);
    expect(result.outLines[0]).toMatch(new RegExp(`^${topic}/0\\toffsets \\d+\\.\\.\\d+ \\(\\d+ records\\)$`));
    expect(result.outLines[2]).toMatch(/^2 partitions, 3600 records for \[/);
  });

  it('reads [start, end) and equals the file backfill of the same events', async () => {
    const out = join(dir, 'kafka.jsonl');
    const result = await sluice(['backfill', module, '--from', from(), ...range, '--sink', `file:${out}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(eventsIn(result.stderr)).toBe(3600);
    const files = await sluice(['backfill', module, '--from', `file:${join(dir, 'range.jsonl')}`, '--sink', `file:${join(dir, 'file.jsonl')}`]);
    expect(files.code, files.stderr).toBe(0);
    const diff = await sluice(['diff', join(dir, 'file.jsonl'), out]);
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.outLines[0]).toMatch(/^[1-9]\d* same, 0 missing from B, 0 extra in B, 0 different/);
  });

  it('a range with no records is a one-line error', async () => {
    const later = ['--start', new Date(BASE_TIME + 10 * HOUR).toISOString(), '--end', new Date(BASE_TIME + 11 * HOUR).toISOString()];
    expect(expectOneLineError(await sluice(['backfill', module, '--from', from(), ...later]), 1)).toMatch(/^sluice: no records in topic '.*' for \[/);
  });
});
