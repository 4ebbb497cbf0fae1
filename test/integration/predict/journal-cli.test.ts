/**
 * `--journal DIR` from the command line: a second run of a prediction pipeline over the same
 * input, pointed at the first run's journal, calls the endpoint not at all and writes the same
 * results — how a backfill reuses the predictions a live run paid for.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, TELEMETRY_ANOMALY, type ModelServer } from '../../../src/dev/model-server/index.js';
import { ensureBuilt, scratch, sluice } from '../cli/cli.js';

let server: ModelServer;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ensureBuilt();
  server = await startModelServer();
  ({ dir, cleanup } = await scratch());
});
afterAll(async () => {
  await server.stop();
  await cleanup();
});

describe('sluice run --journal', () => {
  it('reuses the predictions of an earlier run: no call, same results', async () => {
    const journal = join(dir, 'journal');
    const run = async (out: string) =>
      sluice(['run', 'telemetry-anomalies', '--source', 'generator:telemetry?events=20000&seed=7', '--sink', `file:${out}`, '--journal', journal], {
        env: { SLUICE_MODEL_ENDPOINT_URL: server.url },
      });
    const first = await run(join(dir, 'first.jsonl'));
    expect(first.code, first.stderr).toBe(0);
    const paid = server.stats().byEndpoint[TELEMETRY_ANOMALY]?.records ?? 0;
    expect(paid).toBeGreaterThan(0);

    const second = await run(join(dir, 'second.jsonl'));
    expect(second.code, second.stderr).toBe(0);
    expect(server.stats().byEndpoint[TELEMETRY_ANOMALY]?.records).toBe(paid);
    const [a, b] = [await readFile(join(dir, 'first.jsonl'), 'utf8'), await readFile(join(dir, 'second.jsonl'), 'utf8')];
    expect(b).toBe(a);
    expect(a.split('\n').filter(Boolean).every((line) => typeof (JSON.parse(line) as { anomalyScore: unknown }).anomalyScore === 'number')).toBe(true);
  });
});
