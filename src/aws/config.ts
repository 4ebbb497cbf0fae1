/**
 * Settings every AWS connector reads the same way: the region (URL, then environment), the
 * endpoint override (`SLUICE_AWS_ENDPOINT`, moto in tests), static credentials, the SDK client's
 * timeout and the retry policy's numbers. Checked once, at start-up; a bad value throws a
 * `UserError` naming the connector and the option.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { wholeOption, type RetryOptions, type RetrySettings } from '../sinks/options.js';

/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** Environment variable that points every AWS sink at another endpoint (moto in tests). */
export const AWS_ENDPOINT_ENV = 'SLUICE_AWS_ENDPOINT';

type Env = Readonly<Record<string, string | undefined>>;

/** Static credentials, for tests and local peers; elsewhere the SDK's chain finds them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** How the SDK client is made: everything but the resource it writes to. */
export interface AwsClientSettings {
  readonly region: string | undefined;
  readonly endpointUrl: string | undefined;
  readonly credentials: AwsCredentials | undefined;
  readonly requestTimeoutMs: number;
}

/**
 * The AWS sinks' retries of a call that failed for a passing reason (throttling, 5xx, timeouts):
 * 8 more attempts, waits from 200 ms to 10 s with decorrelated jitter.
 */
export const AWS_RETRY_DEFAULTS: RetrySettings = { maxRetries: 8, initialDelayMs: 200, maxDelayMs: 10_000 };

/** Retries of one AWS call; defaults {@link AWS_RETRY_DEFAULTS}. */
export type AwsRetryOptions = RetryOptions;
/** {@link AwsRetryOptions} with defaults filled in. */
export type AwsRetrySettings = RetrySettings;

/** The options of an AWS sink that make its client. */
export interface AwsClientOptions {
  /** Another endpoint (moto); default `SLUICE_AWS_ENDPOINT`, else AWS's. */
  readonly endpointUrl?: string | undefined;
  /** Static credentials; default the SDK's chain (a loopback endpoint gets dummy ones). */
  readonly credentials?: AwsCredentials | undefined;
  /** Time one call may take before it is abandoned and retried (default 30 s). */
  readonly requestTimeoutMs?: number | undefined;
  /** Where `SLUICE_AWS_ENDPOINT` is read from; default `process.env`. */
  readonly env?: Env | undefined;
}

/**
 * The region from the URL's `?region=`, else AWS_REGION / AWS_DEFAULT_REGION, else undefined (the
 * SDK's own lookup: the profile). Checked for shape so a typo fails at start-up, with `bad`
 * making the error (it names the URL).
 *
 * @example regionOf(params.get('region'), process.env, bad) // 'eu-west-1'
 */
export function regionOf(param: string | null, env: Env, bad: (why: string) => UserError): string | undefined {
  const region = param ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']);
  if (region !== undefined && !REGION_PATTERN.test(region)) {
    throw bad(`'${region}'${param === null ? ' (from AWS_REGION)' : ''} is not an AWS region name such as eu-west-1`);
  }
  return region;
}

/**
 * The endpoint override: the `endpointUrl` option, else `SLUICE_AWS_ENDPOINT`, else undefined.
 * It must be an http(s) URL; `what` names the connector in the message. Trailing slashes go.
 *
 * @example awsEndpointUrl('Firehose sink', { env: { SLUICE_AWS_ENDPOINT: 'http://127.0.0.1:5000/' } }) // 'http://127.0.0.1:5000'
 */
export function awsEndpointUrl(what: string, options: Pick<AwsClientOptions, 'endpointUrl' | 'env'>): string | undefined {
  const value = options.endpointUrl ?? nonEmpty((options.env ?? process.env)[AWS_ENDPOINT_ENV]);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(ErrorCode.BAD_OPTION, `${what} endpoint '${value}' (option endpointUrl or ${AWS_ENDPOINT_ENV}) is not an http:// or https:// URL`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * The client settings of a connector whose endpoint override is already checked
 * ({@link awsEndpointUrl}); checks the request timeout (default 30 s).
 *
 * @example awsClientSettings('Timestream sink', endpoint.region, awsEndpointUrl('Timestream sink', options), options)
 */
export function awsClientSettings(what: string, region: string | undefined, endpointUrl: string | undefined, options: AwsClientOptions): AwsClientSettings {
  return {
    region,
    endpointUrl,
    credentials: options.credentials,
    requestTimeoutMs: wholeOption(what, 'requestTimeoutMs', options.requestTimeoutMs ?? 30_000, 1),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
