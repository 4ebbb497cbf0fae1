/**
 * `influxdb://` URLs: where the InfluxDB sink writes, with which API, and how it authenticates.
 */
import { inspect } from 'node:util';
import { ErrorCode, UserError } from '../../core/errors.js';
import { measurementProblem } from './encoder.js';

/**
 * Which write API the server speaks:
 * - `v2`: `POST /api/v2/write?org=O&bucket=B&precision=ms` with `Authorization: Token T` —
 *   InfluxDB 2.x, Amazon Timestream for InfluxDB, and InfluxDB 3's compatibility endpoint;
 * - `v1`: `POST /write?db=DB&precision=ms`, optionally with basic authentication — InfluxDB 1.x
 *   (Debian's `influxdb` package).
 */
export type InfluxApi = 'v1' | 'v2';

/**
 * A credential that never shows in messages, logs or JSON: `String()`, `JSON.stringify` and
 * `util.inspect` all give `***`; only {@link Secret.reveal} gives the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [inspect.custom](): string {
    return '***';
  }
}

/** How requests authenticate: an API token (v2), a user and password (v1), or not at all. */
export type InfluxAuth =
  | { readonly kind: 'token'; readonly token: Secret }
  | { readonly kind: 'basic'; readonly username: string; readonly password: Secret }
  | { readonly kind: 'none' };

/** An `influxdb://` URL taken apart. */
export interface InfluxEndpoint {
  /** The URL as given (it never holds a secret: those come from the environment). */
  readonly url: string;
  /** `host:port` (an IPv6 host in brackets), for messages. */
  readonly address: string;
  /** `http://host:port` or `https://host:port` (`tls=true`). */
  readonly baseUrl: string;
  /** The v2 bucket, or the v1 database. */
  readonly bucket: string;
  /** The v2 organization; undefined for v1. */
  readonly org: string | undefined;
  readonly api: InfluxApi;
  readonly tls: boolean;
  /** `measurement=` from the URL; the sink falls back to its option, then to `sluice`. */
  readonly measurement: string | undefined;
  readonly auth: InfluxAuth;
}

/** The environment variables credentials come from (never from the URL: it shows in `ps`). */
export const INFLUXDB_ENV = {
  token: 'SLUICE_INFLUXDB_TOKEN',
  username: 'SLUICE_INFLUXDB_USERNAME',
  password: 'SLUICE_INFLUXDB_PASSWORD',
} as const;

const PARAMS = ['org', 'tls', 'api', 'measurement'] as const;
/** Parameters whose values must never be echoed, should someone put a secret in the URL. */
const SECRET_PARAM = /token|password|secret|^p$|^u$/i;

/**
 * Parses `influxdb://HOST:PORT/BUCKET[?org=O&tls=true&api=v1|v2&measurement=M]`.
 *
 * The default API is v2, which needs `org=` and an API token in `SLUICE_INFLUXDB_TOKEN`. With
 * `api=v1`, BUCKET is the database, and `SLUICE_INFLUXDB_USERNAME` with
 * `SLUICE_INFLUXDB_PASSWORD` (both or neither) turn on basic authentication. A malformed URL is a
 * `UserError(BAD_URL)` that names `flag`; no message ever contains a credential.
 *
 * @example parseInfluxUrl('influxdb://db-1.example.internal:8086/metrics?org=acme&tls=true', '--sink')
 * @example parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink').baseUrl // 'http://127.0.0.1:8086'
 * @see influxSinkConfig
 */
export function parseInfluxUrl(text: string, flag: string, env: Readonly<Record<string, string | undefined>> = process.env): InfluxEndpoint {
  const shown = redactUrl(text);
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${shown}': ${why}`);
  const m = /^influxdb:\/\/([^/?#]*)\/([^?#]*)(?:\?([^#]*))?$/.exec(text);
  if (m === null) throw bad('write influxdb://HOST:PORT/BUCKET[?org=ORG&tls=true&api=v1|v2&measurement=NAME]');
  const address = m[1] as string;
  const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (hostPort === null) throw bad(`'${address}' is not HOST:PORT (the port is required; InfluxDB listens on 8086 by default)`);
  const port = Number(hostPort[2]);
  if (port < 1 || port > 65_535) throw bad(`port ${port} is not from 1 to 65535`);
  const bucket = decode(m[2] as string, bad);
  if (bucket === '') throw bad('the bucket (api=v1: the database) is missing after the host');

  const params = new URLSearchParams(m[3] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) {
      const secret = SECRET_PARAM.test(name) ? `; credentials come from ${INFLUXDB_ENV.token} (v2) or ${INFLUXDB_ENV.username} and ${INFLUXDB_ENV.password} (v1), never from the URL` : '';
      throw bad(`unknown parameter '${name}'; use ${PARAMS.join(', ')}${secret}`);
    }
    if (params.getAll(name).length > 1) throw bad(`parameter '${name}' is given more than once`);
  }
  const api = params.get('api') ?? 'v2';
  if (api !== 'v1' && api !== 'v2') throw bad(`api must be v1 or v2, got '${api}'`);
  const tlsParam = params.get('tls');
  if (tlsParam !== null && tlsParam !== 'true' && tlsParam !== 'false') throw bad(`tls must be true or false, got '${tlsParam}'`);
  const tls = tlsParam === 'true';
  const measurementParam = params.get('measurement');
  if (measurementParam !== null) {
    const problem = measurementProblem(measurementParam);
    if (problem !== undefined) throw bad(`measurement ${problem}`);
  }

  const org = params.get('org') ?? undefined;
  let auth: InfluxAuth;
  if (api === 'v2') {
    if (org === undefined || org === '') throw bad('api=v2 needs the organization: add ?org=NAME (with InfluxDB 3, any name)');
    const token = env[INFLUXDB_ENV.token];
    if (token === undefined || token === '') throw bad(`api=v2 needs an API token with write access to bucket '${bucket}': set ${INFLUXDB_ENV.token}`);
    auth = { kind: 'token', token: new Secret(token) };
  } else {
    if (org !== undefined) throw bad(`org is for api=v2; with api=v1, '${bucket}' is the database`);
    const username = env[INFLUXDB_ENV.username];
    const password = env[INFLUXDB_ENV.password];
    const hasUser = username !== undefined && username !== '';
    const hasPassword = password !== undefined && password !== '';
    if (hasUser !== hasPassword) throw bad(`api=v1 authentication needs both ${INFLUXDB_ENV.username} and ${INFLUXDB_ENV.password}, or neither`);
    auth = hasUser && hasPassword ? { kind: 'basic', username, password: new Secret(password) } : { kind: 'none' };
  }

  return {
    url: shown,
    address,
    baseUrl: `${tls ? 'https' : 'http'}://${address}`,
    bucket,
    org: api === 'v2' ? org : undefined,
    api,
    tls,
    measurement: measurementParam ?? undefined,
    auth,
  };
}

/** The URL with the values of secret-looking parameters replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(/([?&])([^=&#]*)=([^&#]*)/g, (all, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // keep the raw name
    }
    return SECRET_PARAM.test(decoded) ? `${sep}${name}=***` : all;
  });
}

function decode(text: string, bad: (why: string) => UserError): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad(`'${text}' is not valid percent-encoding`);
  }
}
