import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KINESIS_START_TIMEOUT_MS, useKinesis } from '../../support/kinesis.js';
import { ensureBuilt, expectOneLineError, scratch, sluice } from '../cli/cli.js';
import { eventLines, eventsIn, sleep } from '../recovery/recovery.js';
import { windowModule } from './backfill.js';

// `sluice backfill --from kinesis://STREAM --start --end` on kinesis-local: records put in three
// phases with pauses between them (kinesis-local stamps ApproximateArrivalTimestamp to the
// millisecond, so a pause of a second leaves no doubt which side of a bound a record is on), one
// shard split in the middle of the second phase. The range of the middle phase gives exactly the
// results of the same pipeline over a file holding that phase's events, even for keys whose
// windows span the parent and a child shard.

const kinesis = useKinesis();
let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let module = '';
let stream = '';
let parent = '';
/** Arrival times between the phases: [start, end) selects exactly the middle phase. */
let start = 0;
let end = 0;
let afterLast = 0;
/** Windows (key and minute) whose events the split puts in the parent and a child. */
let spanning = 0;
/** Half the pause between phases. */
const HALF_PAUSE = 750;
const PHASE = 600;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  process.env['SLUICE_KINESIS_ENDPOINT'] = kinesis.endpoint;
  module = await windowModule(dir);
  stream = await kinesis.createStream(2);
  parent = 'shardId-000000000000';
  // event times 1 s apart, a little out of order (within the pipeline's 5 s), never late
  const all = eventLines({ seed: 11, count: 3 * PHASE, stepMs: 1000, keys: 10, maxDisorderMs: 4000, lateFraction: 0, lateSpreadMs: 0 }).trimEnd().split('\n');
  const put = (lines: readonly string[]): Promise<{ shardId: string }[]> => kinesis.putRecords(stream, lines.map((data) => ({ key: (JSON.parse(data) as { k: string }).k, data })));
  const middle = all.slice(PHASE, 2 * PHASE);
  await put(all.slice(0, PHASE));
  await sleep(HALF_PAUSE);
  start = Date.now();
  await sleep(HALF_PAUSE);
  const before = await put(middle.slice(0, PHASE / 2));
  // a split inside the range: keys of the parent go on in its two children
  const children = await kinesis.splitShard(stream, parent);
  const after = await put(middle.slice(PHASE / 2));
  // (key, minute) pairs with events in the parent and in a child: the windows the split cuts
  const minutes = (lines: readonly string[], landed: readonly { shardId: string }[], shards: readonly string[]): Set<string> =>
    new Set(lines.filter((_, i) => shards.includes(landed[i]?.shardId ?? '')).map((line) => {
      const e = JSON.parse(line) as { k: string; ts: number };
      return `${e.k}@${Math.floor(e.ts / 60_000)}`;
    }));
  const inChildren = minutes(middle.slice(PHASE / 2), after, children);
  spanning = [...minutes(middle.slice(0, PHASE / 2), before, [parent])].filter((m) => inChildren.has(m)).length;
  await sleep(HALF_PAUSE);
  end = Date.now();
  await sleep(HALF_PAUSE);
  await put(all.slice(2 * PHASE));
  await sleep(HALF_PAUSE);
  afterLast = Date.now();
  await writeFile(join(dir, 'middle.jsonl'), middle.join('\n') + '\n');
}, KINESIS_START_TIMEOUT_MS);
afterAll(async () => {
  delete process.env['SLUICE_KINESIS_ENDPOINT'];
  await cleanup();
});

describe('sluice backfill from a Kinesis time range', () => {
  const from = (): string => `kinesis://${stream}`;
  const range = (): string[] => ['--start', String(start), '--end', String(end)];

  it('--plan lists every shard with records in range, closed and open', async () => {
    const result = await sluice(['backfill', module, '--from', from(), ...range(), '--plan']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.outLines).toHaveLength(5);
    expect(result.outLines).toContain(`${stream}/${parent}\t${parent} closed`);
    expect(result.outLines.filter((line) => line.endsWith(`open, child of ${parent}`))).toHaveLength(2);
    expect(result.outLines).toContain(`${stream}/shardId-000000000001\tshardId-000000000001 open`);
    expect(result.outLines[4]).toMatch(/^4 partitions, 0 bytes for \[/);
    expect(result.stderr).toContain('ApproximateArrivalTimestamp, not event time');
  });

  it('reads the records that arrived in [start, end) and equals the file backfill of the same events', async () => {
    const out = join(dir, 'kinesis.jsonl');
    const result = await sluice(['backfill', module, '--from', from(), ...range(), '--sink', `file:${out}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(eventsIn(result.stderr)).toBe(PHASE);
    expect(spanning).toBeGreaterThan(0);
    const files = await sluice(['backfill', module, '--from', `file:${join(dir, 'middle.jsonl')}`, '--sink', `file:${join(dir, 'file.jsonl')}`]);
    expect(files.code, files.stderr).toBe(0);
    const diff = await sluice(['diff', join(dir, 'file.jsonl'), out]);
    expect(diff.code, diff.stdout).toBe(0);
    // the range sidecar holds arrival times, far from these event times: no difference may hide as an edge
    expect(diff.outLines[0]).toMatch(/^[1-9]\d* same, 0 missing from B, 0 extra in B, 0 different, 0 at range edges/);
  });

  it('a range with no records is a one-line error', async () => {
    const later = ['--start', String(afterLast), '--end', String(afterLast + 3_600_000)];
    expect(expectOneLineError(await sluice(['backfill', module, '--from', from(), ...later]), 1)).toMatch(/^sluice: no records in kinesis stream '.*' arrived in \[/);
  });
});
