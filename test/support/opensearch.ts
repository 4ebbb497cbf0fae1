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
import { startOpenSearch, type OpenSearchNode } from '../../src/dev/opensearch/index.js';
import { usePeer } from './peer.js';

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
  let client: Client | undefined;
  const node = usePeer({
    given: process.env['SLUICE_TEST_OPENSEARCH'],
    start: () => startOpenSearch(),
    addressOf: (started) => started.url,
    timeoutMs: OPENSEARCH_START_TIMEOUT_MS,
    name: 'useOpenSearch(): the node',
    beforeStop: () => client?.close(),
  });
  return {
    get url() {
      return node.address();
    },
    get hostPort() {
      return new URL(node.address()).host;
    },
    get node() {
      return node.started();
    },
    client: () => (client ??= new Client({ node: node.address() })),
    indexName: (prefix = 'test') => `${prefix}-${randomUUID().slice(0, 8)}`,
  };
}
