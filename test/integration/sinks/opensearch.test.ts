import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { WriteResult } from '../../../src/core/connectors.js';
import { ErrorCode, isUserError } from '../../../src/core/errors.js';
import { bindLoopbackPort } from '../../../src/dev/common/service.js';
import { openOpenSearchSink, parseOpenSearchUrl, type OpenSearchSinkOptions } from '../../../src/sinks/opensearch/index.js';
import { useOpenSearch } from '../../support/opensearch.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt, scratch, sluice } from '../cli/cli.js';

// The OpenSearch sink against a real OpenSearch node: documents indexed under the result id,
// replays that overwrite instead of adding, a mapping conflict dead-lettered while the rest of the
// write lands, daily indexes, SigV4 and basic auth on the wire, and one line for a cluster that
// is not there.

const opensearch = useOpenSearch();
const FAST: OpenSearchSinkOptions = { retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50 } };

interface Result {
  readonly id: string;
  readonly key: { readonly page: string };
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly revision: number;
  readonly count: number | string;
}

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 2, 1, 23, 58); // 2026-03-01T23:58Z: some windows fall on the next day

function results(n: number, revision = 0): Result[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${i.toString(16).padStart(4, '0')}${'ab'.repeat(14)}`,
    key: { page: `/p${i % 7}` },
    windowStart: T0 + (i % 5) * MINUTE,
    windowEnd: T0 + ((i % 5) + 1) * MINUTE,
    revision,
    count: i + revision,
  }));
}

const sinkUrl = (index: string, params = ''): string => `opensearch://${opensearch.hostPort}/${index}${params}`;

async function count(index: string): Promise<number> {
  const client = opensearch.client();
  await client.indices.refresh({ index });
  const response = await client.count({ index });
  return response.body.count;
}

async function source(index: string, id: string): Promise<unknown> {
  const response = await opensearch.client().get({ index, id });
  return response.body._source;
}

const rejectedOf = (result: void | WriteResult): WriteResult['rejected'] => (result === undefined ? [] : result.rejected);

describe('OpenSearch sink (opensearch://HOST:PORT/INDEX)', () => {
  it('indexes each result under its id, readable the moment the write resolved', async () => {
    const index = opensearch.indexName('results');
    const sink = await openOpenSearchSink(parseOpenSearchUrl(sinkUrl(index), '--sink'), FAST);
    const written = results(120);
    try {
      expect(rejectedOf(await sink.write(written))).toEqual([]);
      // GET by id is real-time: no refresh needed to see what the write acknowledged
      for (const result of [written[0], written[57], written[119]] as Result[]) expect(await source(index, result.id)).toEqual(result);
    } finally {
      await sink.close();
    }
    expect(await count(index)).toBe(120);
  });

  it('leaves the same documents when results are written again, a later revision overwriting the earlier', async () => {
    const index = opensearch.indexName('replay');
    const sink = await openOpenSearchSink(parseOpenSearchUrl(sinkUrl(index), '--sink'), FAST);
    try {
      await sink.write(results(50));
      expect(await count(index)).toBe(50);
      await sink.write(results(50)); // a replay after a restart: same ids, same bytes
      expect(await count(index)).toBe(50);
      const revised = results(50, 1).slice(10, 20);
      await sink.write(revised);
      expect(await count(index)).toBe(50);
      expect(await source(index, (revised[3] as Result).id)).toEqual(revised[3]);
      expect(await source(index, (results(50)[3] as Result).id)).toEqual(results(50)[3]);
      // two revisions of one window in one write: the later one stands
      const [first] = results(1, 2);
      const [second] = results(1, 3);
      await sink.write([first, second]);
      expect(await source(index, (second as Result).id)).toEqual(second);
      expect(await count(index)).toBe(50);
    } finally {
      await sink.close();
    }
  });

  it('returns a document the mapping refuses as rejected, with the reason, and delivers the rest', async () => {
    const index = opensearch.indexName('strict');
    const client = opensearch.client();
    await client.indices.create({
      index,
      body: {
        mappings: {
          dynamic: 'strict',
          properties: {
            id: { type: 'keyword' },
            key: { properties: { page: { type: 'keyword' } } },
            windowStart: { type: 'date' },
            windowEnd: { type: 'date' },
            revision: { type: 'integer' },
            count: { type: 'long' },
          },
        },
      },
    });
    const sink = await openOpenSearchSink(parseOpenSearchUrl(sinkUrl(index), '--sink'), FAST);
    const written: object[] = results(6);
    const notANumber = { ...(written[2] as Result), count: 'many' };
    const extraField = { ...(written[4] as Result), surprise: true };
    written[2] = notANumber;
    written[4] = extraField;
    try {
      const rejected = rejectedOf(await sink.write(written));
      expect(rejected.map((r) => r.record)).toEqual([notANumber, extraField]);
      expect(rejected.map((r) => r.code)).toEqual([ErrorCode.BAD_FIELD, ErrorCode.BAD_FIELD]);
      expect(rejected[0]?.reason).toMatch(new RegExp(`^OpenSearch index '${index}' refused the document \\(400 mapper_parsing_exception: failed to parse field \\[count\\] of type \\[long\\]`));
      expect(rejected[1]?.reason).toMatch(/\(400 strict_dynamic_mapping_exception: .*\[surprise\]/);
      // a later write goes on as usual
      expect(rejectedOf(await sink.write(results(8).slice(6)))).toEqual([]);
    } finally {
      await sink.close();
    }
    expect(await count(index)).toBe(6);
    expect(await opensearch.client().exists({ index, id: notANumber.id })).toMatchObject({ body: false });
  });

  it('writes to daily indexes named from each result’s windowStart in UTC', async () => {
    const prefix = opensearch.indexName('daily');
    const sink = await openOpenSearchSink(parseOpenSearchUrl(sinkUrl(`${prefix}-%Y.%m.%d`), '--sink'), FAST);
    const written = results(10); // windows start at 23:58 and 23:59 on 1 March, then 00:00–00:02 on 2 March
    try {
      await sink.write(written);
    } finally {
      await sink.close();
    }
    const onFirst = written.filter((r) => r.windowStart < Date.UTC(2026, 2, 2));
    expect(onFirst).toHaveLength(4);
    expect(await count(`${prefix}-2026.03.01`)).toBe(4);
    expect(await count(`${prefix}-2026.03.02`)).toBe(6);
    expect(await source(`${prefix}-2026.03.01`, (onFirst[0] as Result).id)).toEqual(onFirst[0]);
    const indexes = await opensearch.client().cat.indices({ index: `${prefix}-*`, format: 'json' });
    expect((indexes.body as { index: string }[]).map((i) => i.index).sort()).toEqual([`${prefix}-2026.03.01`, `${prefix}-2026.03.02`]);
  });

  it('fails to open with one line when no cluster answers', async () => {
    const port = await bindLoopbackPort();
    const error = await openOpenSearchSink(parseOpenSearchUrl(`opensearch://127.0.0.1:${port}/results`, '--sink'), FAST).then(
      () => new Error('expected a failure'),
      (err: unknown) => err as Error,
    );
    expect(isUserError(error)).toBe(true);
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(new RegExp(`^cannot reach OpenSearch at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(gave up after 3 attempts\\); check the host, the port`));
  });
});

describe('OpenSearch sink authentication on the wire', () => {
  let proxy: RecordingProxy | undefined;
  const saved = { ...process.env };
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  // The node has no security plugin, so it accepts any request: a pass-through proxy in front of it
  // shows what the sink sends, and the node shows that the signed requests are well-formed.
  it('signs requests with SigV4 from the default credential chain for auth=sigv4', async () => {
    proxy = await recordingProxy(opensearch.url);
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDSLUICETEST';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'sluice-test-secret';
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE']; // a profile would take precedence over the environment
    const index = opensearch.indexName('sigv4');
    const endpoint = parseOpenSearchUrl(`opensearch://127.0.0.1:${proxy.port}/${index}?auth=sigv4&region=eu-west-1&tls=false`, '--sink');
    const sink = await openOpenSearchSink(endpoint, FAST);
    try {
      expect(rejectedOf(await sink.write(results(5)))).toEqual([]);
    } finally {
      await sink.close();
    }
    expect(await count(index)).toBe(5);
    const bulk = proxy.requests.filter((r) => r.url.startsWith('/_bulk'));
    expect(bulk).toHaveLength(1);
    for (const { headers } of proxy.requests) {
      expect(headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDSLUICETEST\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=\S*host\S*, Signature=[0-9a-f]{64}$/);
      expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('sends basic auth from SLUICE_OPENSEARCH_USERNAME and SLUICE_OPENSEARCH_PASSWORD', async () => {
    proxy = await recordingProxy(opensearch.url);
    const index = opensearch.indexName('basic');
    const env = { SLUICE_OPENSEARCH_USERNAME: 'writer', SLUICE_OPENSEARCH_PASSWORD: 'pa55:word' };
    const endpoint = parseOpenSearchUrl(`opensearch://127.0.0.1:${proxy.port}/${index}`, '--sink', env);
    const sink = await openOpenSearchSink(endpoint, FAST);
    try {
      await sink.write(results(3));
    } finally {
      await sink.close();
    }
    expect(await count(index)).toBe(3);
    expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
    for (const { headers } of proxy.requests) expect(headers['authorization']).toBe(`Basic ${Buffer.from('writer:pa55:word').toString('base64')}`);
    expect(sink.description).not.toContain('pa55');
  });
});

interface RecordingProxy {
  readonly port: number;
  readonly requests: { readonly method: string; readonly url: string; readonly headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** An HTTP proxy on a free loopback port that forwards everything to `target` and records the requests. */
async function recordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordingProxy['requests'][number][] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.once('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('OpenSearch sink from the command line', () => {
  it('sluice aggregate --sink opensearch:// indexes every result once, and a second run leaves the same documents', async () => {
    ensureBuilt();
    const { dir, cleanup } = await scratch();
    try {
      const input = join(dir, 'events.jsonl');
      await writeFile(input, ['a', 'b', 'a', 'c'].map((k, i) => JSON.stringify({ k, t: 1_000 * i, v: i })).join('\n') + '\n');
      const index = opensearch.indexName('cli');
      const args = ['aggregate', '--source', `file:${input}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--agg', 'count,sum:v', '--sink', `opensearch://${opensearch.hostPort}/${index}`];
      for (let run = 0; run < 2; run++) {
        const result = await sluice(args);
        expect(result.code, result.stderr).toBe(0);
        await opensearch.client().indices.refresh({ index });
        const found = await opensearch.client().search({ index, body: { query: { match_all: {} } } });
        const docs = found.body.hits.hits.map((hit) => hit._source as { id: string; key: { k: string }; count: number });
        expect(docs.map((d) => [d.key.k, d.count]).sort()).toEqual([
          ['a', 2],
          ['b', 1],
          ['c', 1],
        ]);
        // documents are stored under their result ids
        expect(found.body.hits.hits.map((hit) => hit._id).sort()).toEqual(docs.map((d) => d.id).sort());
      }
    } finally {
      await cleanup();
    }
  });
});
