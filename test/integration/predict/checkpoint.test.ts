import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { bundledModels, score, startModelServer, TELEMETRY_ANOMALY, type ModelServer } from '../../../src/dev/model-server/index.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { predict, type Predicted } from '../../../src/operators/predict.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { MemoryCheckpoints } from '../../support/memory-checkpoints.js';
import { CollectSink } from '../../support/run-memory.js';
import { endpointOf, eventually } from './helpers.js';

// A checkpoint barrier must wait for the predictions in flight before it: a checkpoint taken
// while a call is unanswered would commit source positions whose events never reached a sink.

interface Row {
  readonly n: number;
  readonly features: number[];
}

let server: ModelServer;
const model = bundledModels().get(TELEMETRY_ANOMALY);
if (model === undefined) throw new Error('the telemetry model is not bundled');

beforeAll(async () => {
  server = await startModelServer();
});

afterAll(async () => {
  await server.stop();
});

/** Notes, at every save, how far the sink and the endpoint had got. */
class WatchedCheckpoints extends MemoryCheckpoints {
  readonly atSave: { readonly position: number; readonly delivered: number; readonly answered: number }[] = [];
  constructor(private readonly sink: CollectSink<Predicted<Row>>) {
    super();
  }
  override async save(checkpoint: Checkpoint): Promise<void> {
    const line = checkpoint.partitions['p']?.position?.['line'];
    this.atSave.push({ position: typeof line === 'number' ? line : 0, delivered: this.sink.records.length, answered: server.stats().records });
    await super.save(checkpoint);
  }
}

describe('predict and checkpoints', () => {
  it('holds every checkpoint until the calls before its barrier were answered and their events delivered', async () => {
    server.setFaults({ hold: true });
    server.resetStats();
    const input: Row[] = Array.from({ length: 60 }, (_, n) => ({ n, features: [20 + (n % 5), 50 + n, 60 + n, n % 7, 1 + (n % 3), n % 2] }));
    const sink = new CollectSink<Predicted<Row>>();
    const store = new WatchedCheckpoints(sink);
    const run = runPipeline({
      definition: definePipeline('predict-barrier', (s) =>
        s.parseJson<Row>().pipe(predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features, batchSize: 5, timeout: '60s' })),
      ),
      source: memorySource({ partitions: { p: input.map((r) => JSON.stringify(r)) }, batchSizes: () => [10] }),
      sinks: [sink],
      deadLetter: new CollectSink(),
      checkpoint: { store, everyRecords: 10 },
    });

    // the first batch's two calls are at the endpoint, unanswered
    await eventually(() => server.stats().held === 2, 'the first calls reached the endpoint');
    // while they are held, let the run do whatever it would do: read more, inject barriers
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.saved).toHaveLength(0);
    expect(sink.records).toHaveLength(0);
    expect(server.stats().invocations).toBe(2);

    server.setFaults({});
    server.release();
    const summary = await run;
    expect(sink.records).toEqual(input.map((r) => ({ ...r, prediction: score(model, r.features) })));
    expect(summary.lastCheckpoint).toBeGreaterThan(1);
    expect(store.atSave.length).toBeGreaterThan(1);
    for (const { position, delivered, answered } of store.atSave) {
      // every event up to the checkpoint's position was answered and delivered before the save
      expect(answered).toBeGreaterThanOrEqual(position);
      expect(delivered).toBeGreaterThanOrEqual(position);
    }
    expect(store.atSave.at(-1)?.position).toBe(60);
  });
});
