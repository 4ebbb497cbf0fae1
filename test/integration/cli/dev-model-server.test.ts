/**
 * `sluice dev model-server` (issue 7): the local SageMaker-compatible endpoint in the foreground.
 * The real SDK client invokes it at the address it prints; SIGTERM and SIGINT stop it with exit 0.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModels, CLICKSTREAM_PURCHASE, score, TELEMETRY_ANOMALY, type LogisticModel, type Scored } from '../../../src/dev/model-server/index.js';
import { sleep, start, type Running } from '../recovery/recovery.js';
import { ensureBuilt, expectOneLineError, lines, sluice } from './cli.js';

const READY = /^sluice: SageMaker-compatible endpoints (.+) are running at (http:\/\/127\.0\.0\.1:(\d+)) \(Ctrl-C stops them\)$/;
const MODELS = bundledModels();

/** Any credentials will do: the local endpoint wants a signed request, not a valid signature. */
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' };

/** Waits for the line saying where it runs; fails if the process exits first. */
async function ready(server: Running): Promise<{ endpoints: string[]; url: string; port: number }> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  for (;;) {
    const line = lines(server.stderr()).find((l) => READY.test(l));
    if (line !== undefined) {
      const m = READY.exec(line) as RegExpExecArray;
      return { endpoints: (m[1] as string).split(', '), url: m[2] as string, port: Number(m[3]) };
    }
    if (exited) throw new Error(`sluice dev model-server exited before it was ready:\n${server.stderr()}`);
    await sleep(20);
  }
}

function model(name: string): LogisticModel {
  const m = MODELS.get(name);
  if (m === undefined) throw new Error(`${name} is not bundled`);
  return m;
}

const running: Running[] = [];

beforeAll(() => ensureBuilt());

afterAll(() => {
  // a failed test must not leave a server behind
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('sluice dev model-server', () => {
  it('prints its address and endpoints on one line, answers the SageMaker SDK there, refuses a taken port, and exits 0 on SIGTERM', async () => {
    const server = start(['dev', 'model-server']);
    running.push(server);
    const { endpoints, url, port } = await ready(server);
    expect(endpoints.sort()).toEqual([CLICKSTREAM_PURCHASE, TELEMETRY_ANOMALY]);

    const client = new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    try {
      const window = [24, 61.2, 74.9, 1.3, 2.41, 0];
      const spike = [24, 61.2, 180.5, 95.3, 41.7, 0];
      const telemetry = await client.send(
        new InvokeEndpointCommand({ EndpointName: TELEMETRY_ANOMALY, ContentType: 'text/csv', Accept: 'application/jsonlines', Body: `${window.join(',')}\n${spike.join(',')}\n` }),
      );
      expect(telemetry.ContentType).toBe('application/jsonlines');
      const answers = lines(new TextDecoder().decode(telemetry.Body)).map((l) => JSON.parse(l) as Scored);
      expect(answers).toEqual([score(model(TELEMETRY_ANOMALY), window), score(model(TELEMETRY_ANOMALY), spike)]);
      // the model tells the ordinary window from the one with a sensor's speed jump
      expect(answers.map((a) => a.predicted_label)).toEqual([0, 1]);

      const session = [6, 2, 1, 1, 1.8, 9.4, 129.99, 1, 0, 1, 0];
      const clickstream = await client.send(
        new InvokeEndpointCommand({ EndpointName: CLICKSTREAM_PURCHASE, ContentType: 'application/jsonlines', Body: `${JSON.stringify({ features: session })}\n` }),
      );
      expect(JSON.parse(new TextDecoder().decode(clickstream.Body))).toEqual(score(model(CLICKSTREAM_PURCHASE), session));
    } finally {
      client.destroy();
    }

    // a second one on the same port: one line naming the flag, exit 2
    const second = await sluice(['dev', 'model-server', '--port', String(port)]);
    expect(expectOneLineError(second, 2)).toContain(`--port ${port} is taken`);

    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code, server.stderr()).toBe(0);
    // nothing but the ready line, on stderr
    expect(lines(server.stderr())).toHaveLength(1);
    expect(server.stdout()).toBe('');
  });

  it('serves on the --port it is given and exits 0 on SIGINT', async () => {
    // a port that was free a moment ago: the first server's, which is gone
    const first = start(['dev', 'model-server']);
    running.push(first);
    const { port } = await ready(first);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const server = start(['dev', 'model-server', '--port', String(port)]);
    running.push(server);
    const { url } = await ready(server);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    server.child.kill('SIGINT');
    const { code } = await server.exited;
    expect(code, server.stderr()).toBe(0);
  });
});
