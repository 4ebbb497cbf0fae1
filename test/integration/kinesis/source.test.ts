import { DescribeStreamSummaryCommand, ListShardsCommand, MergeShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import aggregation from 'aws-kinesis-agg';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../../src/dev/fault-proxy/index.js';
import { hashKey } from '../../../src/loadtest/hashing.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis } from '../../support/kinesis.js';
import { ensureBuilt, sluice } from '../cli/cli.js';
import { useCliRuns } from '../kafka/cli-runs.js';
import type { Running } from '../recovery/recovery.js';
import { expectOneContentPerId, resultLines, waitFor } from '../recovery/results.js';

// The native Kinesis source (`kinesis://STREAM`, no JVM) on real local peers — kinesis-local for
// the stream, dynalite for the KCL-schema lease table — run as `sluice` processes: one worker
// killed and restarted, two workers sharing shards through the lease table and one of them
// killed, a shard split mid-stream, and KPL-aggregated input with a kill between the user records
// of one aggregated record. Each time the results must be exactly those of one process reading the
// same events from files, one file per shard.

const kinesis = useKinesis();
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sluice-kinesis-source-'));
  process.env['SLUICE_KINESIS_ENDPOINT'] = kinesis.endpoint;
  process.env['SLUICE_DYNAMODB_ENDPOINT'] = kinesis.dynamodbEndpoint;
}, KINESIS_START_TIMEOUT_MS);
afterAll(async () => {
  delete process.env['SLUICE_KINESIS_ENDPOINT'];
  delete process.env['SLUICE_DYNAMODB_ENDPOINT'];
  await rm(dir, { recursive: true, force: true });
});

const start = useCliRuns();

const AGG = ['--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v', '--max-out-of-orderness', '3s'];
const KEYS = 24;
const TWO_128 = 1n << 128n;

interface Event {
  readonly k: string;
  readonly t: number;
  readonly v: number;
}

/** `count` events over KEYS keys, slightly out of order, starting at event `from`. */
function events(from: number, count: number): Event[] {
  const out: Event[] = [];
  for (let i = from; i < from + count; i++) out.push({ k: `key-${(i * 7) % KEYS}`, t: 1_800_000_000_000 + i * 25 - ((i * 11) % 5) * 200, v: (i * 31) % 101 });
  return out;
}

/** Index of the evenly split shard (of `shards`) a partition key hashes into. */
function shardIndex(key: string, shards: number): number {
  return Number(((hashKey(key) + 1n) * BigInt(shards) - 1n) / TWO_128);
}

/** One sentinel event per shard, far in the future: each shard's watermark passes every real window. */
function sentinels(shards: number): Event[] {
  const out: Event[] = [];
  for (let s = 0; s < shards; s++) {
    let n = 0;
    while (shardIndex(`zz-end-${n}`, shards) !== s) n++;
    out.push({ k: `zz-end-${n}`, t: 9_000_000_000_000, v: 0 });
  }
  return out;
}

/** What one process makes of `all`, read from one file per shard (the window key is the partition key). */
async function reference(all: readonly Event[], shards: number, name: string): Promise<string[]> {
  for (let s = 0; s < shards; s++) {
    const mine = all.filter((e) => shardIndex(e.k, shards) === s).map((e) => JSON.stringify(e));
    await writeFile(join(dir, `${name}-${s}.jsonl`), mine.join('\n') + '\n');
  }
  const out = join(dir, `${name}.ref.jsonl`);
  const result = await sluice(['aggregate', '--source', `file:${join(dir, `${name}-*.jsonl`)}`, '--sink', `file:${out}`, ...AGG]);
  expect(result.code, result.stderr).toBe(0);
  return await resultLines(out);
}

/** The single worker's leases, kept beside its `--checkpoint` (none before the first write). */
async function fileLeases(ck: string, stream: string): Promise<{ key: string; checkpoint: string; parents: string[]; subSequence: number }[]> {
  const path = join(ck, 'aggregate', `kinesis-${stream}.leases.json`);
  if (!existsSync(path)) return [];
  const leases = JSON.parse(await readFile(path, 'utf8')) as { key: string; checkpoint: string; parents: string[]; subSequence: number }[];
  return leases.length === 0 ? [{ key: '', checkpoint: 'none', parents: [], subSequence: 0 }] : leases;
}




/** The lease table's items; none before a worker created the table. */
const leasesOf = (app: string): Promise<Record<string, unknown>[]> => kinesis.leaseTable(app).catch(() => []);

const put = async (stream: string, list: readonly Event[]): Promise<void> => {
  await kinesis.putRecords(stream, list.map((e) => ({ key: e.k, data: JSON.stringify(e) })));
};

function worker(source: string, out: string, extra: readonly string[] = []): string[] {
  return ['aggregate', '--source', source, '--sink', `file:${out}`, '--checkpoint-interval', '300ms', ...extra, ...AGG];
}

async function settledCount(path: string, expected: number): Promise<boolean> {
  return new Set(await resultLines(path)).size >= expected;
}

describe('native Kinesis source', () => {
  it('one worker reads every shard; killed with -9 and restarted, it resumes from its checkpoints', async () => {
    const stream = await kinesis.createStream(2);
    const first = events(0, 3_000);
    const rest = [...events(3_000, 3_000), ...sentinels(2)];
    const expected = await reference([...first, ...rest], 2, 'one');
    const out = join(dir, 'one.jsonl');
    const ck = join(dir, 'one.ck');
    await put(stream, first);
    const a = start(worker(`kinesis://${stream}`, out, ['--checkpoint', `file:${ck}`]));
    await waitFor(async () => (await resultLines(out)).length > 20 && (await fileLeases(ck, stream)).every((l) => /^\d+$/.test(l.checkpoint)), 'first results and checkpoints', [a]);
    a.child.kill('SIGKILL');
    await a.exited;
    await put(stream, rest);
    const b = start(worker(`kinesis://${stream}`, out, ['--checkpoint', `file:${ck}`]));
    await waitFor(() => settledCount(out, expected.length), 'every result', [b]);
    b.child.kill('SIGTERM');
    const bExit = await b.exited;
    expect(bExit.code, `${JSON.stringify(bExit)} ${b.stderr()}`).toBe(0);
    expect(b.stderr()).toContain('resumed 2 partitions from checkpoints');
    const lines = await resultLines(out);
    expectOneContentPerId(lines);
    expect([...new Set(lines)].sort()).toEqual([...expected].sort());
  });

  it('two workers share the shards through the DynamoDB lease table; the survivor of a kill -9 takes its shards over', async () => {
    const stream = await kinesis.createStream(4);
    const app = `app-${stream}`;
    const first = events(0, 4_000);
    const rest = [...events(4_000, 4_000), ...sentinels(4)];
    const expected = await reference([...first, ...rest], 4, 'two');
    const [outA, outB] = [join(dir, 'two.a.jsonl'), join(dir, 'two.b.jsonl')];
    const source = `kinesis://${stream}?app=${app}&failover=3s`;
    const a = start(worker(source, outA));
    await waitFor(async () => (await leasesOf(app)).filter((l) => l['leaseOwner'] !== undefined).length === 4, 'the first worker to take all four leases', [a]);
    const b = start(worker(source, outB));
    const ownersOf = async (): Promise<Map<string, number>> => {
      const owners = new Map<string, number>();
      for (const lease of await leasesOf(app)) {
        const owner = String(lease['leaseOwner'] ?? '');
        owners.set(owner, (owners.get(owner) ?? 0) + 1);
      }
      return owners;
    };
    // the newcomer steals one lease per round until both hold their fair share
    await waitFor(async () => [...(await ownersOf()).values()].join(',') === '2,2', 'two leases each', [a, b]);
    await put(stream, first);
    await waitFor(async () => (await resultLines(outB)).length > 10, 'results from the second worker', [a, b]);
    b.child.kill('SIGKILL');
    await b.exited;
    await put(stream, rest);
    await waitFor(async () => new Set([...(await resultLines(outA)), ...(await resultLines(outB))]).size >= expected.length, 'every result', [a]);
    a.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    const all = [...(await resultLines(outA)), ...(await resultLines(outB))];
    expectOneContentPerId(all);
    expect([...new Set(all)].sort()).toEqual([...expected].sort());
    // KCL's schema: checkpoints are sequence numbers with sub-sequence numbers, leases released at the stop
    const leases = await kinesis.leaseTable(app);
    expect(leases).toHaveLength(4);
    for (const lease of leases) {
      expect(String(lease['checkpoint'])).toMatch(/^\d+$/);
      expect(typeof lease['checkpointSubSequenceNumber']).toBe('number');
      expect(lease['leaseOwner']).toBeUndefined();
    }
  });

  /**
   * One worker reads a stream of `shards` shards; after its first results `reshard` splits or
   * merges shards, and the rest of the events (with sentinels for the `after` shards there are then)
   * go to the new shards. The results must equal one process reading the same events from a file,
   * each id with one content. Returns the worker, the shards before the reshard and the leases.
   */
  async function reshardMidStream(name: string, shards: number, after: number, reshard: (stream: string, shards: readonly Shard[], run: Running) => Promise<void>) {
    const stream = await kinesis.createStream(shards);
    const first = events(0, 3_000);
    const rest = [...events(3_000, 3_000), ...sentinels(after)];
    const expected = await reference([...first, ...rest], 1, name);
    const out = join(dir, `${name}.jsonl`);
    const ck = join(dir, `${name}.ck`);
    await put(stream, first);
    const run = start(worker(`kinesis://${stream}`, out, ['--checkpoint', `file:${ck}`]));
    await waitFor(async () => (await resultLines(out)).length > 20, 'first results', [run]);
    const before = (await kinesis.kinesisClient().send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    await reshard(stream, before, run);
    await put(stream, rest);
    await waitFor(() => settledCount(out, expected.length), 'every result', [run]);
    run.child.kill('SIGTERM');
    expect((await run.exited).code, run.stderr()).toBe(0);
    const lines = await resultLines(out);
    expectOneContentPerId(lines);
    expect([...new Set(lines)].sort()).toEqual([...expected].sort());
    return { run, before, leases: await fileLeases(ck, stream) };
  }

  it('a shard split mid-stream loses nothing and keeps per-key order: children inherit the windows of their keys', async () => {
    // after the split the two children each get about half the keys
    const { run, before, leases } = await reshardMidStream('split', 1, 2, async (stream, [parent]) => {
      await kinesis.splitShard(stream, parent?.ShardId ?? '');
    });
    const parent = before[0]?.ShardId ?? '';
    expect(run.stderr()).not.toContain('also seen in another partition');
    expect(leases.find((l) => l.key === parent)?.checkpoint).toBe('SHARD_END');
    expect(leases.filter((l) => l.parents.includes(parent))).toHaveLength(2);
  });

  it('two shards merged mid-stream: the child takes both parents\' windows and loses nothing', async () => {
    const { before, leases } = await reshardMidStream('merge', 2, 1, async (stream, [left, right], run) => {
      const client = kinesis.kinesisClient();
      await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: left?.ShardId, AdjacentShardToMerge: right?.ShardId }));
      await waitFor(async () => (await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE', 'the merge', [run]);
    });
    const child = leases.find((l) => l.parents.length === 2);
    expect(child?.parents.sort()).toEqual(before.map((shard) => shard.ShardId).sort());
    expect(leases.filter((l) => l.checkpoint === 'SHARD_END')).toHaveLength(2);
  });

  it('de-aggregates KPL records; a kill between the user records of one aggregated record neither loses nor repeats any', async () => {
    const stream = await kinesis.createStream(2);
    const first = events(0, 2_000);
    const rest = [...events(2_000, 2_000), ...sentinels(2)];
    const expected = await reference([...first, ...rest], 2, 'kpl');
    // aggregate per shard so every user record lands in the shard its own key hashes to
    const putAggregated = async (list: readonly Event[]): Promise<void> => {
      for (let s = 0; s < 2; s++) {
        const mine = list.filter((e) => shardIndex(e.k, 2) === s);
        const packed = await aggregate(mine.map((e) => ({ partitionKey: e.k, data: JSON.stringify(e) })));
        await kinesis.putRecords(stream, packed.map((p) => ({ key: p.partitionKey, data: p.data })));
      }
    };
    await putAggregated(first);
    const out = join(dir, 'kpl.jsonl');
    const ck = join(dir, 'kpl.ck');
    // batches of 7 user records and a checkpoint every 40: checkpoints fall inside aggregated records
    const args = worker(`kinesis://${stream}`, out, ['--checkpoint', `file:${ck}`, '--batch-size', '7', '--checkpoint-interval', '40']);
    const a = start(args);
    await waitFor(async () => (await resultLines(out)).length > 10 && (await fileLeases(ck, stream)).some((l) => l.subSequence > 0), 'a checkpoint inside an aggregated record', [a]);
    a.child.kill('SIGKILL');
    await a.exited;
    await putAggregated(rest);
    const b = start(args);
    await waitFor(() => settledCount(out, expected.length), 'every result', [b]);
    b.child.kill('SIGTERM');
    const bExit = await b.exited;
    expect(bExit.code, `${JSON.stringify(bExit)} ${b.stderr()}`).toBe(0);
    expect(b.stderr()).toMatch(/resumed [12] partitions? from checkpoints/);
    const lines = await resultLines(out);
    expectOneContentPerId(lines);
    expect([...new Set(lines)].sort()).toEqual([...expected].sort());
  });

  it('reads the same records through enhanced fan-out (SubscribeToShard) as by polling', async () => {
    const stream = await kinesis.createStream(2);
    const all = [...events(0, 3_000), ...sentinels(2)];
    const expected = await reference(all, 2, 'efo');
    await put(stream, all);
    const [polled, pushed] = [join(dir, 'efo.poll.jsonl'), join(dir, 'efo.push.jsonl')];
    const a = start(worker(`kinesis://${stream}`, polled));
    const b = start(worker(`kinesis://${stream}?consumer=sluice-efo`, pushed));
    await waitFor(async () => (await settledCount(polled, expected.length)) && (await settledCount(pushed, expected.length)), 'every result both ways', [a, b]);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    expect((await b.exited).code, b.stderr()).toBe(0);
    expect([...new Set(await resultLines(pushed))].sort()).toEqual([...expected].sort());
    expect([...new Set(await resultLines(polled))].sort()).toEqual([...expected].sort());
  });

  it('rides out throttled GetRecords (ProvisionedThroughputExceeded), expired iterators and 5xx answers, losing nothing', async () => {
    const stream = await kinesis.createStream(2);
    const all = [...events(0, 2_000), ...sentinels(2)];
    const expected = await reference(all, 2, 'faults');
    await put(stream, all);
    const proxy = await startFaultProxy({
      target: kinesis.endpoint,
      plan: {
        match: { target: 'Kinesis_20131202.GetRecords' },
        throttleFirst: 4,
        throttleAs: { status: 400, code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' },
        errorRate: 0.2,
        seed: 3,
      },
    });
    try {
      const out = join(dir, 'faults.jsonl');
      const lateOut = join(dir, 'faults.late.jsonl');
      // events put after the sentinels are late: the late output shows when they were read
      const run = start(['aggregate', '--source', `kinesis://${stream}?endpoint=${encodeURIComponent(proxy.url)}`, '--sink', `file:${out}`, '--late', `file:${lateOut}`, ...AGG]);
      await waitFor(() => settledCount(out, expected.length), 'every result', [run]);
      // then every GetRecords call says its iterator expired, twice: the reader asks for new ones
      expect(proxy.stats().throttled).toBe(4);
      expect(proxy.stats().errors).toBeGreaterThan(0);
      proxy.setPlan({ match: { target: 'Kinesis_20131202.GetRecords' }, throttleFirst: 2, throttleAs: { status: 400, code: 'ExpiredIteratorException', message: 'Iterator expired' } });
      proxy.resetStats();
      await put(stream, events(2_000, 50));
      await waitFor(async () => (existsSync(lateOut) ? (await readFile(lateOut, 'utf8')).split('\n').filter((l) => l !== '').length : 0) === 50, 'the events put after the expired iterators', [run]);
      expect(proxy.stats().throttled).toBe(2);
      run.child.kill('SIGTERM');
      expect((await run.exited).code, run.stderr()).toBe(0);
      expect(run.stderr()).toContain('2052 events in');
      const lines = await resultLines(out);
      expectOneContentPerId(lines);
      expect([...new Set(lines)].filter((line) => expected.includes(line)).sort()).toEqual([...expected].sort());
    } finally {
      await proxy.stop();
    }
  });

  it('records a stream with sluice record: partition keys, arrival times, shards and sequence numbers', async () => {
    const stream = await kinesis.createStream(2);
    const all = events(0, 300);
    const landed = await kinesis.putRecords(stream, all.map((e) => ({ key: e.k, data: JSON.stringify(e) })));
    const out = join(dir, 'record.jsonl');
    const result = await sluice(['record', '--source', `kinesis://${stream}`, '--out', out, '--limit', '300']);
    expect(result.code, result.stderr).toBe(0);
    const captured = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { partition: string; offset: string; key: string; timestamp: number; value: string });
    const where = new Map(landed.map((l, i) => [`${l.shardId}/${l.sequenceNumber}`, all[i] as Event]));
    expect(captured).toHaveLength(300);
    for (const record of captured) {
      const shard = record.partition.slice(stream.length + 1);
      const event = where.get(`${shard}/${record.offset}`);
      expect(event, JSON.stringify(record)).toBeDefined();
      expect(record.key).toBe(event?.k);
      expect(JSON.parse(record.value)).toEqual(event);
      expect(record.timestamp).toBeGreaterThan(Date.now() - 600_000);
    }
  });

  it('names a missing region in one line, without a stack', async () => {
    // no endpoint override, no region anywhere: the SDK would fail with a stack; Sluice says what to set
    const none = { SLUICE_KINESIS_ENDPOINT: '', SLUICE_DYNAMODB_ENDPOINT: '', SLUICE_AWS_ENDPOINT: '', AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_PROFILE: '' };
    const result = await sluice(['aggregate', '--source', 'kinesis://clicks', ...AGG], { env: { ...none, AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials') } });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe("sluice: no AWS region for kinesis stream 'clicks': add ?region=REGION to the URL or set AWS_REGION");
  });

  it('names a missing stream in one line, without a stack', async () => {
    const result = await sluice(['aggregate', '--source', 'kinesis://no-such-stream', ...AGG]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("kinesis stream 'no-such-stream' does not exist");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

/** KPL-aggregates user records into as few Kinesis records as aws-kinesis-agg packs them. */
async function aggregate(records: { partitionKey: string; data: string }[]): Promise<{ partitionKey: string; data: Buffer }[]> {
  const out: { partitionKey: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) => {
    aggregation.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })),
      (encoded, callback) => {
        out.push({ partitionKey: encoded.partitionKey, data: encoded.data });
        callback();
      },
      () => resolve(),
      (err) => reject(err),
    );
  });
  return out;
}
