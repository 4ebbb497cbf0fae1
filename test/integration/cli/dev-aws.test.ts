/**
 * `sluice dev aws` (issue 6): the delivery sinks' local peers in the foreground, and Sluice
 * writing to them at the addresses it prints.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxQuery } from '../../../src/dev/influxdb/index.js';
import { sleep, start, type Running } from '../recovery/recovery.js';
import { ensureBuilt, expectOneLineError, lines, scratch, sluice } from './cli.js';

const running: Running[] = [];
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await cleanup();
});

/** Waits for the closing line; fails if the process exits first. */
async function ready(peers: Running): Promise<string[]> {
  let exited = false;
  void peers.exited.then(() => (exited = true));
  for (let i = 0; i < 3000; i++) {
    const out = lines(peers.stderr());
    if (out.includes('sluice: Ctrl-C stops them')) return out;
    if (exited) break;
    await sleep(100);
  }
  throw new Error(`sluice dev aws did not get ready:\n${peers.stderr()}`);
}

describe('sluice dev aws', () => {
  it('runs moto, OpenSearch and InfluxDB, prints how to reach each, takes Sluice output there, and exits 0 on SIGTERM', async () => {
    const peers = start(['dev', 'aws']);
    running.push(peers);
    const out = await ready(peers);
    expect(out).toHaveLength(4);
    const moto = /^sluice: moto \(Firehose → S3, Timestream, S3\) at (http:\/\/127\.0\.0\.1:\d+); for Sluice and the AWS CLI: SLUICE_AWS_ENDPOINT=\1 /.exec(out[0] ?? '');
    const opensearch = /^sluice: OpenSearch 2\.19\.\d+ at http:\/\/127\.0\.0\.1:\d+; --sink (opensearch:\/\/127\.0\.0\.1:\d+)\/INDEX$/.exec(out[1] ?? '');
    const influx = /^sluice: InfluxDB 1\.x at (http:\/\/127\.0\.0\.1:\d+); --sink '(influxdb:\/\/127\.0\.0\.1:\d+\/sluice\?api=v1)'$/.exec(out[2] ?? '');
    expect([moto, opensearch, influx].every((m) => m !== null), out.join('\n')).toBe(true);

    const input = join(dir, 'events.jsonl');
    await writeFile(input, ['a', 'b', 'a'].map((k, i) => JSON.stringify({ k, t: 1_000 * i, v: i })).join('\n') + '\n');
    const run = await sluice([
      'aggregate', '--source', `file:${input}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count',
      '--sink', `${opensearch?.[1] ?? ''}/dev-aws`, '--sink', influx?.[2] ?? '',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const answer = await influxQuery(influx?.[1] ?? '', 'SELECT "count" FROM "aggregate" GROUP BY *', { db: 'sluice' });
    expect(JSON.stringify(answer)).toContain('"count"');

    // the same ports again: taken, said in one line
    const port = /:(\d+)$/.exec(influx?.[1] ?? '')?.[1] ?? '';
    expect(expectOneLineError(await sluice(['dev', 'aws', '--only', 'influxdb', '--influxdb-port', port]), 2)).toMatch(new RegExp(port));

    peers.child.kill('SIGTERM');
    const exit = await peers.exited;
    expect(exit.code, peers.stderr()).toBe(0);
  }, 300_000);

  it('names the peers it knows when --only names another', async () => {
    expect(expectOneLineError(await sluice(['dev', 'aws', '--only', 'moto,redis']), 2)).toContain("--only 'moto,redis': choose from moto, opensearch, influxdb");
  });
});
