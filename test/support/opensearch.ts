/**
 * OpenSearch for integration tests: a real node per test file, a client for it, and index names
 * unique per test so tests in one file never see each other's documents.
 *
 * `useOpenSearch()` starts the node in `beforeAll` with the same helper a `sluice dev opensearch`
 * would use (src/dev/opensearch) and stops it in `afterAll`. Set SLUICE_TEST_OPENSEARCH=URL to
 * point the tests at a node you already run instead.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll } from 'vitest';
import { startOpenSearch, type OpenSearchNode } from '../../src/dev/opensearch/index.js';

/** First start installs OpenSearch with Maven (~55 MB); a start takes 10–40 s on two cores. */
export const OPENSEARCH_START_TIMEOUT_MS = 300_000;

export interface TestOpenSearch {
  /** `http://127.0.0.1:PORT`; read it inside tests or hooks, not at collection time. */
  readonly url: string;
  /** `127.0.0.1:PORT`, for `opensearch://` URLs. */
  readonly hostPort: string;
  /** The node itself (undefined when SLUICE_TEST_OPENSEARCH points elsewhere). */
  readonly node: OpenSearchNode | undefined;
  /** A client for this node (made once). */
  client(): Client;
  /** A fresh index name `<prefix>-<random>` (not created). */
  indexName(prefix?: string): string;
}

/**
 * Registers hooks that give the calling test file its own node.
 *
 * @example
 * const opensearch = useOpenSearch();
 * it('indexes', async () => {
 *   const index = opensearch.indexName('results');
 *   const sink = await openOpenSearchSink(parseOpenSearchUrl(`opensearch://${opensearch.hostPort}/${index}`, '--sink'));
 *   // …
 * });
 */
export function useOpenSearch(): TestOpenSearch {
  let node: OpenSearchNode | undefined;
  let url = process.env['SLUICE_TEST_OPENSEARCH'];
  let client: Client | undefined;
  beforeAll(async () => {
    if (url !== undefined && url !== '') return;
    node = await startOpenSearch();
    url = node.url;
  }, OPENSEARCH_START_TIMEOUT_MS);
  afterAll(async () => {
    await client?.close();
    await node?.stop();
  });
  const address = (): string => {
    if (url === undefined || url === '') throw new Error('useOpenSearch(): the node is not started yet; use it inside a test or hook');
    return url;
  };
  return {
    get url() {
      return address();
    },
    get hostPort() {
      return new URL(address()).host;
    },
    get node() {
      return node;
    },
    client: () => (client ??= new Client({ node: address() })),
    indexName: (prefix = 'test') => `${prefix}-${randomUUID().slice(0, 8)}`,
  };
}
