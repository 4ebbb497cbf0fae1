/**
 * KCL mode end to end under the real MultiLangDaemon: kinesis-local and dynalite (test/support/
 * kinesis.ts), the daemon's jars (installed into .cache/kcl-jars on first use) and the built CLI.
 * A 2-shard stream of clickstream events, each page's clicks in one shard (partition key = page):
 * `sluice run clickstream … coordinator=kcl` must give, per shard, the window results of the same
 * pipeline over a file of that shard's events; the lease table must hold KCL checkpoints at Sluice
 * checkpoint positions; SIGTERM stops it with exit code 0, and a restart resumes without
 * repeating or losing a window.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKinesis } from '../../support/kinesis.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SLUICE = join(ROOT, 'bin/sluice');
const PIPELINE = 'clickstream';
const FLUSH_GAP_MS = 10 * 60_000;

interface Click {
  readonly ts: string;
  readonly userId: string;
  readonly page: string;
  readonly dwellMs: number;
}

const java = spawnSync('java', ['-version']).status === 0;
const kinesis = useKinesis();

/** Which of two evenly split shards a partition key hashes to (MD5 of the key, as Kinesis does). */
function shardOf(partitionKey: string): number {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey).digest('hex')}`);
  return hash < 2n ** 127n ? 0 : 1;
}

function clicks(): Click[] {
  const text = gunzipSync(readFileSync(join(ROOT, 'samples/clickstream.jsonl.gz'))).toString('utf8');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Click);
}

/** One click per page well after `after`: the watermark passes every window before it. */
function flushes(pages: readonly string[], after: number): Click[] {
  return pages.map((page) => ({ ts: new Date(after + FLUSH_GAP_MS).toISOString(), userId: 'flush', page, dwellMs: 0 }));
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : [];
}

/** Results of the pipeline over `events` as a file, keyed `id/revision`, without the flush windows. */
async function fileResults(dir: string, name: string, events: readonly Click[], before: number): Promise<Map<string, string>> {
  const input = join(dir, `${name}.jsonl`);
  const output = join(dir, `${name}.out.jsonl`);
  await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const run = spawnSync(SLUICE, ['run', PIPELINE, '--source', `file:${input}`, '--sink', `file:${output}`], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return byId(lines(output), before);
}

function byId(results: readonly string[], before: number): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of results) {
    const result = JSON.parse(line) as { id: string; revision: number; windowEnd: number };
    if (result.windowEnd > before) continue;
    map.set(`${result.id}/${result.revision}`, line);
  }
  return map;
}

function streamNameOf(created: unknown): string {
  if (typeof created === 'string') return created;
  const named = created as { name?: string; stream?: string; streamName?: string };
  return (named.name ?? named.stream ?? named.streamName) as string;
}

/** Lease table rows as { shard, checkpoint }, whatever shape the helper returns them in. */
function leasesOf(rows: readonly Record<string, unknown>[]): Map<string, string> {
  const text = (value: unknown): string => (typeof value === 'object' && value !== null && 'S' in value ? String((value as { S: unknown }).S) : String(value));
  return new Map(rows.map((row) => [text(row['leaseKey']), text(row['checkpoint'])]));
}

/** Sluice's checkpointed position per shard, from the group store's files. */
function sluicePositions(checkpoints: string): Map<string, string> {
  const home = join(checkpoints, PIPELINE, 'partitions');
  const positions = new Map<string, string>();
  for (const file of existsSync(home) ? readdirSync(home) : []) {
    const entry = JSON.parse(readFileSync(join(home, file), 'utf8')) as { data: { partitions: Record<string, { position?: { shard: string; sequence: string } }> } };
    for (const partition of Object.values(entry.data.partitions)) if (partition.position) positions.set(partition.position.shard, partition.position.sequence);
  }
  return positions;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function startSluice(stream: string, app: string, dir: string, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(
    SLUICE,
    ['run', PIPELINE, '--source', `kinesis://${stream}?coordinator=kcl&app=${app}&failover=5s&idle=200`, '--checkpoint', `file:${join(dir, 'checkpoints')}`, '--checkpoint-interval', '1s', '--sink', `file:${join(dir, 'out.jsonl')}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  void exit.then(() => expect(stdout, 'nothing on the supervisor stdout').toBe(''));
  return { child, stderr: () => stderr, exit };
}

describe.skipIf(!java)('KCL mode (MultiLangDaemon)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-kcl-e2e-'));
    spawnSync('node', [join(ROOT, 'scripts/ensure.mjs')], { stdio: 'ignore' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('matches the file run per shard, checkpoints KCL at Sluice checkpoints, stops on SIGTERM and resumes', { timeout: 600_000 }, async () => {
    const stream = streamNameOf(await kinesis.createStream(2));
    const app = `sluice-kcl-${Date.now()}`;
    const all = clicks();
    const pages = [...new Set(all.map((c) => c.page))];
    const half = Math.floor(all.length / 2);
    const firstEnd = Date.parse((all[half - 1] as Click).ts);
    const lastEnd = Date.parse((all[all.length - 1] as Click).ts);
    const put = async (events: readonly Click[]): Promise<void> => {
      for (let i = 0; i < events.length; i += 500) {
        await kinesis.putRecords(stream, events.slice(i, i + 500).map((e) => ({ data: Buffer.from(JSON.stringify(e)), partitionKey: e.page })));
      }
    };
    // the first half with flush clicks far ahead (every window of the first half fires); the
    // second half, after the restart, is all late for those windows — so it comes with its own
    // flushes, and the comparison is per shard over everything
    const firstBatch = [...all.slice(0, half)];
    await put(firstBatch);

    const propertiesFile = join(dir, 'kcl.properties');
    // a shard sync every 2 s instead of a minute: the daemon starts reading sooner
    await writeFile(propertiesFile, 'shardSyncIntervalMillis = 2000\n');
    const env = {
      ...process.env,
      SLUICE_KINESIS_ENDPOINT: kinesis.endpoint,
      SLUICE_DYNAMODB_ENDPOINT: kinesis.dynamodbEndpoint,
      SLUICE_KCL_PROPERTIES: propertiesFile,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'test',
    };
    const out = join(dir, 'out.jsonl');
    const expected = new Map<string, string>();
    for (const shard of [0, 1]) {
      const events = firstBatch.filter((e) => shardOf(e.page) === shard);
      for (const [k, v] of await fileResults(dir, `first-${shard}`, [...events, ...flushes([...new Set(events.map((e) => e.page))], firstEnd)], firstEnd)) expected.set(k, v);
    }

    const started = Date.now();
    const first = startSluice(stream, app, dir, env);
    await put(flushes(pages, firstEnd));
    await until(() => byId(lines(out), firstEnd).size >= expected.size, 240_000, `the first half's ${expected.size} results (stderr: ${first.stderr().slice(-2000)})`);
    expect(byId(lines(out), firstEnd)).toEqual(expected);
    first.child.kill('SIGTERM');
    expect(await first.exit, first.stderr()).toBe(0);
    const firstRunMs = Date.now() - started;

    // KCL's checkpoints are Sluice's: the final one (shutdownRequested) on both shards
    const leases = leasesOf(await kinesis.leaseTable(app));
    const sluice = sluicePositions(join(dir, 'checkpoints'));
    expect(sluice.size).toBe(2);
    for (const [shard, sequence] of sluice) expect(leases.get(shard)).toBe(sequence);

    // the restart reads only what came after: no window twice, none missing
    const secondHalf = all.slice(half).map((e) => ({ ...e, ts: new Date(Date.parse(e.ts) + 2 * FLUSH_GAP_MS).toISOString() }));
    const secondEnd = lastEnd + 2 * FLUSH_GAP_MS;
    await put(secondHalf);
    const second = startSluice(stream, app, dir, env);
    await put(flushes(pages, secondEnd));
    const everything = new Map<string, string>();
    for (const shard of [0, 1]) {
      const events = [...firstBatch, ...flushes(pages, firstEnd), ...secondHalf].filter((e) => shardOf(e.page) === shard);
      for (const [k, v] of await fileResults(dir, `all-${shard}`, [...events, ...flushes([...new Set(events.map((e) => e.page))], secondEnd)], secondEnd)) everything.set(k, v);
    }
    await until(() => byId(lines(out), secondEnd).size >= everything.size, 240_000, `all ${everything.size} results (stderr: ${second.stderr().slice(-2000)})`);
    second.child.kill('SIGTERM');
    expect(await second.exit, second.stderr()).toBe(0);
    const written = lines(out).filter((line) => (JSON.parse(line) as { windowEnd: number }).windowEnd <= secondEnd);
    expect(new Set(written).size, 'no result written twice').toBe(written.length);
    expect(byId(written, secondEnd)).toEqual(everything);
    console.log(`KCL mode end to end: first run ${(firstRunMs / 1000).toFixed(1)} s to ${expected.size} results; ${everything.size} results over both runs`);
  });
});
