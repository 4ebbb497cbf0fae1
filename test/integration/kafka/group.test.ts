import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKafka } from '../../support/kafka.js';
import { ensureBuilt, sluice } from '../cli/cli.js';
import type { Running } from '../recovery/recovery.js';
import { expectOneContentPerId, resultLines, waitFor } from '../recovery/results.js';
import { useCliRuns } from './cli-runs.js';

// Two `sluice` processes in one consumer group on a real broker, sharing a checkpoint directory:
// partitions (and their window state) move between them on rebalances and when one dies.

const kafka = useKafka();
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-group-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const start = useCliRuns();

const PARTITIONS = 4;
const PER_PARTITION = 4000;
const AGG = ['--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v,p50:v', '--max-out-of-orderness', '3s'];
const SENTINEL = (p: number): string => JSON.stringify({ k: `zz-end-${p}`, t: 9_000_000_000_000, v: p });

/** Events of one partition; every key lives in one partition (the topic is keyed by it). */
function partitionEvents(p: number, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(JSON.stringify({ k: `k${p}.${(i * 5) % 13}`, t: 1_800_000_000_000 + i * 40 - ((i * 11) % 7) * 300 + p, v: (i * 31) % 101 }));
  return out;
}

/** The results of one process reading the same events from one file per partition. */
async function reference(byPartition: readonly (readonly string[])[], name: string): Promise<string[]> {
  for (const [p, values] of byPartition.entries()) await writeFile(join(dir, `${name}-${p}.jsonl`), values.join('\n') + '\n');
  const out = join(dir, `${name}.ref.jsonl`);
  const result = await sluice(['aggregate', '--source', `file:${join(dir, `${name}-*.jsonl`)}`, '--sink', `file:${out}`, ...AGG]);
  expect(result.code, result.stderr).toBe(0);
  return await resultLines(out);
}



async function committed(topic: string, group: string): Promise<number[]> {
  const admin = kafka.client().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (offsets?.partitions ?? []).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

/** Who holds each partition's lease in the shared checkpoint directory (`host:pid:…`). */
async function leaseOwners(ck: string): Promise<string[]> {
  const home = join(ck, 'aggregate', 'partitions');
  if (!existsSync(home)) return [];
  const owners: string[] = [];
  for (const name of (await readdir(home)).filter((n) => n.endsWith('.json'))) {
    const entry = JSON.parse(await readFile(join(home, name), 'utf8')) as { data: { shared: { lease: { owner: string } } } };
    owners.push(entry.data.shared.lease.owner);
  }
  return owners;
}

const ownedBy = (owners: readonly string[], run: Running): number => owners.filter((o) => o.split(':')[1] === String(run.child.pid)).length;


function workerArgs(topic: string, group: string, ck: string, out: string, interval: string): string[] {
  return [
    'aggregate',
    '--source',
    // a killed member holds its partitions until its session times out: keep that short
    `kafka://${kafka.bootstrap}/${topic}?group=${group}&session-timeout=6s`,
    '--sink',
    `file:${out}`,
    '--checkpoint',
    `file:${ck}`,
    '--checkpoint-interval',
    interval,
    ...AGG,
  ];
}

/**
 * A test's set-up: a topic, its events in two halves (the second ends with the sentinels), what
 * one process makes of all of them, and the test's checkpoint directory and two workers' outputs.
 */
async function twoWorkers(name: string) {
  const topic = await kafka.createTopic({ partitions: PARTITIONS });
  const half = PER_PARTITION / 2;
  const first = Array.from({ length: PARTITIONS }, (_, p) => partitionEvents(p, 0, half));
  const rest = Array.from({ length: PARTITIONS }, (_, p) => [...partitionEvents(p, half, PER_PARTITION), SENTINEL(p)]);
  const expected = await reference(
    first.map((values, p) => [...values, ...(rest[p] ?? [])]),
    name,
  );
  return { topic, first, rest, expected, ck: join(dir, `${name}.ck`), outA: join(dir, `${name}.a.jsonl`), outB: join(dir, `${name}.b.jsonl`) };
}

describe('two workers in one consumer group', () => {
  it('share the partitions and together give exactly the single-process results', async () => {
    const { topic, first, rest, expected, ck, outA, outB } = await twoWorkers('share');

    await kafka.produce(topic, first);
    const a = start(workerArgs(topic, 'g-share', ck, outA, '300ms'));
    await waitFor(async () => (await leaseOwners(ck)).length === PARTITIONS, 'the first worker to claim every partition', [a]);
    // the second worker joins mid-stream: the group rebalances, half the partitions (and their
    // open windows) move to it
    const b = start(workerArgs(topic, 'g-share', ck, outB, '300ms'));
    await waitFor(async () => ownedBy(await leaseOwners(ck), b) === PARTITIONS / 2, 'the second worker to claim half the partitions', [a, b]);
    await kafka.produce(topic, rest);
    await waitFor(async () => (await committed(topic, 'g-share')).every((o) => o === PER_PARTITION + 1), 'every record committed', [a, b]);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    expect((await b.exited).code, b.stderr()).toBe(0);

    const [fromA, fromB] = [await resultLines(outA), await resultLines(outB)];
    expect(fromB.length).toBeGreaterThan(0);
    expectOneContentPerId([...fromA, ...fromB]);
    expect([...new Set([...fromA, ...fromB])].sort()).toEqual([...expected].sort());
    expect(a.stderr() + b.stderr()).not.toContain('also seen in another partition');
  });

  it('drains on a rebalance: partitions move with the state of a checkpoint taken for the handover', async () => {
    const { topic, first, rest, expected, ck, outA, outB } = await twoWorkers('drain');
    // no periodic checkpoints: only the rebalance's (and the stop's) can carry state over
    const a = start(workerArgs(topic, 'g-drain', ck, outA, '1h'));
    await waitFor(async () => (await leaseOwners(ck)).length === PARTITIONS, 'the first worker to claim every partition', [a]);
    await kafka.produce(topic, first);
    let seen = -1;
    await waitFor(
      async () => {
        const now = (await resultLines(outA)).length;
        const settled = now > 0 && now === seen;
        seen = now;
        return settled;
      },
      'the first worker to finish the first half',
      [a],
    );
    const b = start(workerArgs(topic, 'g-drain', ck, outB, '1h'));
    await waitFor(async () => ownedBy(await leaseOwners(ck), b) === PARTITIONS / 2, 'the second worker to claim half the partitions', [a, b]);
    await kafka.produce(topic, rest);
    await waitFor(async () => new Set([...(await resultLines(outA)), ...(await resultLines(outB))]).size >= expected.length, 'every result', [a, b]);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    expect((await b.exited).code, b.stderr()).toBe(0);
    expect(b.stderr()).toContain(`resumed ${PARTITIONS / 2} partitions from checkpoints`);

    const [fromA, fromB] = [await resultLines(outA), await resultLines(outB)];
    const idsA = new Set(fromA.map((line) => (JSON.parse(line) as { id: string }).id));
    // the second worker started from the first one's handover state: it emitted nothing again
    expect(fromB.filter((line) => idsA.has((JSON.parse(line) as { id: string }).id))).toEqual([]);
    expect([...fromA, ...fromB].sort()).toEqual([...expected].sort());
  });

  it('loses nothing when one worker is killed: the survivor resumes its partitions and re-emits identical results', async () => {
    const { topic, first, rest, expected, ck, outA, outB } = await twoWorkers('kill');

    const a = start(workerArgs(topic, 'g-kill', ck, outA, '300ms'));
    await waitFor(async () => (await leaseOwners(ck)).length === PARTITIONS, 'the first worker to claim every partition', [a]);
    // the victim checkpoints only when the group rebalances: everything it emits after taking
    // its partitions over is past its last checkpoint, and must be emitted again by the survivor
    const b = start(workerArgs(topic, 'g-kill', ck, outB, '1h'));
    await waitFor(async () => ownedBy(await leaseOwners(ck), b) === PARTITIONS / 2, 'the second worker to claim half the partitions', [a, b]);
    await kafka.produce(topic, first);
    await waitFor(async () => (await resultLines(outB)).length > 20, 'results from the second worker', [a, b]);
    b.child.kill('SIGKILL');
    await b.exited;
    await kafka.produce(topic, rest);
    await waitFor(async () => (await committed(topic, 'g-kill')).every((o) => o === PER_PARTITION + 1), 'every record committed by the survivor', [a]);
    a.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    expect(a.stderr()).toMatch(/resumed \d+ partitions? from checkpoints/);

    const [fromA, fromB] = [await resultLines(outA), await resultLines(outB)];
    const idsOf = (lines: readonly string[]): Set<string> => new Set(lines.map((line) => (JSON.parse(line) as { id: string }).id));
    const again = [...idsOf(fromB)].filter((id) => idsOf(fromA).has(id));
    // the survivor emitted the victim's uncheckpointed results again, byte for byte
    expect(again.length).toBeGreaterThan(0);
    expectOneContentPerId([...fromA, ...fromB]);
    expect([...new Set([...fromA, ...fromB])].sort()).toEqual([...expected].sort());
  });
});
