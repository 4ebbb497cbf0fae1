/**
 * The lifecycle every local peer of the integration tests shares (Kafka, moto, OpenSearch,
 * InfluxDB): started in `beforeAll` for the calling test file (or `describe` block) unless an
 * environment variable names one already running, stopped in `afterAll`, and an address that is
 * only there once started.
 */
import { afterAll, beforeAll } from 'vitest';

/** What {@link usePeer} needs to know about a peer. */
export interface PeerOptions<P extends { stop(): Promise<void> }> {
  /** The address of a peer already running (from SLUICE_TEST_…), or undefined to start one. */
  readonly given: string | undefined;
  /** Starts the peer (first use may install it, hence `timeoutMs`). */
  readonly start: () => Promise<P>;
  readonly addressOf: (peer: P) => string;
  readonly timeoutMs: number;
  /** Names it in the error of an early use, e.g. `useKafka(): the broker`. */
  readonly name: string;
  /** Runs in `afterAll` before the peer stops: close the clients made for it. */
  readonly beforeStop?: () => void | Promise<void>;
}

/** A peer registered by {@link usePeer}. */
export interface Peer<P> {
  /** The peer's address; throws when used before `beforeAll` ran (at collection time). */
  address(): string;
  /** The peer started for this file; undefined when the environment named one. */
  started(): P | undefined;
}

/**
 * Registers the hooks that start and stop a peer.
 *
 * @example
 * const peer = usePeer({ given: process.env['SLUICE_TEST_MOTO'], start: () => startMoto(), addressOf: (m) => m.endpoint, timeoutMs: 600_000, name: 'useMoto(): moto' });
 * it('writes', async () => { const endpoint = peer.address(); … });
 */
export function usePeer<P extends { stop(): Promise<void> }>(options: PeerOptions<P>): Peer<P> {
  let peer: P | undefined;
  let address = options.given;
  beforeAll(async () => {
    if (address !== undefined && address !== '') return;
    peer = await options.start();
    address = options.addressOf(peer);
  }, options.timeoutMs);
  afterAll(async () => {
    await options.beforeStop?.();
    await peer?.stop();
  });
  return {
    address: () => {
      if (address === undefined || address === '') throw new Error(`${options.name} is not started yet; use it inside a test or hook`);
      return address;
    },
    started: () => peer,
  };
}
