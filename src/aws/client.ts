/**
 * The settings every AWS SDK client of Sluice is made with, as a plain object for a connector's
 * `service.ts` to hand to its client's constructor (this file imports no SDK, so it needs no
 * network). The SDK's own retries are off: every attempt goes through the connector's policy and
 * counters. A loopback endpoint (moto, the local model server) gets us-east-1 and dummy
 * credentials unless told otherwise; elsewhere the SDK resolves region and credentials as usual
 * (environment, profile, container role).
 *
 * @module
 */
import type { AwsCredentials } from './config.js';

/** `http(s)://` on 127.x.x.x, localhost or [::1], with an optional port and nothing after. */
const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/;

/** What {@link awsClientConfig} makes a client config from. */
export interface AwsClientTarget {
  /** Another endpoint than AWS's (moto, a local model server). */
  readonly endpointUrl: string | undefined;
  readonly region: string | undefined;
  readonly credentials: AwsCredentials | undefined;
  /** Time one call may take: sets the request handler's timeouts (the SDK's defaults without). */
  readonly requestTimeoutMs?: number;
}

/** The part of an SDK client's config that Sluice sets; every AWS client takes it. */
export interface AwsClientConfig {
  maxAttempts: number;
  requestHandler?: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean };
  endpoint?: string;
  region?: string;
  credentials?: AwsCredentials;
}

/**
 * True for an endpoint on this machine.
 *
 * @example isLoopbackUrl('http://127.0.0.1:5000') // true
 */
export function isLoopbackUrl(url: string | undefined): boolean {
  return url !== undefined && LOOPBACK.test(url);
}

/**
 * The client config for `target`: no SDK retries, its timeouts, the endpoint override, and
 * region and credentials (loopback defaults when a loopback endpoint has none).
 *
 * @example new FirehoseClient(awsClientConfig({ endpointUrl: 'http://127.0.0.1:5000', region: undefined, credentials: undefined, requestTimeoutMs: 30_000 }))
 */
export function awsClientConfig(target: AwsClientTarget): AwsClientConfig {
  const local = isLoopbackUrl(target.endpointUrl);
  const config: AwsClientConfig = { maxAttempts: 1 };
  if (target.requestTimeoutMs !== undefined) {
    config.requestHandler = { connectionTimeout: 5_000, requestTimeout: target.requestTimeoutMs, throwOnRequestTimeout: true };
  }
  if (target.endpointUrl !== undefined) config.endpoint = target.endpointUrl;
  const region = target.region ?? (local ? 'us-east-1' : undefined);
  if (region !== undefined) config.region = region;
  // a loopback endpoint takes any credentials
  const credentials = target.credentials ?? (local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined);
  if (credentials !== undefined) config.credentials = credentials;
  return config;
}
