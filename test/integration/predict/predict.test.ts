import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batch } from '../../../src/core/elements.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { bundledModels, score, startModelServer, TELEMETRY_ANOMALY, type ModelServer } from '../../../src/dev/model-server/index.js';
import { telemetryExamples } from '../../../src/dev/model-server/features.js';
import { generatedEvents } from '../../../src/dev/model-server/train.js';
import type { ReadingLike } from '../../../src/dev/model-server/features.js';
import { memorySource } from '../../../src/ingest/memory/index.js';
import { predict, type Predicted } from '../../../src/operators/predict.js';
import { definePipeline } from '../../../src/pipeline.js';
import { runPipeline } from '../../../src/runtime/run.js';
import { CollectSink } from '../../support/run-memory.js';
import { envs, harness, values } from '../../unit/operators/harness.js';
import { endpointOf, eventually } from './helpers.js';

// The predict operator over HTTP against the local endpoint, through the real SageMaker client:
// the server injects the latency, throttling, errors and silence, and counts what reached it.

interface Row {
  readonly partition: string;
  readonly seq: number;
  readonly window: string;
  readonly features: number[];
}

let server: ModelServer;
const model = bundledModels().get(TELEMETRY_ANOMALY);
if (model === undefined) throw new Error('the telemetry model is not bundled');

/** Real telemetry windows from the generator (a seed the model never saw), as rows to score. */
const windows = telemetryExamples(generatedEvents('telemetry', { seed: 303, events: 8000, partitions: 1 }) as unknown as ReadingLike[]);
const rows = (partition: string, n: number, offset = 0): Row[] =>
  Array.from({ length: n }, (_, seq) => {
    const w = windows[(offset + seq) % windows.length];
    if (w === undefined) throw new Error('no windows');
    return { partition, seq, window: w.id, features: w.features };
  });
const expected = (r: Row): Predicted<Row> => ({ ...r, prediction: score(model, r.features) });

beforeAll(async () => {
  server = await startModelServer();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.release();
  server.setFaults({});
  server.resetStats();
});

describe('predict against the local SageMaker endpoint', () => {
  it('keeps each partition in order while calls from three partitions run concurrently with random latency', async () => {
    // 2-27 ms per call, drawn per call, so answers overtake each other
    server.setFaults({ latencyMs: 2, jitterMs: 25, seed: 7 });
    const partitions = { a: rows('a', 120), b: rows('b', 120, 40), c: rows('c', 120, 80) };
    const sink = new CollectSink<Predicted<Row>>();
    const op = predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features, batchSize: 4, maxConcurrency: 4 });
    const summary = await runPipeline({
      definition: definePipeline('predict-order', (s) => s.parseJson<Row>().pipe(op)),
      source: memorySource({ partitions: Object.fromEntries(Object.entries(partitions).map(([p, rs]) => [p, rs.map((r) => JSON.stringify(r))])), batchSizes: () => [20] }),
      sinks: [sink],
      deadLetter: new CollectSink(),
    });
    for (const [partition, input] of Object.entries(partitions)) {
      // same records, same order, each with its own window's score
      expect(sink.records.filter((r) => r.partition === partition)).toEqual(input.map(expected));
    }
    const stats = server.stats();
    expect(stats.invocations).toBe(360 / 4);
    expect(summary.counters['predict_calls']).toBe(stats.invocations);
    expect(summary.counters['predict_records']).toBe(360);
    // calls overlapped, and never more than maxConcurrency of them, across all partitions
    expect(stats.maxInFlight).toBeGreaterThan(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(op.metrics.latency.totalCount).toBe(90);
    expect(op.metrics.snapshot().batchFill).toEqual({ calls: 90, meanRecords: 4, meanFill: 1 });
  });

  it('lowers its concurrency when the endpoint throttles, loses no prediction, and grows back once throttling stops', async () => {
    // the endpoint has room for 2 calls at a time; the operator starts at 8
    server.setFaults({ maxConcurrency: 2, latencyMs: 10 });
    const h = harness();
    const op = predict({
      endpoint: endpointOf(server, TELEMETRY_ANOMALY),
      features: (r: Row) => r.features,
      batchSize: 2,
      maxConcurrency: 8,
      retries: { attempts: 30, initialDelay: 5, maxDelay: 40 },
    });
    const first = rows('p', 64);
    expect(values(await h.run(op, [batch(envs(first))]))).toEqual(first.map(expected));
    const throttled = server.stats().throttled;
    expect(throttled).toBeGreaterThan(0);
    expect(h.counters.get('predict_throttled')).toBe(throttled);
    expect(op.metrics.concurrency.lowest).toBeLessThanOrEqual(4);
    expect(op.metrics.concurrency.limit).toBeLessThan(8);

    server.setFaults({ latencyMs: 1 });
    for (let round = 0; round < 20 && op.metrics.concurrency.limit < 8; round++) {
      const more = rows('p', 64, round);
      expect(values(await h.run(op, [batch(envs(more))]))).toEqual(more.map(expected));
    }
    expect(op.metrics.concurrency.limit).toBe(8);
    expect(server.stats().throttled).toBe(throttled);
  });

  it('opens its breaker when the endpoint keeps failing, stops calling it, and closes after a successful trial call', async () => {
    server.setFaults({ errorRate: 1, errorType: 'ServiceUnavailable' });
    const h = harness();
    const op = predict({
      endpoint: endpointOf(server, TELEMETRY_ANOMALY),
      features: (r: Row) => r.features,
      batchSize: 1,
      maxConcurrency: 1,
      retries: 0,
      breaker: { consecutiveFailures: 3, halfOpenAfter: '200ms' },
    });
    const out = await h.run(op, [batch(envs(rows('p', 10)))]);
    const reasons = (values(out) as Predicted<Row>[]).map((r) => r.predictionError);
    // three calls failed at the endpoint; the breaker kept the other seven from going out
    expect(server.stats()).toMatchObject({ invocations: 3, errors: { ServiceUnavailable: 3 } });
    expect(reasons.slice(0, 3)).toEqual(Array(3).fill(expect.stringMatching(/^SageMaker endpoint 'telemetry-anomaly' failed: ServiceUnavailable: Service Unavailable/)));
    expect(reasons.slice(3)).toEqual(Array(7).fill(expect.stringContaining('circuit breaker open after 3 consecutive failures')));
    expect(op.metrics.breakerState).toBe('open');
    expect(h.counters.get('predict_breaker_rejected')).toBe(7);
    expect(h.counters.get('predict_fallbacks')).toBe(10);

    server.setFaults({});
    const healthy = rows('p', 1, 50);
    let predicted: Predicted<Row>[] = [];
    // cockatiel lets a trial call through once halfOpenAfter has passed; until then calls fail fast
    for (let attempt = 0; attempt < 200 && predicted[0]?.prediction == null; attempt++) {
      predicted = values(await h.run(op, [batch(envs(healthy))])) as Predicted<Row>[];
      if (predicted[0]?.prediction == null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(predicted).toEqual(healthy.map(expected));
    expect(op.metrics.breakerState).toBe('closed');
    expect(op.metrics.breakerOpened).toBe(1);
    expect(op.metrics.breakerClosed).toBe(1);
    expect(server.stats().succeeded).toBe(1);
  });

  it('passes events on with prediction null when the endpoint does not answer within the timeout', async () => {
    server.setFaults({ hold: true });
    const h = harness();
    const op = predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features, batchSize: 3, timeout: '150ms', retries: 0 });
    const input = rows('p', 6);
    const out = values(await h.run(op, [batch(envs(input))])) as Predicted<Row>[];
    expect(out).toEqual(input.map((r) => ({ ...r, prediction: null, predictionError: "SageMaker endpoint 'telemetry-anomaly' did not answer within 150 ms" })));
    expect(h.counters.get('predict_timeouts')).toBe(2);
    // both calls reached the endpoint, and the client hung up on both
    await eventually(() => server.stats().aborted === 2, 'the server saw both clients leave');
    expect(server.stats()).toMatchObject({ invocations: 2, succeeded: 0 });
  });

  it("dead-letters events the endpoint refuses, with the service's reason, when onFailure is dead-letter", async () => {
    const h = harness();
    // the model takes 6 features; these rows send 2 and are refused with a ModelError, not retried
    const op = predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features.slice(0, 2), onFailure: 'dead-letter', retries: { attempts: 3, initialDelay: 1 } });
    const out = await h.run(op, [batch(envs(rows('p', 2)))]);
    expect(values(out)).toEqual([]);
    expect(server.stats()).toMatchObject({ invocations: 1, errors: { ModelError: 1 } });
    expect(h.deadLetters.map((d) => [d.stage, d.code, d.position['line']])).toEqual([
      ['predict', ErrorCode.PREDICTION_FAILED, 1],
      ['predict', ErrorCode.PREDICTION_FAILED, 2],
    ]);
    expect(h.deadLetters[0]?.reason).toBe(
      `predict failed: SageMaker endpoint 'telemetry-anomaly' failed: ModelError: Received client error (400) from primary with message "row 1 has 2 values; the model takes 6 (${model.features.join(', ')})". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/telemetry-anomaly in account 000000000000 for more information.`,
    );
  });

  it('retries server errors and throttling until the endpoint answers, and sends CSV when asked', async () => {
    server.setFaults({ failNext: 2, errorType: 'InternalFailure' });
    const h = harness();
    const op = predict({ endpoint: endpointOf(server, TELEMETRY_ANOMALY), features: (r: Row) => r.features, format: 'csv', retries: { attempts: 3, initialDelay: 1 } });
    const input = rows('p', 5);
    // CSV answers are one score per line
    expect(values(await h.run(op, [batch(envs(input))]))).toEqual(input.map((r) => ({ ...r, prediction: score(model, r.features).score })));
    expect(server.stats()).toMatchObject({ invocations: 3, succeeded: 1, errors: { InternalFailure: 2 } });
    expect(h.counters.get('predict_retries')).toBe(2);

    server.setFaults({ throttleNext: 2 });
    expect(values(await h.run(op, [batch(envs(input))]))).toEqual(input.map((r) => ({ ...r, prediction: score(model, r.features).score })));
    expect(h.counters.get('predict_throttled')).toBe(2);
  });
});
