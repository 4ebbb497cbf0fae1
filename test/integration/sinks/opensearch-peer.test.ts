import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { OPENSEARCH_USER, OPENSEARCH_VERSION, startOpenSearch, type OpenSearchNode } from '../../../src/dev/opensearch/index.js';
import { MIN_BULK_BYTES, OpenSearchSink, openSearchSinkConfig, parseOpenSearchUrl } from '../../../src/sinks/opensearch/index.js';
import { openSearchService } from '../../../src/sinks/opensearch/service.js';
import { OPENSEARCH_START_TIMEOUT_MS } from '../../support/opensearch.js';

// The local OpenSearch node itself (a real node, run as an unprivileged user when we are root,
// stopped and cleaned up by stop()), and the sink against a node that takes only small requests:
// OpenSearch answers 413 above http.max_content_length, and the sink halves its requests.

/** OpenSearch's own limit on a request body for this node: 413 above it. */
const MAX_CONTENT_BYTES = 64 * 1024;

let node: OpenSearchNode;
let client: Client;

beforeAll(async () => {
  node = await startOpenSearch({ settings: { 'http.max_content_length': `${MAX_CONTENT_BYTES}b` } });
  client = new Client({ node: node.url });
}, OPENSEARCH_START_TIMEOUT_MS);
afterAll(async () => {
  await client?.close();
  await node?.stop();
});

const padded = (i: number, bytes: number): { id: string; windowStart: number; pad: string } => ({
  id: `big-${i}`,
  windowStart: Date.UTC(2026, 0, 1),
  pad: 'x'.repeat(bytes),
});

async function count(index: string): Promise<number> {
  await client.indices.refresh({ index });
  return (await client.count({ index })).body.count;
}

describe('startOpenSearch', () => {
  it(`runs OpenSearch ${OPENSEARCH_VERSION} on loopback, healthy, with the extra settings`, async () => {
    expect(node.url).toBe(`http://127.0.0.1:${node.port}`);
    const info = await client.info();
    expect(info.body.version.number).toBe(OPENSEARCH_VERSION);
    expect(['green', 'yellow']).toContain((await client.cluster.health()).body.status);
    const settings = await client.nodes.info({ metric: ['settings'], flat_settings: true });
    const nodeSettings = Object.values(settings.body.nodes as unknown as Record<string, { settings: Record<string, string> }>)[0]?.settings ?? {};
    expect(nodeSettings['http.max_content_length']).toBe(`${MAX_CONTENT_BYTES}b`);
    expect(nodeSettings['network.host']).toBe('127.0.0.1');
    expect(await readFile(node.logFile, 'utf8')).toMatch(/\bstarted\b/);
  });

  it('runs the node as an unprivileged user when Sluice runs as root', async () => {
    // the node created its data folder's contents itself: their owner is the user it runs as
    const owner = (await stat(join(node.workDir, 'data', 'nodes'))).uid;
    if (process.getuid?.() === 0) {
      expect(owner).not.toBe(0);
      const name = execFileSync('id', ['-nu', String(owner)], { encoding: 'utf8' }).trim();
      expect([OPENSEARCH_USER, 'nobody']).toContain(name);
    } else {
      expect(owner).toBe(process.getuid?.());
    }
  });
});

describe('OpenSearch sink against a node that refuses large requests (413)', () => {
  const endpoint = (index: string) => parseOpenSearchUrl(`opensearch://127.0.0.1:${node.port}/${index}`, '--sink');
  const sinkFor = (index: string): OpenSearchSink => {
    const config = openSearchSinkConfig(endpoint(index), { maxBatchBytes: 1024 * 1024, retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 20 } });
    return new OpenSearchSink(config, openSearchService(config.endpoint, { requestTimeoutMs: config.requestTimeoutMs }));
  };

  it('halves its requests until the node takes them, and keeps the smaller size', async () => {
    const index = `halving-${process.pid}`;
    const sink = sinkFor(index);
    try {
      // 40 documents of ~5 KB: ~200 KB, over the node's 64 KiB
      expect(await sink.write(Array.from({ length: 40 }, (_, i) => padded(i, 5_000)))).toBeUndefined();
      expect(sink.batchBytes).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
      expect(sink.batchBytes).toBeGreaterThanOrEqual(MIN_BULK_BYTES);
      expect(await count(index)).toBe(40);
    } finally {
      await sink.close();
    }
  });

  it('returns a document too large even alone as rejected, and delivers the rest', async () => {
    const index = `too-large-${process.pid}`;
    const sink = sinkFor(index);
    const huge = padded(99, 100_000);
    try {
      const result = await sink.write([padded(1, 100), huge, padded(2, 100)]);
      expect(result?.rejected.map((r) => r.record)).toEqual([huge]);
      expect(result?.rejected[0]?.code).toBe(ErrorCode.RECORD_TOO_LARGE);
      expect(result?.rejected[0]?.reason).toMatch(/^OpenSearch refused result 'big-99' \(\d+ bytes as a bulk action\) as too large even alone \(413 /);
    } finally {
      await sink.close();
    }
    expect(await count(index)).toBe(2);
  });
});

describe('stopping the node', () => {
  it('ends the process, frees the port and removes the run folder', async () => {
    const { port, workDir } = node;
    expect(existsSync(workDir)).toBe(true);
    await node.stop();
    expect(existsSync(workDir)).toBe(false);
    expect(await refusesConnections(port)).toBe(true);
    await node.stop(); // a second stop is harmless
  });
});

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }).once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    socket.once('connect', () => (socket.destroy(), resolve(false)));
  });
}
