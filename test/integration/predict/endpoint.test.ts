import {
  InternalDependencyException,
  InternalFailure,
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  ServiceUnavailable,
  ValidationError,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundledModels, MAX_PAYLOAD_BYTES, score, startModelServer, TELEMETRY_ANOMALY, type ModelServer } from '../../../src/dev/model-server/index.js';
import { eventually, sdkClient } from './helpers.js';

// The local endpoint against the real @aws-sdk/client-sagemaker-runtime client: answers, headers
// and every error arrive as the SDK reads them from the real service.

let server: ModelServer;
let client: SageMakerRuntimeClient;
const model = bundledModels().get(TELEMETRY_ANOMALY);
if (model === undefined) throw new Error('the telemetry model is not bundled');

const calm = [24, 61.2, 74.9, 1.3, 2.41, 0];
const faulty = [24, 66.0, 198.4, 120.5, 3.1, 0];
const text = (body: Uint8Array | undefined): string => new TextDecoder().decode(body);

beforeAll(async () => {
  server = await startModelServer();
  client = sdkClient(server);
});

afterAll(async () => {
  client.destroy();
  await server.stop();
});

beforeEach(() => {
  server.setFaults({});
  server.resetStats();
});

/** Invokes the telemetry model; resolves with the SDK's error when it throws. */
async function invoke(input: { Body: string; ContentType?: string; Accept?: string; EndpointName?: string }): Promise<unknown> {
  try {
    return await client.send(new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'text/csv', ...input }));
  } catch (err) {
    return err;
  }
}

describe('local SageMaker endpoint (src/dev/model-server)', () => {
  it('scores CSV rows: one score per line, with the content type and production variant headers', async () => {
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'text/csv', Body: `${calm.join(',')}\n${faulty.join(',')}\n` }));
    expect(out.ContentType).toBe('text/csv');
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const scores = text(out.Body).trim().split('\n').map(Number);
    expect(scores).toEqual([score(model, calm).score, score(model, faulty).score]);
    // the model tells a calm window from one with a 120 km/h speed spike
    expect(scores[0]).toBeLessThan(0.01);
    expect(scores[1]).toBeGreaterThan(0.99);
  });

  it('reads JSON Lines and JSON in the common inference formats and answers as Linear Learner does', async () => {
    const named = Object.fromEntries(model.features.map((f, i) => [f, faulty[i]]));
    const lines = await client.send(
      new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'application/jsonlines', Body: `${JSON.stringify({ features: calm })}\n${JSON.stringify(named)}\n` }),
    );
    expect(lines.ContentType).toBe('application/jsonlines');
    expect(text(lines.Body)).toBe(`${JSON.stringify(score(model, calm))}\n${JSON.stringify(score(model, faulty))}\n`);
    expect(score(model, faulty).predicted_label).toBe(1);

    const json = await client.send(
      new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'application/json', Accept: 'application/jsonlines', Body: JSON.stringify({ instances: [{ features: calm }, faulty] }) }),
    );
    expect(json.ContentType).toBe('application/jsonlines');
    expect(text(json.Body)).toBe(`${JSON.stringify(score(model, calm))}\n${JSON.stringify(score(model, faulty))}\n`);

    const answer = await client.send(new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'text/csv', Accept: 'application/json', Body: `${calm.join(',')}\n` }));
    expect(JSON.parse(text(answer.Body))).toEqual({ predictions: [score(model, calm)] });
  });

  it('answers an unknown endpoint and an oversize body with ValidationError (400)', async () => {
    const unknown = await invoke({ EndpointName: 'no-such-model', Body: '1\n' });
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown).toMatchObject({ $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Endpoint no-such-model of account 000000000000 not found.' });

    const rows = `${calm.join(',')}\n`;
    const oversize = await invoke({ Body: rows.repeat(Math.ceil((MAX_PAYLOAD_BYTES + 1) / rows.length)) });
    expect(oversize).toBeInstanceOf(ValidationError);
    expect((oversize as ValidationError).message).toMatch(/^Request [0-9a-f-]{36} has oversize body\.$/);
    // exactly at the limit is fine
    const atLimit = rows.repeat(Math.floor(MAX_PAYLOAD_BYTES / rows.length));
    expect(await invoke({ Body: atLimit })).toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });

  it('wraps what the model cannot read in ModelError (424) with the container status and message', async () => {
    const short = await invoke({ Body: '1,2\n' });
    expect(short).toBeInstanceOf(ModelError);
    expect(short).toMatchObject({
      $metadata: { httpStatusCode: 424 },
      OriginalStatusCode: 400,
      OriginalMessage: 'row 1 has 2 values; the model takes 6 (readings, meanSpeedKmh, maxSpeedKmh, speedSpikeKmh, maxAbsAccelMs2, harshBrakes)',
      LogStreamArn: 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/telemetry-anomaly',
    });
    expect((short as ModelError).message).toMatch(/^Received client error \(400\) from primary with message "row 1 has 2 values/);

    expect(await invoke({ Body: 'a,b,c,d,e,f\n' })).toMatchObject({ name: 'ModelError', OriginalMessage: "row 1: could not convert 'a' to a number" });
    expect(await invoke({ ContentType: 'application/x-recordio-protobuf', Body: 'x' })).toMatchObject({ name: 'ModelError', OriginalStatusCode: 415 });
    expect(await invoke({ Accept: 'image/png', Body: `${calm.join(',')}\n` })).toMatchObject({ name: 'ModelError', OriginalStatusCode: 406 });
    expect(await invoke({ ContentType: 'application/jsonlines', Body: '{"readings":24}\n' })).toMatchObject({ name: 'ModelError', OriginalMessage: "row 1: missing feature 'meanSpeedKmh'" });
  });

  it('injects the service errors the SDK knows, each parsed into its own class with its status', async () => {
    const cases = [
      ['ServiceUnavailable', ServiceUnavailable, 503, 'server'],
      ['InternalFailure', InternalFailure, 500, 'server'],
      ['InternalDependencyException', InternalDependencyException, 530, 'server'],
      ['ModelNotReadyException', ModelNotReadyException, 429, 'client'],
      ['ModelError', ModelError, 424, 'client'],
    ] as const;
    for (const [errorType, cls, status, fault] of cases) {
      server.setFaults({ failNext: 1, errorType });
      const err = await invoke({ Body: `${calm.join(',')}\n` });
      expect(err).toBeInstanceOf(cls);
      expect(err).toMatchObject({ name: errorType, $fault: fault, $metadata: { httpStatusCode: status } });
      // only the next one failed
      expect(await invoke({ Body: `${calm.join(',')}\n` })).toMatchObject({ $metadata: { httpStatusCode: 200 } });
    }
    expect(server.stats()).toMatchObject({ invocations: 10, succeeded: 5, errors: { ServiceUnavailable: 1, InternalFailure: 1, InternalDependencyException: 1, ModelNotReadyException: 1, ModelError: 1 } });
  });

  it('throttles with ThrottlingException (400) by count, by rate and beyond a concurrency', async () => {
    server.setFaults({ throttleNext: 2 });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await invoke({ Body: `${calm.join(',')}\n` }));
    expect(results.map((r) => (r as { name?: string }).name ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
    expect(results[0]).toMatchObject({ $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

    server.setFaults({ throttleRate: 1 });
    expect(await invoke({ Body: `${calm.join(',')}\n` })).toMatchObject({ name: 'ThrottlingException' });

    // with 6 calls held open at once and room for 2, the other 4 are throttled
    server.setFaults({ maxConcurrency: 2, hold: true });
    const burst = Array.from({ length: 6 }, () => invoke({ Body: `${calm.join(',')}\n` }));
    // 3 throttled before the burst: wait for the burst's 2 held and 4 throttled
    await eventually(() => server.stats().held === 2 && server.stats().throttled === 3 + 4, 'the burst arrived');
    expect(server.release()).toBe(2);
    const outcomes = (await Promise.all(burst)).map((r) => (r as { name?: string }).name ?? 'ok').sort();
    expect(outcomes).toEqual(['ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ok', 'ok']);
    expect(server.stats()).toMatchObject({ throttled: 3 + 4, succeeded: 1 + 2 });
  });

  it('counts invocations, records and calls per endpoint, and resets the counts', async () => {
    await invoke({ Body: `${calm.join(',')}\n${calm.join(',')}\n` });
    await invoke({ EndpointName: 'clickstream-purchase', Body: `${new Array(11).fill(1).join(',')}\n` });
    expect(server.stats()).toMatchObject({
      invocations: 2,
      succeeded: 2,
      records: 3,
      byEndpoint: { 'telemetry-anomaly': { invocations: 1, records: 2 }, 'clickstream-purchase': { invocations: 1, records: 1 } },
    });
    server.resetStats();
    expect(server.stats()).toMatchObject({ invocations: 0, records: 0 });
  });

  it('serves its admin routes over HTTP and refuses unsigned invocations', async () => {
    const post = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    expect(await (await post('/_admin/faults', { latencyMs: 5, throttleRate: 0.5 })).json()).toEqual({ latencyMs: 5, throttleRate: 0.5 });
    expect(server.faults()).toEqual({ latencyMs: 5, throttleRate: 0.5 });
    const bad = await post('/_admin/faults', { errorRate: 2 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: 'errorRate must be between 0 and 1, got 2' });
    expect((await (await post('/_admin/faults', { typo: 1 })).json()) as unknown).toEqual({ message: expect.stringContaining("unknown fault 'typo'") });
    await post('/_admin/faults', {});
    await invoke({ Body: `${calm.join(',')}\n` });
    expect(await (await fetch(`${server.url}/_admin/stats`)).json()).toMatchObject({ invocations: 1, records: 1 });
    expect(await (await post('/_admin/reset')).json()).toMatchObject({ invocations: 0 });
    expect(await (await post('/_admin/release')).json()).toEqual({ released: 0 });

    const unsigned = await fetch(`${server.url}/endpoints/${TELEMETRY_ANOMALY}/invocations`, { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: `${calm.join(',')}\n` });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(server.stats().invocations).toBe(0);
  });
});
