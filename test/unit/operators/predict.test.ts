import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { batch, END, watermark, type Element } from '../../../src/core/elements.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { predict, type InvokeRequest, type InvokeResponse, type Predicted, type PredictionService } from '../../../src/operators/predict.js';
import { deferred, env, envs, harness, shape, until, values, type Deferred } from './harness.js';

// The operator against a narrow fake of the endpoint: batching, order, retries, breaker, timeout
// and failure handling, with no network. The real client and server are in
// test/integration/predict.

interface Reading {
  readonly id: number;
  readonly x: number;
}

const features = (r: Reading): number[] => [r.id, r.x];
const readings = (n: number): Reading[] => Array.from({ length: n }, (_, i) => ({ id: i, x: i * 10 }));

/** An error as the SageMaker client raises it: the type in `name`, the HTTP status in `$metadata`. */
function serviceError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} (from the fake endpoint)`), { name, $metadata: { httpStatusCode: status }, ...extra });
}

/** The records of a JSON Lines request body. */
function featuresOf(request: InvokeRequest): number[][] {
  return request.body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { features: number[] }).features);
}

/** A made-up model: a record's score is the sum of its features. */
function answer(request: InvokeRequest): InvokeResponse {
  const body = featuresOf(request)
    .map((f) => JSON.stringify({ score: f.reduce((a, b) => a + b, 0) }) + '\n')
    .join('');
  return { body: new TextEncoder().encode(body), contentType: 'application/jsonlines' };
}

/** The made-up model's prediction for a reading. */
const expected = (r: Reading): { score: number } => ({ score: r.id + r.x });

/**
 * A fake endpoint: records every call; answers it with `respond` (an Error rejects, 'hang' never
 * answers), or, without `respond`, keeps it pending until the test settles it. Honours aborts.
 */
class FakeEndpoint implements PredictionService {
  readonly requests: InvokeRequest[] = [];
  readonly pending: { readonly request: InvokeRequest; readonly reply: Deferred<InvokeResponse> }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  aborted = 0;

  constructor(private readonly respond?: (request: InvokeRequest, n: number) => InvokeResponse | Error | 'hang') {}

  invoke(request: InvokeRequest, signal: AbortSignal): Promise<InvokeResponse> {
    this.requests.push(request);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const reply = deferred<InvokeResponse>();
    signal.addEventListener('abort', () => {
      this.aborted++;
      reply.reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    });
    const outcome = this.respond?.(request, this.requests.length);
    if (outcome === undefined) this.pending.push({ request, reply });
    else if (outcome instanceof Error) reply.reject(outcome);
    else if (outcome !== 'hang') reply.resolve(outcome);
    return reply.promise.finally(() => this.inFlight--);
  }

  /** Answers the pending call at `index` (among those still pending, in order of arrival). */
  settle(index: number, response?: InvokeResponse | Error): void {
    const [call] = this.pending.splice(index, 1);
    if (call === undefined) throw new Error(`no pending call at ${index}`);
    if (response instanceof Error) call.reply.reject(response);
    else call.reply.resolve(response ?? answer(call.request));
  }
}

/** Fast retries, so tests that retry do not wait. */
const quickRetries = { attempts: 3, initialDelay: 1, maxDelay: 2 };

describe('predict', () => {
  it('sends several events per call, batchSize at most, and gives each event its own prediction in order', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(answer);
    const input = readings(10);
    const out = await h.run(predict({ endpoint: 'model', features, batchSize: 4, service: endpoint }), [batch(envs(input))]);
    expect(endpoint.requests.map((r) => featuresOf(r).length)).toEqual([4, 4, 2]);
    expect(endpoint.requests[0]).toMatchObject({ endpointName: 'model', contentType: 'application/jsonlines', accept: 'application/jsonlines' });
    expect(values(out)).toEqual(input.map((r) => ({ ...r, prediction: expected(r) })));
    expect(h.counters.get('predict_calls')).toBe(3);
    expect(h.counters.get('predict_records')).toBe(10);
  });

  it('keeps input order when calls come back in reverse, with at most maxConcurrency calls in flight', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint();
    const input = readings(12);
    const result = lastValueFrom(from<Element<Reading>[]>([batch(envs(input)), END]).pipe(predict({ endpoint: 'model', features, batchSize: 2, maxConcurrency: 3, service: endpoint })(h.ctx), toArray()));

    await until(() => endpoint.pending.length === 3, 'three calls in flight');
    // let any further work run: a fourth call must wait for a permit
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(endpoint.requests).toHaveLength(3);
    // answer the newest call first, every time
    let answered = 0;
    while (answered < 6) {
      await until(() => endpoint.pending.length > 0, 'a pending call');
      endpoint.settle(endpoint.pending.length - 1);
      answered++;
    }
    const out = await result;
    expect(shape(out)).toEqual([{ batch: input.map((r) => ({ ...r, prediction: expected(r) })) }, END]);
    expect(endpoint.maxInFlight).toBe(3);
  });

  it('holds control elements, a checkpoint barrier among them, behind the batch whose calls are in flight', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint();
    const seen: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      from<Element<Reading>[]>([watermark(5), batch(envs(readings(2))), { kind: 'barrier', checkpointId: 7 }, END])
        .pipe(predict({ endpoint: 'model', features, service: endpoint })(h.ctx))
        .subscribe({ next: (element) => seen.push(...shape([element])), error: reject, complete: resolve });
    });
    await until(() => endpoint.pending.length === 1, 'the call went out');
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen).toEqual([watermark(5)]);
    endpoint.settle(0);
    await done;
    expect(seen).toEqual([watermark(5), { batch: readings(2).map((r) => ({ ...r, prediction: expected(r) })) }, { kind: 'barrier', checkpointId: 7 }, END]);
  });

  it('retries a ServiceUnavailable and keeps the prediction of the attempt that worked', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint((request, n) => (n === 1 ? serviceError('ServiceUnavailable', 503) : answer(request)));
    const out = await h.run(predict({ endpoint: 'model', features, retries: quickRetries, service: endpoint }), [batch(envs(readings(3)))]);
    expect(values(out)).toEqual(readings(3).map((r) => ({ ...r, prediction: expected(r) })));
    expect(endpoint.requests).toHaveLength(2);
    expect(h.counters.get('predict_calls')).toBe(2);
    expect(h.counters.get('predict_retries')).toBe(1);
  });

  it('does not retry a ValidationError: the events go on with prediction null and the reason', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(() => serviceError('ValidationError', 400));
    const out = await h.run(predict({ endpoint: 'model', features, retries: quickRetries, service: endpoint }), [batch(envs(readings(2)))]);
    expect(endpoint.requests).toHaveLength(1);
    const events = values(out) as Predicted<Reading>[];
    expect(events.map((e) => e.prediction)).toEqual([null, null]);
    expect(events[0]?.predictionError).toBe("SageMaker endpoint 'model' failed: ValidationError: ValidationError (from the fake endpoint)");
    expect(h.counters.get('predict_fallbacks')).toBe(2);
    expect(h.counters.get('predict_failed_calls')).toBe(1);
  });

  it('sends the events of a failed call to the dead-letter output with onFailure: dead-letter', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint((request) => (featuresOf(request)[0]?.[0] === 0 ? serviceError('InternalFailure', 500) : answer(request)));
    const out = await h.run(predict({ endpoint: 'model', features, batchSize: 2, retries: { attempts: 1, initialDelay: 1 }, onFailure: 'dead-letter', service: endpoint }), [
      batch(envs(readings(4))),
    ]);
    // the first call (readings 0 and 1) failed twice; the second went through
    expect(values(out)).toEqual(readings(4).slice(2).map((r) => ({ ...r, prediction: expected(r) })));
    expect(h.deadLetters.map((d) => [d.stage, d.code, d.reason, d.position['line']])).toEqual([
      ['predict', ErrorCode.PREDICTION_FAILED, "predict failed: SageMaker endpoint 'model' failed: InternalFailure: InternalFailure (from the fake endpoint) (gave up after 2 attempts)", 1],
      ['predict', ErrorCode.PREDICTION_FAILED, "predict failed: SageMaker endpoint 'model' failed: InternalFailure: InternalFailure (from the fake endpoint) (gave up after 2 attempts)", 2],
    ]);
    expect(h.counters.get('predict_fallbacks')).toBe(0);
  });

  it('halves the concurrency when the endpoint throttles, retries the throttled calls, and grows it back on success', async () => {
    const h = harness();
    // everything in the first round is throttled; later calls succeed
    const endpoint = new FakeEndpoint((request, n) => (n <= 8 ? serviceError('ThrottlingException', 400) : answer(request)));
    const op = predict({ endpoint: 'model', features, batchSize: 1, maxConcurrency: 8, retries: { attempts: 10, initialDelay: 1, maxDelay: 2 }, service: endpoint });
    const first = await h.run(op, [batch(envs(readings(8)))]);
    expect(values(first)).toEqual(readings(8).map((r) => ({ ...r, prediction: expected(r) })));
    expect(h.counters.get('predict_throttled')).toBe(8);
    // eight calls throttled at once halve the limit once, not eight times
    expect(op.metrics.concurrency.decreases).toBe(1);
    expect(op.metrics.concurrency.lowest).toBe(4);
    // more successful rounds bring it back to the maximum
    for (let round = 0; round < 10; round++) await h.run(op, [batch(envs(readings(8)))]);
    expect(op.metrics.concurrency.limit).toBe(8);
    expect(op.metrics.concurrency.inFlight).toBe(0);
  });

  it('opens the breaker after consecutive failures, fails later calls without sending them, and closes after a good trial call', async () => {
    const h = harness();
    let healthy = false;
    const endpoint = new FakeEndpoint((request) => (healthy ? answer(request) : serviceError('ServiceUnavailable', 503)));
    const op = predict({ endpoint: 'model', features, batchSize: 1, maxConcurrency: 1, retries: 0, breaker: { consecutiveFailures: 3, halfOpenAfter: 30 }, service: endpoint });
    const out = await h.run(op, [batch(envs(readings(6)))]);
    expect(endpoint.requests).toHaveLength(3);
    const reasons = (values(out) as Predicted<Reading>[]).map((e) => e.predictionError);
    expect(reasons.slice(3)).toEqual(Array(3).fill("SageMaker endpoint 'model' not called: circuit breaker open after 3 consecutive failures; it lets a trial call through 30 ms after opening"));
    expect(h.counters.get('predict_breaker_rejected')).toBe(3);
    expect(op.metrics.breakerState).toBe('open');
    expect(op.metrics.breakerOpened).toBe(1);

    healthy = true;
    // the breaker lets a trial call through once halfOpenAfter has passed (wall-clock, in cockatiel)
    await new Promise((resolve) => setTimeout(resolve, 40));
    const after = await h.run(op, [batch(envs(readings(2)))]);
    expect(values(after)).toEqual(readings(2).map((r) => ({ ...r, prediction: expected(r) })));
    expect(op.metrics.breakerState).toBe('closed');
    expect(op.metrics.breakerClosed).toBe(1);
  });

  it('gives up on a call that does not answer within the timeout, aborting it', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(() => 'hang');
    const out = await h.run(predict({ endpoint: 'model', features, timeout: 20, retries: 0, service: endpoint }), [batch(envs(readings(2)))]);
    expect((values(out) as Predicted<Reading>[]).map((e) => [e.prediction, e.predictionError])).toEqual([
      [null, "SageMaker endpoint 'model' did not answer within 20 ms"],
      [null, "SageMaker endpoint 'model' did not answer within 20 ms"],
    ]);
    expect(endpoint.aborted).toBe(1);
    expect(h.counters.get('predict_timeouts')).toBe(1);
  });

  it('dead-letters events whose features throw (OPERATOR_FAILED) or are not numbers (BAD_FIELD), and sends only the others', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(answer);
    const out = await h.run(
      predict({
        endpoint: 'model',
        service: endpoint,
        features: (r: Reading) => {
          if (r.id === 1) throw new Error('no speed');
          return r.id === 2 ? [Number.NaN, 1] : features(r);
        },
      }),
      [batch(envs(readings(4)))],
    );
    expect(values(out)).toEqual([readings(4)[0], readings(4)[3]].map((r) => ({ ...(r as Reading), prediction: expected(r as Reading) })));
    expect(endpoint.requests.map(featuresOf)).toEqual([[[0, 0], [3, 30]]]);
    expect(h.deadLetters.map((d) => [d.code, d.reason, d.position['line']])).toEqual([
      [ErrorCode.OPERATOR_FAILED, 'predict failed: no speed', 2],
      [ErrorCode.BAD_FIELD, 'predict features: feature 0 is NaN, not a finite number', 3],
    ]);
  });

  it('fails a call whose answer has another number of predictions than records', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(() => ({ body: new TextEncoder().encode('{"score":1}\n'), contentType: 'application/jsonlines' }));
    const out = await h.run(predict({ endpoint: 'model', features, service: endpoint }), [batch(envs(readings(2)))]);
    expect((values(out) as Predicted<Reading>[]).map((e) => e.predictionError)).toEqual(Array(2).fill("SageMaker endpoint 'model' failed: ResponseError: the endpoint answered 1 predictions for 2 records"));
  });

  it('never sends a record over the payload limit, and packs the rest under it', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(answer);
    // '{"features":[1,1]}\n' is 19 bytes: two fit in 38, a third does not; the last record is 40
    const input = [{ id: 1, x: 1 }, { id: 2, x: 2 }, { id: 3, x: 3 }, { id: 4, x: 2 ** 70 }];
    const out = await h.run(predict({ endpoint: 'model', features, maxPayloadBytes: 38, service: endpoint }), [batch(envs(input))]);
    expect(endpoint.requests.map((r) => r.body)).toEqual(['{"features":[1,1]}\n{"features":[2,2]}\n', '{"features":[3,3]}\n']);
    expect((values(out) as Predicted<Reading>[]).map((e) => e.predictionError ?? e.prediction)).toEqual([
      { score: 2 },
      { score: 4 },
      { score: 6 },
      'record encodes to 40 bytes, over the 38-byte InvokeEndpoint payload limit',
    ]);
  });

  it('sends CSV rows with format: csv and reads a CSV answer', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint((request) => ({
      body: new TextEncoder().encode(
        request.body
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => `${l.split(',').reduce((a, b) => a + Number(b), 0)}\n`)
          .join(''),
      ),
      contentType: 'text/csv',
    }));
    const out = await h.run(predict({ endpoint: 'model', features, format: 'csv', service: endpoint }), [batch(envs(readings(3)))]);
    expect(endpoint.requests[0]).toMatchObject({ contentType: 'text/csv', accept: 'text/csv', body: '0,0\n1,10\n2,20\n' });
    expect(values(out)).toEqual(readings(3).map((r) => ({ ...r, prediction: r.id + r.x })));
  });

  it('merges with a custom merge, and dead-letters an event whose merge throws', async () => {
    const h = harness();
    const endpoint = new FakeEndpoint(answer);
    const op = predict({
      endpoint: 'model',
      features,
      service: endpoint,
      merge: (r: Reading, p: { score: number } | null) => {
        if (r.id === 1) throw new Error('cannot merge reading 1');
        return { id: r.id, risk: p?.score ?? -1 };
      },
    });
    const out = await h.run(op, [batch([env<Reading>({ id: 0, x: 1 }, 1), env<Reading>({ id: 1, x: 1 }, 2)])]);
    expect(values(out)).toEqual([{ id: 0, risk: 1 }]);
    expect(h.deadLetters.map((d) => [d.code, d.reason])).toEqual([[ErrorCode.OPERATOR_FAILED, 'predict failed: cannot merge reading 1']]);
  });

  it('rejects bad options with a UserError naming the option', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ endpoint: 'model', batchSize: 0 }, 'predict batchSize must be a whole number from 1 to 10000, got 0'],
      [{ endpoint: 'not a name' }, "predict endpoint name 'not a name' is not a SageMaker endpoint name"],
      [{ endpoint: 'model', maxConcurrency: 2, minConcurrency: 3 }, 'predict minConcurrency must be a whole number from 1 to 2, got 3'],
      [{ endpoint: 'model', timeout: '0s' }, 'predict timeout must be longer than 0'],
      [{ endpoint: 'model', format: 'xml' }, "predict format must be 'jsonlines' or 'csv', got 'xml'"],
      [{ endpoint: 'model', maxPayloadBytes: 7 * 1024 * 1024 }, 'predict maxPayloadBytes must be a whole number from 1 to 6291456'],
      [{ endpoint: { name: 'model', url: 'ftp://x' } }, "predict endpoint url 'ftp://x' must be http(s)://HOST[:PORT]"],
      [{ endpoint: 'model', onFailure: 'drop' }, "predict onFailure must be 'pass' or 'dead-letter', got 'drop'"],
    ];
    for (const [options, message] of bad) {
      const attempt = (): unknown => predict({ features, ...options } as unknown as Parameters<typeof predict<Reading>>[0]);
      expect(attempt).toThrow(UserError);
      expect(attempt).toThrow(message);
    }
  });
});
