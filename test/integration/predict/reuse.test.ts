import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sink } from '../../../src/core/connectors.js';
import { fileJournals } from '../../../src/checkpoint/journal.js';
import { startModelServer, TELEMETRY_ANOMALY, type ModelServer } from '../../../src/dev/model-server/index.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { predict, type Predicted } from '../../../src/operators/predict.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { MemoryCheckpoints } from '../../support/memory-checkpoints.js';
import { CollectSink } from '../../support/run-memory.js';
import { endpointOf } from './helpers.js';

// Predictions already paid for are journaled beside the checkpoints: a restart from an older
// checkpoint, or a replay of the same records, gets them again without calling the endpoint.

interface Row {
  readonly n: number;
  readonly features: number[];
}

const ROWS = 200;
const input: Row[] = Array.from({ length: ROWS }, (_, n) => ({ n, features: [20 + (n % 5), 50 + (n % 40), 60 + (n % 45), n % 7, 1 + (n % 3), n % 2] }));
const lines = input.map((r) => JSON.stringify(r));

let server: ModelServer;
let dir: string;
beforeAll(async () => {
  server = await startModelServer();
  dir = await mkdtemp(join(tmpdir(), 'sluice-journal-'));
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const definition = () =>
  definePipeline('predict-reuse', (s) =>
    s.parseJson<Row>().pipe(predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features, batchSize: 8 })),
  );

/** A sink that fails the run once it has taken `limit` records: a crash between checkpoints. */
class CrashingSink implements Sink<Predicted<Row>> {
  readonly description = 'crashing:';
  readonly records: Predicted<Row>[] = [];
  constructor(private readonly limit: number) {}
  async write(records: readonly Predicted<Row>[]): Promise<void> {
    if (this.records.length >= this.limit) throw new Error('crash');
    this.records.push(...records);
  }
  async close(): Promise<void> {}
}

async function run(sink: Sink<Predicted<Row>>, store: MemoryCheckpoints, journalDir: string): Promise<void> {
  const journals = fileJournals(journalDir);
  try {
    await runPipeline({
      definition: definition(),
      source: memorySource({ partitions: { p: lines }, batchSizes: () => [10] }),
      sinks: [sink],
      deadLetter: new CollectSink(),
      checkpoint: { store, everyRecords: 50 },
      journals,
    });
  } finally {
    await journals.close();
  }
}

const answeredRecords = (): number => server.stats().byEndpoint[TELEMETRY_ANOMALY]?.records ?? 0;

describe('prediction journal', () => {
  it('a restart from an older checkpoint pays for no prediction twice, and gives the same output', async () => {
    const reference = new CollectSink<Predicted<Row>>();
    await run(reference, new MemoryCheckpoints(), join(dir, 'reference'));
    expect(reference.records).toHaveLength(ROWS);

    server.resetStats();
    const journalDir = join(dir, 'restart');
    const store = new MemoryCheckpoints();
    const crashing = new CrashingSink(120);
    await expect(run(crashing, store, journalDir)).rejects.toThrow('crash');
    const resumeAt = Number(store.last?.partitions['p']?.position?.['line'] ?? 0);
    const paidBeforeCrash = answeredRecords();
    const journaled = (await readFile(join(journalDir, `predict-${TELEMETRY_ANOMALY}.jsonl`), 'utf8')).split('\n').filter(Boolean).length;
    // the crash came after records past the last checkpoint had been predicted (and journaled)
    expect(journaled).toBe(paidBeforeCrash);
    expect(paidBeforeCrash).toBeGreaterThan(resumeAt);

    const resumed = new CollectSink<Predicted<Row>>();
    await run(resumed, store, journalDir);
    // everything after the checkpoint was processed again; only what was never answered was paid
    expect(resumed.records.map((r) => r.n)).toEqual(input.slice(resumeAt).map((r) => r.n));
    expect(answeredRecords()).toBe(ROWS);
    expect(resumed.records).toEqual(reference.records.slice(resumeAt));
  });

  it('a replay of the same records with the same journal calls the endpoint not at all', async () => {
    const journalDir = join(dir, 'replay');
    const first = new CollectSink<Predicted<Row>>();
    await run(first, new MemoryCheckpoints(), journalDir);
    server.resetStats();
    const again = new CollectSink<Predicted<Row>>();
    await run(again, new MemoryCheckpoints(), journalDir);
    expect(server.stats().invocations).toBe(0);
    expect(again.records).toEqual(first.records);
  });
});
