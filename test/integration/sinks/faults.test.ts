import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PUT_RECORD_BATCH_TARGET, startFaultProxy, type FaultPlan, type FaultProxy } from '../../../src/dev/fault-proxy/index.js';
import { openFirehoseSink, parseFirehoseUrl } from '../../../src/sinks/firehose/index.js';
import { openOpenSearchSink, parseOpenSearchUrl } from '../../../src/sinks/opensearch/index.js';
import { ensureBuilt, lines, ROOT, scratch } from '../cli/cli.js';
import { eventsIn, sleep } from '../recovery/recovery.js';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto, type TestDeliveryStream } from '../../support/moto.js';
import { useOpenSearch } from '../../support/opensearch.js';

// Sinks against the real peers with the fault proxy in between: throttling, 5xx, dropped
// connections and Firehose partial failures are retried until every result is in the peer,
// nothing lost and nothing twice; and a kill -9 while the Firehose sink is retrying loses
// nothing once the same command runs again.

const moto = useMoto();
const opensearch = useOpenSearch();
const proxies: FaultProxy[] = [];
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());
/** CLI processes a test started and has not seen exit: killed after it, should it fail half-way. */
const children = new Set<number>();
afterEach(async () => {
  for (const pid of children) process.kill(pid, 'SIGKILL');
  children.clear();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
});

async function proxyTo(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target, plan });
  proxies.push(proxy);
  return proxy;
}

/** Retries fast: the proxy's faults are many, and a test waits for every one of them. */
const FAST_RETRY = { maxRetries: 30, initialDelayMs: 5, maxDelayMs: 40 };

const PAGES = ['/', '/help', '/pricing', '/docs/getting-started', '/blog/2026/11/windows'];

/** Window results as the window operator emits them, each line distinct. */
function results(count: number, start = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    const windowStart = 1_793_536_140_000 + Math.floor(n / PAGES.length) * 60_000;
    return { id: `r${String(n).padStart(6, '0')}`, key: { page: PAGES[n % PAGES.length] }, windowStart, windowEnd: windowStart + 60_000, revision: 0, count: (n * 7) % 50 };
  });
}

/** Every line in the stream's S3 objects, after checking each object is whole newline-terminated JSON lines. */
async function delivered(stream: TestDeliveryStream): Promise<string[]> {
  const out: string[] = [];
  for (const { key, body } of await moto.readObjects(stream.bucket, stream.prefix)) {
    expect(body.endsWith('\n'), `object ${key} ends with a newline`).toBe(true);
    for (const line of body.slice(0, -1).split('\n')) {
      expect(() => JSON.parse(line) as unknown, `a line of ${key}`).not.toThrow();
      out.push(line);
    }
  }
  return out;
}

const sorted = (values: readonly string[]): string[] => [...values].sort();

describe('Firehose sink through injected faults, on moto', () => {
  it.each([
    ['one result per record', {}],
    ['packed records', { pack: true, maxRecordBytes: 2048 }],
  ])('delivers every result exactly once (%s) through throttling, 5xx, resets and partial failures', async (_name, packing) => {
    const stream = await moto.createDeliveryStream();
    const proxy = await proxyTo(moto.endpoint, {
      match: { target: PUT_RECORD_BATCH_TARGET },
      throttleFirst: 3,
      errorFirst: 2,
      dropEvery: 4,
      partialFirehose: { everyCall: 1, failFraction: 0.3 },
      seed: 17,
    });
    const sink = await openFirehoseSink(parseFirehoseUrl(`firehose://${stream.name}`, '--sink', {}), {
      endpointUrl: proxy.url,
      credentials: MOTO_CREDENTIALS,
      retry: FAST_RETRY,
      ...packing,
    });
    const written = results(1200);
    try {
      expect(await sink.write(written.slice(0, 700))).toBeUndefined();
      expect(await sink.write(written.slice(700))).toBeUndefined();
    } finally {
      await sink.close();
    }

    // byte for byte the lines the file sink writes, each exactly once
    const lines = await delivered(stream);
    expect(lines).toHaveLength(written.length);
    expect(sorted(lines)).toEqual(sorted(written.map((r) => JSON.stringify(r))));

    const stats = proxy.stats();
    const metrics = sink.metrics();
    expect(stats.throttled).toBe(3);
    expect(stats.errors).toBe(2);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.partialCalls).toBeGreaterThan(0);
    expect(stats.refusedRecords).toBeGreaterThan(0);
    // every attempt the sink made reached the proxy, and nothing else did
    expect(metrics.putCalls).toBe(stats.matched);
    expect(metrics.records).toBe(written.length);
    // the refused records and whole failed calls were sent again: at least the refused ones
    expect(metrics.retriedRecords).toBeGreaterThanOrEqual(stats.refusedRecords);
  });
});

describe('OpenSearch sink through injected faults', () => {
  it('ends with one document per result through 429s, 5xx and connections dropped before and after the node took them', async () => {
    const index = opensearch.indexName('faults');
    const proxy = await proxyTo(opensearch.url, { match: { pathPrefix: '/_bulk' }, throttleFirst: 2, dropEvery: 3, dropAt: 'response', seed: 5 });
    const sink = await openOpenSearchSink(parseOpenSearchUrl(`opensearch://127.0.0.1:${proxy.port}/${index}`, '--sink'), { maxBatchRecords: 100, retry: FAST_RETRY });
    const written = results(600);
    try {
      expect(await sink.write(written.slice(0, 300))).toBeUndefined();
      const first = proxy.stats();
      expect(first.throttled).toBe(2);
      expect(first.droppedAfterForward).toBeGreaterThan(0);
      // now the connections drop before the node sees the request, and some requests fail
      proxy.setPlan({ match: { pathPrefix: '/_bulk' }, dropEvery: 2, errorRate: 0.2, throttleRate: 0.2, seed: 6 });
      expect(await sink.write(written.slice(300))).toBeUndefined();
    } finally {
      await sink.close();
    }
    const stats = proxy.stats();
    expect(stats.dropped - stats.droppedAfterForward).toBeGreaterThan(0);
    expect(stats.errors).toBeGreaterThan(0);

    const client = opensearch.client();
    await client.indices.refresh({ index });
    expect((await client.count({ index })).body.count).toBe(written.length);
    const found = await client.search({ index, body: { size: 1000, query: { match_all: {} } } });
    const documents = (found.body.hits.hits as { _id: string; _source: unknown }[]).map((hit) => ({ id: hit._id, source: hit._source }));
    expect(documents.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(written.map((r) => ({ id: r['id'], source: r })));
  });
});

/** A `bin/sluice` child with its own environment, which the test can kill. */
function run(args: readonly string[], env: Record<string, string>): { pid: number; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(join(ROOT, 'bin', 'sluice'), [...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const err: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid === undefined) throw new Error('could not start bin/sluice');
  const pid = child.pid;
  children.add(pid);
  child.once('exit', () => children.delete(pid));
  return { pid: child.pid, stderr: () => Buffer.concat(err).toString('utf8'), exited };
}

/** Polls `condition` every 25 ms, at most `polls` times; fails naming `what` (and `detail()`) when it never holds. */
async function until(what: string, condition: () => boolean | Promise<boolean>, detail: () => string = () => '', polls = 800): Promise<void> {
  for (let i = 0; i < polls; i++) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`gave up waiting until ${what}\n${detail()}`);
}

const checkpoints = async (home: string): Promise<string[]> => (await readdir(home).catch(() => [] as string[])).filter((name) => /^checkpoint-\d+\.json$/.test(name));

describe('kill -9 while the Firehose sink retries', () => {
  it('loses nothing: after a restart every result is in S3, and a result there twice is the same bytes', async () => {
    const EVENTS = 15_000;
    const aggregate = [
      'aggregate',
      // paced (3,000 events/s): the run lasts long enough to checkpoint, then to be caught retrying
      '--source',
      `generator:clickstream?rate=3000&events=${EVENTS}&seed=7&partitions=1`,
      '--key',
      'page',
      '--time',
      'ts',
      '--window',
      'tumbling:10s',
      '--agg',
      'count,sum:dwellMs,distinct:userId',
      '--max-out-of-orderness',
      '5s',
      // small batches: many sink writes between two checkpoints
      '--batch-size',
      '100',
    ];
    const stream = await moto.createDeliveryStream();
    const proxy = await proxyTo(moto.endpoint, {});
    const env = { SLUICE_AWS_ENDPOINT: proxy.url, AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_REGION: MOTO_REGION };
    const checkpointDir = join(dir, 'kill-checkpoints');
    const home = join(checkpointDir, 'aggregate');
    const command = [...aggregate, '--sink', `firehose://${stream.name}`, '--dead-letter', `file:${join(dir, 'kill-dead.jsonl')}`, '--checkpoint', `file:${checkpointDir}`, '--checkpoint-interval', '200ms'];

    // the reference: the same input, uninterrupted, into a file (runs beside the first attempt)
    const referencePath = join(dir, 'kill-reference.jsonl');
    const reference = run([...aggregate, '--sink', `file:${referencePath}`, '--dead-letter', `file:${join(dir, 'kill-reference-dead.jsonl')}`], {});

    const first = run(command, env);
    // healthy until checkpoints are durable and results are in S3 …
    const state = (): string => `proxy: ${JSON.stringify(proxy.stats())}\nstderr of the run: ${first.stderr()}`;
    // (a few checkpoints in, so results delivered after the newest one will be emitted again)
    const newest = async (): Promise<number> => Math.max(0, ...(await checkpoints(home)).map((name) => Number(/\d+/.exec(name)?.[0])));
    await until('the first run has checkpointed three times and delivered results', async () => (await newest()) >= 3 && (proxy.stats().byOperation[PUT_RECORD_BATCH_TARGET] ?? 0) >= 10, state);
    // … then, a few writes later (some of them after the newest checkpoint's barrier, likely),
    // Firehose throttles every write, and the sink retries
    proxy.setPlan({ match: { target: PUT_RECORD_BATCH_TARGET }, passFirst: 3, throttleRate: 1 });
    const throttledBefore = proxy.stats().throttled;
    await until('the sink has retried throttled writes three times', () => proxy.stats().throttled >= throttledBefore + 3, state);
    const checkpointsAtKill = await checkpoints(home);
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(checkpointsAtKill.length).toBeGreaterThan(0);

    // the faults lift; the same command resumes from the checkpoint and finishes
    proxy.setPlan({});
    const second = run(command, env);
    const done = await second.exited;
    expect(done.code, second.stderr()).toBe(0);
    const resumedEvents = eventsIn(second.stderr());
    // it resumed part-way: fewer events read than the input holds
    expect(resumedEvents).toBeGreaterThan(0);
    expect(resumedEvents).toBeLessThan(EVENTS);

    expect((await reference.exited).code, reference.stderr()).toBe(0);
    const expected = lines(await readFile(referencePath, 'utf8'));
    expect(new Set(expected).size).toBe(expected.length);
    const landed = await delivered(stream);
    // nothing lost, nothing that is not a result of the uninterrupted run
    expect(sorted([...new Set(landed)])).toEqual(sorted(expected));
    // so a result that landed twice landed as the same bytes: one line per id
    const byId = new Map<string, Set<string>>();
    for (const line of landed) {
      const id = (JSON.parse(line) as { id: string }).id;
      byId.set(id, (byId.get(id) ?? new Set()).add(line));
    }
    expect(byId.size).toBe(expected.length);
    expect([...byId.values()].every((variants) => variants.size === 1)).toBe(true);
    expect(landed.length).toBeGreaterThanOrEqual(expected.length);
    expect(lines(second.stderr()).filter((line) => !line.startsWith('sluice: '))).toEqual([]);
  });
});
