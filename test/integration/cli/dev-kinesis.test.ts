/**
 * `sluice dev kinesis`: kinesis-local and dynalite in the foreground, reachable at the addresses
 * and with the environment it prints; SIGINT stops both with exit 0 and frees their ports.
 */
import { createServer } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoClient, localKinesisClient } from '../../../src/dev/kinesis/index.js';
import { KINESIS_START_TIMEOUT_MS } from '../../support/kinesis.js';
import { sleep, start, type Running } from '../recovery/recovery.js';
import { ensureBuilt, expectOneLineError, lines, sluice } from './cli.js';

const running: Running[] = [];
beforeAll(() => {
  ensureBuilt();
});
afterAll(() => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

/** Waits for the closing line; fails if the process exits first. */
async function ready(peers: Running): Promise<string[]> {
  let exited = false;
  void peers.exited.then(() => (exited = true));
  for (let i = 0; i < KINESIS_START_TIMEOUT_MS / 100; i++) {
    const out = lines(peers.stderr());
    if (out.includes('sluice: Ctrl-C stops them')) return out;
    if (exited) break;
    await sleep(100);
  }
  throw new Error(`sluice dev kinesis did not get ready:\n${peers.stderr()}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe('sluice dev kinesis', () => {
  it('runs kinesis-local with the streams asked for and dynalite, prints what to set, and exits 0 on SIGINT', async () => {
    const peers = start(['dev', 'kinesis', '--streams', 'clicks:2,orders:1']);
    running.push(peers);
    const out = await ready(peers);
    expect(out, out.join('\n')).toHaveLength(4);
    const kinesisLine = /^sluice: Kinesis \(kinesis-local 0\.6\.2\) at (http:\/\/127\.0\.0\.1:(\d+)) with streams clicks \(2 shards\), orders \(1 shard\); /.exec(out[0] ?? '');
    const dynamoLine = /^sluice: DynamoDB \(dynalite 4\.0\.0\) at (http:\/\/127\.0\.0\.1:(\d+))$/.exec(out[1] ?? '');
    expect(kinesisLine, out.join('\n')).not.toBeNull();
    expect(dynamoLine, out.join('\n')).not.toBeNull();
    const kinesisEndpoint = kinesisLine?.[1] ?? '';
    const dynamoEndpoint = dynamoLine?.[1] ?? '';
    expect(out[2]).toBe(`sluice: for Sluice: SLUICE_KINESIS_ENDPOINT=${kinesisEndpoint} SLUICE_DYNAMODB_ENDPOINT=${dynamoEndpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`);
    expect(peers.stdout()).toBe('');

    const kinesis = localKinesisClient(kinesisEndpoint);
    const dynamo = localDynamoClient(dynamoEndpoint);
    try {
      expect((await kinesis.send(new ListShardsCommand({ StreamName: 'clicks' }))).Shards).toHaveLength(2);
      expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      kinesis.destroy();
      dynamo.destroy();
    }

    peers.child.kill('SIGINT');
    const exit = await peers.exited;
    expect(exit.code, peers.stderr()).toBe(0);
    expect(lines(peers.stderr())).toEqual(out);
    expect(await portFree(Number(kinesisLine?.[2]))).toBe(true);
    expect(await portFree(Number(dynamoLine?.[2]))).toBe(true);
  }, KINESIS_START_TIMEOUT_MS);

  it('says in one line how to write --streams', async () => {
    const line = expectOneLineError(await sluice(['dev', 'kinesis', '--streams', 'clicks']), 2);
    expect(line).toContain('name:shards');
  });
});
