/**
 * The local Kinesis and DynamoDB helpers' only network calls: clients for kinesis-local and
 * dynalite, and the readiness probes that use them (free loopback ports come from
 * ../common/service.ts). Kept in one file so the rest of `src/dev/kinesis` installs, spawns and
 * writes files without touching sockets (the rule of the connectors' `service.ts`).
 *
 * The Kinesis client speaks HTTP/1.1 (`NodeHttpHandler`): with the SDK's default HTTP/2 handler,
 * calls to kinesis-local fail now and then with `ERR_HTTP2_ERROR` right after a 200 answer.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { poll } from '../common/service.js';

/** How long one readiness probe may take before it counts as "not yet". */
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_INTERVAL_MS = 100;
/** The local peers take any credentials; these are what the helpers sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
/** kinesis-local's default region (its `AWS_REGION`); dynalite ignores the region. */
export const LOCAL_REGION = 'us-east-1';

/** Client settings for a local peer: fixed region and dummy credentials. */
export interface LocalClientOptions {
  /** Attempts per call (the SDK's `maxAttempts`, default 3). */
  readonly maxAttempts?: number;
  /** Socket timeout per request in ms; none when omitted. */
  readonly requestTimeoutMs?: number;
}

/**
 * A Kinesis client for kinesis-local at `endpoint`, over HTTP/1.1 (not for SubscribeToShard,
 * which needs HTTP/2). Destroy it when done.
 *
 * @example const kinesis = localKinesisClient(peer.endpoint); await kinesis.send(new ListStreamsCommand({}))
 * @see localDynamoClient
 */
export function localKinesisClient(endpoint: string, options: LocalClientOptions = {}): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

/**
 * A DynamoDB client for dynalite at `endpoint`. Destroy it when done.
 *
 * @example const dynamo = localDynamoClient(peer.endpoint); await dynamo.send(new ListTablesCommand({}))
 * @see localKinesisClient
 */
export function localDynamoClient(endpoint: string, options: LocalClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

/**
 * Polls kinesis-local with ListStreams until it answers, then until each of `streams` (created at
 * start-up by INITIALIZE_STREAMS) is ACTIVE. Rejects after `timeoutMs` with the last error, or
 * with `signal.reason` as soon as the signal aborts (the caller aborts when the process exits).
 */
export async function waitForKinesis(endpoint: string, options: { timeoutMs: number; signal: AbortSignal; streams?: readonly string[] }): Promise<void> {
  const client = localKinesisClient(endpoint, { maxAttempts: 1, requestTimeoutMs: PROBE_TIMEOUT_MS });
  try {
    await probeUntil(`kinesis-local at ${endpoint}`, options, async (signal) => {
      await client.send(new ListStreamsCommand({}), { abortSignal: signal });
      for (const stream of options.streams ?? []) {
        const { StreamDescriptionSummary: summary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }), { abortSignal: signal });
        if (summary?.StreamStatus !== 'ACTIVE') throw new Error(`stream ${stream} is ${summary?.StreamStatus ?? 'unknown'}`);
      }
    });
  } finally {
    client.destroy();
  }
}

/**
 * Polls dynalite with ListTables until it answers. Rejects after `timeoutMs` with the last
 * error, or with `signal.reason` as soon as the signal aborts.
 */
export async function waitForDynamo(endpoint: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  const client = localDynamoClient(endpoint, { maxAttempts: 1, requestTimeoutMs: PROBE_TIMEOUT_MS });
  try {
    await probeUntil(`dynalite at ${endpoint}`, options, async (signal) => {
      await client.send(new ListTablesCommand({}), { abortSignal: signal });
    });
  } finally {
    client.destroy();
  }
}

/** Runs `call` until it resolves; a rejection is "not yet" and remembered for the error. */
async function probeUntil(what: string, options: { timeoutMs: number; signal: AbortSignal }, call: (signal: AbortSignal) => Promise<void>): Promise<void> {
  let last: unknown;
  const answered = await poll(
    async () => {
      try {
        await call(AbortSignal.any([options.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]));
        return true;
      } catch (err) {
        last = err;
        return false;
      }
    },
    { timeoutMs: options.timeoutMs, signal: options.signal, intervalMs: PROBE_INTERVAL_MS },
  );
  if (answered) return;
  const detail = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`${what} did not answer within ${options.timeoutMs / 1000} s${detail}`);
}
