/**
 * One start helper for a real local OpenSearch node, for the integration tests (and a future
 * `sluice dev opensearch`).
 *
 * It runs the OpenSearch integ-test distribution (plain OpenSearch, no plugins, so plain HTTP and
 * no security) on the local JDK, installed from Maven Central into `.cache/opensearch` on first
 * use. Run as root, the node runs as an unprivileged user (OpenSearch refuses root).
 */
import { packageCacheDir } from '../common/files.js';
import { startNode } from './node.js';

export { OPENSEARCH_ARTIFACT, OPENSEARCH_VERSION } from './install.js';
export { OPENSEARCH_USER } from './user.js';

/** A running local node. */
export interface OpenSearchNode {
  /** `http://127.0.0.1:PORT`: give it to clients as their node. */
  readonly url: string;
  readonly port: number;
  /** The per-run folder holding its config, data and logs; `stop()` removes it. */
  readonly workDir: string;
  /** The node's console output (its log at INFO); it never writes to our stdout or stderr. */
  readonly logFile: string;
  /** Stops the node and removes everything it wrote; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOpenSearchOptions {
  /** Loopback HTTP port; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** Where the distribution is installed; default `.cache/opensearch` in the Sluice package. */
  readonly cacheDir?: string;
  /** Progress lines (installing, starting, which user); silent when omitted. */
  readonly log?: (line: string) => void;
  /**
   * More node settings, passed as `-Ename=value`, e.g. `{ 'http.max_content_length': '64kb' }`.
   * They cannot override the ones that make it a private loopback node (ports, paths, discovery).
   */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * Starts a single-node OpenSearch on 127.0.0.1 and resolves once `GET /_cluster/health` reports
 * it green or yellow (20–40 s on two cores; the first use also downloads ~55 MB with Maven).
 *
 * Indexes are created on first write, as on any default cluster. Rejects with a UserError when no
 * JDK 17–23 is found or Maven is missing on first use, and with the tail of the node's log when it
 * dies or does not answer in time. The node dies with this process (`setpriv --pdeathsig`).
 *
 * @example
 * const node = await startOpenSearch();
 * try {
 *   const client = new Client({ node: node.url });
 *   // …
 * } finally {
 *   await node.stop();
 * }
 * @see startKafka
 */
export async function startOpenSearch(options: StartOpenSearchOptions = {}): Promise<OpenSearchNode> {
  return startNode({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.settings === undefined ? {} : { settings: options.settings }),
    cacheDir: options.cacheDir ?? packageCacheDir('opensearch'),
    log: options.log ?? (() => undefined),
  });
}
