import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKafka } from '../../support/kafka.js';
import { ensureBuilt, sluice } from '../cli/cli.js';
import { sleep, type Running } from '../recovery/recovery.js';
import { useCliRuns } from './cli-runs.js';

// The Kafka source on a real broker: a consumer group whose partitions are pipelines, resuming
// from checkpoints, committing only checkpointed offsets.

const kafka = useKafka();
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-source-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const start = useCliRuns();

const PARTITIONS = 3;
const PER_PARTITION = 3000;
/** A far-future event per partition moves every watermark past the real windows. */
const SENTINEL = (p: number): string => JSON.stringify({ k: `zz-end-${p}`, t: 9_000_000_000_000, v: p });

/**
 * Deterministic events per partition, in partition order, out of order within a few seconds.
 * Each key lives in one partition, as in a topic keyed by the window key.
 */
function partitionEvents(p: number, from = 0, to = PER_PARTITION): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(JSON.stringify({ k: `k${p}.${(i * 7) % 11}`, t: 1_800_000_000_000 + i * 50 - ((i * 13) % 5) * 400 + p, v: i % 97 }));
  return out;
}

const AGG = ['--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v', '--max-out-of-orderness', '3s'];

/** What reading the same events from one file per partition gives (the reference). */
async function fileResults(byPartition: readonly (readonly string[])[], name: string): Promise<string[]> {
  for (const [p, values] of byPartition.entries()) await writeFile(join(dir, `${name}-${p}.jsonl`), values.join('\n') + '\n');
  const out = join(dir, `${name}.ref.jsonl`);
  const result = await sluice(['aggregate', '--source', `file:${join(dir, `${name}-*.jsonl`)}`, '--sink', `file:${out}`, ...AGG]);
  expect(result.code).toBe(0);
  return withoutSentinels(await readFile(out, 'utf8'));
}

function withoutSentinels(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.includes('zz-end'))
    .sort();
}

async function resultLines(path: string): Promise<string[]> {
  return existsSync(path) ? withoutSentinels(await readFile(path, 'utf8')) : [];
}

async function waitFor(condition: () => Promise<boolean>, what: string, run?: Running): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; stderr: ${run?.stderr() ?? ''}`);
}

async function committed(topic: string, group: string): Promise<Map<number, string>> {
  const admin = kafka.client().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The offsets a consumer group's shared checkpoint store holds, by Kafka partition: one file per
 * partition, `DIR/<pipeline>/partitions/<topic>%2F<n>.json` (a claimed but never checkpointed
 * partition has none).
 */
async function checkpointedOffsets(ck: string, topic: string): Promise<Map<number, string>> {
  const home = join(ck, 'aggregate', 'partitions');
  const out = new Map<number, string>();
  if (!existsSync(home)) return out;
  for (const name of await readdir(home)) {
    if (!name.endsWith('.json')) continue;
    const saved = JSON.parse(await readFile(join(home, name), 'utf8')) as { data: { partitions: Record<string, { position: { offset: string } | null }> } };
    for (const [id, state] of Object.entries(saved.data.partitions)) {
      if (id.startsWith(`${topic}/`) && state.position !== null) out.set(Number(id.slice(topic.length + 1)), state.position.offset);
    }
  }
  return out;
}

describe('kafka source', () => {
  it('reads every partition of the group and gives the results of the same events read from files', async () => {
    const topic = await kafka.createTopic({ partitions: PARTITIONS });
    const events = Array.from({ length: PARTITIONS }, (_, p) => [...partitionEvents(p), SENTINEL(p)]);
    await kafka.produce(topic, events);
    const expected = await fileResults(events, 'all');
    const out = join(dir, 'all.kafka.jsonl');
    const run = start(['aggregate', '--source', `kafka://${kafka.bootstrap}/${topic}?group=g-all`, '--sink', `file:${out}`, ...AGG]);
    await sleep(500); // a stop before the CLI installed its signal handlers would just kill it
    await waitFor(async () => (await resultLines(out)).length >= expected.length, 'all results', run);
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(await resultLines(out)).toEqual(expected);
  });

  it('resumes from its checkpoint after a stop, and the group commits only checkpointed offsets', async () => {
    const topic = await kafka.createTopic({ partitions: PARTITIONS });
    const half = PER_PARTITION / 2;
    const first = Array.from({ length: PARTITIONS }, (_, p) => partitionEvents(p, 0, half));
    const rest = Array.from({ length: PARTITIONS }, (_, p) => [...partitionEvents(p, half), SENTINEL(p)]);
    const expected = await fileResults(
      first.map((values, p) => [...values, ...(rest[p] ?? [])]),
      'resume',
    );
    const out = join(dir, 'resume.kafka.jsonl');
    const ck = join(dir, 'resume.ck');
    const args = [
      'aggregate',
      '--source',
      `kafka://${kafka.bootstrap}/${topic}?group=g-resume`,
      '--sink',
      `file:${out}`,
      '--checkpoint',
      `file:${ck}`,
      '--checkpoint-interval',
      '500ms',
      ...AGG,
    ];

    await kafka.produce(topic, first);
    const one = start(args);
    await waitFor(async () => [...(await committed(topic, 'g-resume')).values()].every((o) => Number(o) >= half), 'the first half committed', one);
    one.child.kill('SIGTERM');
    expect((await one.exited).code).toBe(0);
    // committed = the next record after the final checkpoint's position, never beyond
    const offsets = await committed(topic, 'g-resume');
    const saved = await checkpointedOffsets(ck, topic);
    for (let p = 0; p < PARTITIONS; p++) {
      expect(offsets.get(p)).toBe(String(Number(saved.get(p)) + 1));
    }

    await kafka.produce(topic, rest);
    const two = start(args);
    await waitFor(async () => (await resultLines(out)).length >= expected.length, 'the rest', two);
    two.child.kill('SIGTERM');
    expect((await two.exited).code).toBe(0);
    expect(two.stderr()).toContain(`resumed ${PARTITIONS} partitions from checkpoints`);
    // a stop's final checkpoint covers everything written: nothing is written twice
    expect(await resultLines(out)).toEqual(expected);
  });

  it('after kill -9 mid-stream, a restart gives exactly the uninterrupted results', async () => {
    const topic = await kafka.createTopic({ partitions: PARTITIONS });
    const cut = (PER_PARTITION * 2) / 3;
    const before = Array.from({ length: PARTITIONS }, (_, p) => partitionEvents(p, 0, cut));
    const after = Array.from({ length: PARTITIONS }, (_, p) => [...partitionEvents(p, cut), SENTINEL(p)]);
    const expected = await fileResults(
      before.map((values, p) => [...values, ...(after[p] ?? [])]),
      'kill',
    );
    const out = join(dir, 'kill.kafka.jsonl');
    const ck = join(dir, 'kill.ck');
    const args = [
      'aggregate',
      '--source',
      // a killed member holds its partitions until its session times out: keep that short
      `kafka://${kafka.bootstrap}/${topic}?group=g-kill&session-timeout=6s`,
      '--sink',
      `file:${out}`,
      '--checkpoint',
      `file:${ck}`,
      '--checkpoint-interval',
      '300ms',
      ...AGG,
    ];
    await kafka.produce(topic, before);
    const one = start(args);
    await waitFor(async () => (await checkpointedOffsets(ck, topic)).size === PARTITIONS, 'a checkpoint of every partition', one);
    one.child.kill('SIGKILL');
    await one.exited;
    // the rest arrives while no worker runs; the restart must pick up exactly where it was
    await kafka.produce(topic, after);
    const two = start(args);
    await sleep(500);
    // done when every record (the sentinel too) is covered by a checkpoint the group committed
    await waitFor(async () => [...(await committed(topic, 'g-kill')).values()].every((o) => Number(o) === PER_PARTITION + 1), 'all committed after the restart', two);
    two.child.kill('SIGTERM');
    expect((await two.exited).code).toBe(0);
    expect(two.stderr()).toContain(`resumed ${PARTITIONS} partitions from checkpoints`);
    // results after the last checkpoint are emitted again, identical: the file has them twice
    const got = await resultLines(out);
    expect([...new Set(got)].sort()).toEqual(expected);
  });

  it('sends poison records to the dead-letter output with partition and offset, and goes on', async () => {
    const topic = await kafka.createTopic({ partitions: 1 });
    const good = partitionEvents(0, 0, 200);
    const values = [...good.slice(0, 100), 'not json', JSON.stringify({ k: 'a' }), JSON.stringify({ k: 'big', t: 1_800_000_000_000, pad: 'x'.repeat(3000) }), ...good.slice(100), SENTINEL(0)];
    await kafka.produce(topic, [values]);
    const out = join(dir, 'poison.jsonl');
    const dead = join(dir, 'poison.dead.jsonl');
    const run = start([
      'aggregate',
      '--source',
      `kafka://${kafka.bootstrap}/${topic}?group=g-poison`,
      '--sink',
      `file:${out}`,
      '--dead-letter',
      `file:${dead}`,
      '--max-record-size',
      '2048',
      ...AGG,
    ]);
    await waitFor(async () => existsSync(dead) && (await readFile(dead, 'utf8')).split('\n').filter(Boolean).length >= 3 && (await resultLines(out)).length > 0, 'dead letters', run);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const entries = (await readFile(dead, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { code: string; position: { partition: number; offset: string }; partition: string });
    // stages reject at different points of a batch: order by offset
    entries.sort((a, b) => Number(a.position.offset) - Number(b.position.offset));
    expect(entries.map((e) => [e.code, e.position])).toEqual([
      ['PARSE_ERROR', { partition: 0, offset: '100' }],
      ['MISSING_TIME', { partition: 0, offset: '101' }],
      ['RECORD_TOO_LARGE', { partition: 0, offset: '102' }],
    ]);
    expect(entries.every((e) => e.partition === `${topic}/0`)).toBe(true);
    // the stream went on: the good events after the poison made it into results
    const counted = (await resultLines(out)).reduce((n, line) => n + (JSON.parse(line) as { count: number }).count, 0);
    expect(counted).toBe(good.length);
  });

  it('says in one line when the broker cannot be reached or the topic does not exist', async () => {
    const unreachable = await sluice(['aggregate', '--source', 'kafka://127.0.0.1:1/t?group=g', ...AGG]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.errLines).toHaveLength(1);
    expect(unreachable.errLines[0]).toMatch(/^sluice: cannot reach Kafka at 127\.0\.0\.1:1 .*is the broker running/);
    const missing = await sluice(['aggregate', '--source', `kafka://${kafka.bootstrap}/no-such-topic?group=g`, ...AGG]);
    expect(missing.code).toBe(1);
    expect(missing.errLines).toEqual([`sluice: Kafka topic 'no-such-topic' does not exist on ${kafka.bootstrap}; create it first (Sluice does not create topics)`]);
  });
});
