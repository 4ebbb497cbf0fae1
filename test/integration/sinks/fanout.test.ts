import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sink } from '../../../src/core/connectors.js';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { PUT_RECORD_BATCH_TARGET, startFaultProxy, type FaultMatch, type FaultProxy } from '../../../src/dev/fault-proxy/index.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline, type RunView } from '../../../src/runtime/run.js';
import { openFileSink } from '../../../src/sinks/file/index.js';
import { openFirehoseSink, parseFirehoseUrl } from '../../../src/sinks/firehose/index.js';
import { openOpenSearchSink, parseOpenSearchUrl } from '../../../src/sinks/opensearch/index.js';
import { scratch } from '../cli/cli.js';
import { sleep } from '../recovery/recovery.js';
import { MemoryCheckpoints } from '../../support/memory-checkpoints.js';
import { MOTO_CREDENTIALS, useMoto } from '../../support/moto.js';
import { useOpenSearch } from '../../support/opensearch.js';
import { CollectSink } from '../../support/run-memory.js';

// One pipeline fanning out to three real sinks — Firehose on moto, OpenSearch, a file — while one
// of them is down (the fault proxy answers its writes with 503s and drops its connections), then
// healed. While it is down, the healthy sinks take everything read so far, the source is held back
// at the pending bound, and no checkpoint is saved; every checkpoint that is saved finds every
// record before its barrier already in all three peers; after healing all three hold every result.

const moto = useMoto();
const opensearch = useOpenSearch();
const proxies: FaultProxy[] = [];
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
});

const RECORDS = 3000;
const BATCH = 50;
const MAX_IN_FLIGHT_BATCHES = 4;
const MAX_PENDING = 400;
const CHECKPOINT_EVERY = 250;

/** The sink's own retries never give up while the test keeps it down; they back off briefly. */
const PATIENT = { maxRetries: 100_000, initialDelayMs: 5, maxDelayMs: 50 };

const input = Array.from({ length: RECORDS }, (_, seq) => JSON.stringify({ seq, page: `/p${seq % 17}`, ts: Date.UTC(2026, 0, 1) + seq * 10 }));

interface Result {
  readonly id: string;
  readonly seq: number;
  readonly key: { readonly page: string };
  readonly windowStart: number;
}

/** One result per event, with a deterministic id: which results precede a barrier is then plain. */
const definition = definePipeline('fanout', (s) =>
  s.parseJson<{ seq: number; page: string; ts: number }>().map((e): Result => ({ id: `ev-${String(e.seq).padStart(6, '0')}`, seq: e.seq, key: { page: e.page }, windowStart: e.ts })),
);
const expected = input.map((line) => {
  const e = JSON.parse(line) as { seq: number; page: string; ts: number };
  return JSON.stringify({ id: `ev-${String(e.seq).padStart(6, '0')}`, seq: e.seq, key: { page: e.page }, windowStart: e.ts });
});

/** A sink and a way to read back, from the peer itself, the results it holds. */
interface Peer {
  readonly name: 'firehose' | 'opensearch' | 'file';
  readonly sink: Sink;
  /** Every result line the peer holds (duplicates included). */
  lines(): Promise<string[]>;
}

async function peers(down: 'firehose' | 'opensearch'): Promise<{ peers: Peer[]; downProxy: FaultProxy }> {
  const stream = await moto.createDeliveryStream();
  const index = opensearch.indexName('fanout');
  const path = join(dir, `${down}-down.jsonl`);
  // each networked sink behind its own proxy; the healthy one's plan stays empty
  const firehoseProxy = await startFaultProxy({ target: moto.endpoint });
  const openSearchProxy = await startFaultProxy({ target: opensearch.url });
  proxies.push(firehoseProxy, openSearchProxy);
  const firehose: Peer = {
    name: 'firehose',
    sink: await openFirehoseSink(parseFirehoseUrl(`firehose://${stream.name}`, '--sink', {}), { endpointUrl: firehoseProxy.url, credentials: MOTO_CREDENTIALS, retry: PATIENT }),
    lines: async () => (await moto.readObjects(stream.bucket, stream.prefix)).flatMap((o) => o.body.split('\n').filter((line) => line !== '')),
  };
  const search: Peer = {
    name: 'opensearch',
    sink: await openOpenSearchSink(parseOpenSearchUrl(`opensearch://127.0.0.1:${openSearchProxy.port}/${index}`, '--sink'), { maxBatchRecords: 200, retry: PATIENT }),
    lines: async () => {
      const client = opensearch.client();
      const exists = (await client.indices.exists({ index })).body;
      if (!exists) return [];
      await client.indices.refresh({ index });
      const found = await client.search({ index, body: { size: 10_000, query: { match_all: {} } } });
      return (found.body.hits.hits as { _source: unknown }[]).map((hit) => JSON.stringify(hit._source));
    },
  };
  const file: Peer = {
    name: 'file',
    sink: await openFileSink({ path }),
    lines: async () => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((line) => line !== ''),
  };
  const match: FaultMatch = down === 'firehose' ? { target: PUT_RECORD_BATCH_TARGET } : { pathPrefix: '/_bulk' };
  const downProxy = down === 'firehose' ? firehoseProxy : openSearchProxy;
  // down: half the writes get a 503, the others lose their connection before the peer sees them
  downProxy.setPlan({ match, errorRate: 0.5, dropEvery: 1, seed: 3 });
  // from here on the sinks only write: what the proxy forwards is their writes
  downProxy.resetStats();
  return { peers: [firehose, search, file], downProxy };
}

/** The seqs of the results a peer holds. */
const seqsOf = (lines: readonly string[]): Set<number> => new Set(lines.map((line) => (JSON.parse(line) as Result).seq));

/**
 * Checks, as each checkpoint is saved, that every peer already holds every result before its
 * barrier (the results of lines 1…position); a checkpoint saved earlier would be the data-loss bug.
 */
class PeerCheckingCheckpoints extends MemoryCheckpoints {
  readonly checked: { checkpointId: number; covers: number }[] = [];
  readonly violations: string[] = [];
  constructor(private readonly peers: readonly Peer[]) {
    super();
  }
  override async save(checkpoint: Checkpoint): Promise<void> {
    const covers = Number(checkpoint.partitions['p']?.position?.['line'] ?? 0);
    for (const peer of this.peers) {
      const held = seqsOf(await peer.lines());
      const missing = Array.from({ length: covers }, (_, seq) => seq).filter((seq) => !held.has(seq));
      if (missing.length > 0) this.violations.push(`checkpoint ${checkpoint.checkpointId} covers ${covers} results, but ${peer.name} lacks ${missing.length} of them (first: seq ${missing[0]})`);
    }
    this.checked.push({ checkpointId: checkpoint.checkpointId, covers });
    await super.save(checkpoint);
  }
}

/** Polls `condition` every 20 ms, at most `polls` times; fails naming `what` when it never holds. */
async function until(what: string, condition: () => boolean | Promise<boolean>, detail: () => string = () => '', polls = 1500): Promise<void> {
  for (let i = 0; i < polls; i++) {
    if (await condition()) return;
    await sleep(20);
  }
  throw new Error(`gave up waiting until ${what}\n${detail()}`);
}

describe('fan-out to Firehose, OpenSearch and a file with one of them down', () => {
  it.each(['firehose', 'opensearch'] as const)('%s down: healthy sinks keep up to the pending bound, no early checkpoint, nothing lost after healing', async (down) => {
    const { peers: all, downProxy } = await peers(down);
    const downPeer = all.find((peer) => peer.name === down) as Peer;
    const healthy = all.filter((peer) => peer !== downPeer);
    const store = new PeerCheckingCheckpoints(all);
    let view: RunView | undefined;
    const dead = new CollectSink();
    const run = runPipeline({
      definition,
      source: memorySource({ partitions: { p: input }, batchSizes: () => [BATCH] }),
      sinks: all.map((peer) => peer.sink),
      deadLetter: dead,
      maxPendingRecords: MAX_PENDING,
      maxInFlightBatches: MAX_IN_FLIGHT_BATCHES,
      checkpoint: { store, everyRecords: CHECKPOINT_EVERY },
      view: (v) => (view = v),
    });
    let failure: unknown;
    run.catch((err: unknown) => (failure = err));
    const eventsIn = (): number => view?.counters()['events_in'] ?? 0;
    const refusals = (): number => {
      const s = downProxy.stats();
      return s.errors + s.dropped;
    };
    const state = (): string => `events_in ${eventsIn()}, saved ${store.saved.length}, down proxy ${JSON.stringify(downProxy.stats())}, failure ${String(failure)}`;

    // Held back: the healthy sinks hold everything read so far, and reading has not moved while
    // the down sink's writes were refused five more times.
    let seen = -1;
    let refusedAt = 0;
    await until(
      'the source is held back with the healthy sinks caught up',
      async () => {
        if (failure !== undefined) throw failure;
        const now = eventsIn();
        const caughtUp = now > 0 && (await Promise.all(healthy.map(async (peer) => (await peer.lines()).length === now))).every(Boolean);
        if (now !== seen || !caughtUp) {
          seen = now;
          refusedAt = refusals();
          return false;
        }
        return refusals() >= refusedAt + 5;
      },
      state,
    );
    const held = eventsIn();
    // reading stopped at the bound: the down sink holds at least MAX_PENDING unacknowledged results,
    // and no more than what was read before the gate closed on them
    expect(held).toBeGreaterThanOrEqual(MAX_PENDING);
    expect(held).toBeLessThanOrEqual(MAX_PENDING + MAX_IN_FLIGHT_BATCHES * BATCH);
    expect(held).toBeLessThan(RECORDS);
    // … and does not move while the sink stays down
    const before = refusals();
    await until('the down sink has been refused ten more times', () => refusals() >= before + 10, state);
    expect(eventsIn()).toBe(held);
    // the healthy sinks have every result read so far, the down one none
    for (const peer of healthy) expect(seqsOf(await peer.lines())).toEqual(new Set(Array.from({ length: held }, (_, seq) => seq)));
    expect(await downPeer.lines()).toEqual([]);
    expect(downProxy.stats().forwarded).toBe(0);
    // no checkpoint while the down sink has not acknowledged what precedes the first barrier
    expect(store.saved).toEqual([]);

    downProxy.setPlan({});
    const summary = await run;
    expect(summary.counters['events_in']).toBe(RECORDS);
    expect(summary.counters['results_out']).toBe(RECORDS);
    expect(dead.records).toEqual([]);
    expect(downProxy.stats().forwarded).toBeGreaterThan(0);

    // every checkpoint found its records in every peer, and checkpoints resumed after healing
    expect(store.violations).toEqual([]);
    expect(store.checked.length).toBeGreaterThan(1);
    expect(store.checked.at(-1)?.covers).toBe(RECORDS);
    // every sink holds every result exactly once (nothing reached a peer twice: faults struck before forwarding)
    for (const peer of all) expect((await peer.lines()).sort(), peer.name).toEqual([...expected].sort());
    await Promise.all(all.map((peer) => peer.sink.close()));
  });
});
