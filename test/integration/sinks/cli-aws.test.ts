import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, readJsonl, scratch, sluice } from '../cli/cli.js';
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from '../../support/moto.js';

// The AWS sinks through the command line, against moto: what an operator types.

const moto = useMoto();
let dir: string;
let cleanup: () => Promise<void>;
let input: string;
beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  input = join(dir, 'events.jsonl');
  const events = [
    { k: 'a', t: 1_000, v: 1 },
    { k: 'b', t: 2_000, v: 2 },
    { k: 'a', t: 3_000, v: 3 },
    { k: 'a', t: 12_000, v: 4 },
  ];
  await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n{not json\n');
});
afterAll(() => cleanup());

const env = (): Record<string, string> => ({
  SLUICE_AWS_ENDPOINT: moto.endpoint,
  AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
  AWS_REGION: MOTO_REGION,
});
const aggregate = ['aggregate', '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v'];

describe('AWS sinks from the command line', () => {
  it('--sink firehose:// delivers every result as one JSON line in S3; --dead-letter dlq:firehose:// the bad record', async () => {
    const results = await moto.createDeliveryStream();
    const dead = await moto.createDeliveryStream();
    const reference = join(dir, 'reference.jsonl');
    const local = await sluice([...aggregate, '--source', `file:${input}`, '--sink', `file:${reference}`, '--dead-letter', `file:${join(dir, 'ref-dead.jsonl')}`]);
    expect(local.code, local.stderr).toBe(0);

    const run = await sluice([...aggregate, '--source', `file:${input}`, '--sink', `firehose://${results.name}`, '--dead-letter', `dlq:firehose://${dead.name}`], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.errLines).toHaveLength(1);
    const lines = (await moto.readObjects(results.bucket, results.prefix)).flatMap((o) => o.body.split('\n').filter(Boolean));
    expect(lines.sort()).toEqual((await readJsonl(reference)).map((r) => JSON.stringify(r)).sort());
    const deadLines = (await moto.readObjects(dead.bucket, dead.prefix)).flatMap((o) => o.body.split('\n').filter(Boolean));
    expect(deadLines.map((l) => JSON.parse(l) as { code: string; raw: string })).toMatchObject([{ code: 'PARSE_ERROR', raw: '{not json' }]);
  });

  it('--sink timestream:// writes one multi-measure record per result, versioned by revision', async () => {
    const { database, table } = await moto.createTimestreamTable();
    const run = await sluice([...aggregate, '--source', `file:${input}`, '--sink', `timestream://${database}/${table}`, '--dead-letter', `file:${join(dir, 'ts-dead.jsonl')}`], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const records = await moto.timestreamRecords(database, table);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.Version === 1)).toBe(true);
    const sums = records.map((r) => Number(r.MeasureValues?.find((m) => m.Name === 'sum_v')?.Value)).sort();
    expect(sums).toEqual([2, 4, 4]);
  });

  it('a missing delivery stream stops the run before reading, in one line', async () => {
    const run = await sluice([...aggregate, '--source', `file:${input}`, '--sink', 'firehose://no-such-stream'], { env: env() });
    expect(run.code).toBe(1);
    expect(run.errLines).toHaveLength(1);
    expect(run.errLines[0]).toMatch(/no-such-stream/);
  });
});
