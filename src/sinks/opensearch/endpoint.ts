import { ErrorCode, UserError } from '../../core/errors.js';
import { compileIndexName, type IndexName } from './index-name.js';

/** Environment variables holding basic-auth credentials for self-managed clusters. */
export const USERNAME_ENV = 'SLUICE_OPENSEARCH_USERNAME';
export const PASSWORD_ENV = 'SLUICE_OPENSEARCH_PASSWORD';

/** The port when the URL names none: HTTPS endpoints (Amazon OpenSearch Service) use 443. */
export const DEFAULT_TLS_PORT = 443;
/** OpenSearch's default `http.port`. */
export const DEFAULT_PORT = 9200;

/**
 * How requests are authenticated: not at all, HTTP basic (self-managed clusters with the security
 * plugin), or AWS SigV4 with the default credential chain (Amazon OpenSearch Service `es`, and
 * OpenSearch Serverless `aoss`).
 */
export type OpenSearchAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'sigv4'; readonly region: string; readonly service: 'es' | 'aoss' };

/**
 * An `opensearch://` URL taken apart.
 *
 * @see parseOpenSearchUrl
 */
export interface OpenSearchEndpoint {
  /** The URL as given; it never holds a secret (credentials come from the environment). */
  readonly url: string;
  /** What the client connects to: `http://HOST:PORT` or `https://HOST:PORT`. */
  readonly node: string;
  readonly tls: boolean;
  /** The index name or dated pattern (`results-%Y.%m.%d`). */
  readonly index: IndexName;
  readonly auth: OpenSearchAuth;
}

const PARAMS = ['tls', 'auth', 'region', 'service'] as const;
const AUTHS = ['none', 'basic', 'sigv4'] as const;
const SERVICES = ['es', 'aoss'] as const;

/**
 * Parses `opensearch://HOST[:PORT]/INDEX[?tls=true&auth=sigv4&region=R&service=es|aoss]`.
 *
 * - `INDEX` is a name or a dated pattern with `%Y`, `%m`, `%d`, `%H`, filled from each result's
 *   `windowStart` in UTC (`results-%Y.%m.%d` makes daily indexes).
 * - `auth=sigv4` signs requests for Amazon OpenSearch Service (`service=es`, the default) or
 *   OpenSearch Serverless (`service=aoss`) with the default AWS credential chain; the region comes
 *   from `region=` or `AWS_REGION`. It implies TLS unless `tls=false`.
 * - Basic auth takes `SLUICE_OPENSEARCH_USERNAME` and `SLUICE_OPENSEARCH_PASSWORD` from the
 *   environment (used whenever the user name is set, or required by `auth=basic`); credentials in
 *   the URL are refused, so they never reach logs or process lists.
 * - The port defaults to 443 with TLS and 9200 without.
 *
 * Throws `UserError(BAD_URL)` naming `flag` on anything else.
 *
 * @example parseOpenSearchUrl('opensearch://search-x.eu-west-1.es.amazonaws.com/results-%Y.%m.%d?auth=sigv4&region=eu-west-1', '--sink')
 * @see openOpenSearchSink
 */
export function parseOpenSearchUrl(text: string, flag: string, env: Readonly<Record<string, string | undefined>> = process.env): OpenSearchEndpoint {
  const shown = text.replace(/^(opensearch:\/\/)[^/?#]*@/, '$1***@');
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${shown}': ${why}`);
  const m = /^opensearch:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(text);
  if (m === null) throw bad('write opensearch://HOST:PORT/INDEX[?auth=sigv4&region=REGION]');
  const authority = m[1] as string;
  if (authority.includes('@')) throw bad(`credentials do not belong in the URL; set ${USERNAME_ENV} and ${PASSWORD_ENV}`);
  const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(authority);
  if (hostPort === null) throw bad(`'${authority}' is not HOST or HOST:PORT`);
  const host = hostPort[1] as string;
  const portText = hostPort[2];
  if (portText !== undefined && (Number(portText) < 1 || Number(portText) > 65_535)) throw bad(`port ${portText} is not from 1 to 65535`);

  const params = new URLSearchParams(m[3] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) throw bad(`unknown parameter '${name}'; use ${PARAMS.join(', ')}`);
    if (params.getAll(name).length > 1) throw bad(`parameter '${name}' is given more than once`);
  }
  const auth = authOf(params, env, bad);
  const tlsParam = params.get('tls');
  if (tlsParam !== null && tlsParam !== 'true' && tlsParam !== 'false') throw bad(`tls must be true or false, got '${tlsParam}'`);
  const tls = tlsParam === null ? auth.kind === 'sigv4' : tlsParam === 'true';
  const port = portText === undefined ? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT) : Number(portText);

  let index: IndexName;
  try {
    index = compileIndexName(m[2] ?? '');
  } catch (err) {
    throw bad((err as Error).message);
  }
  return { url: text, node: `${tls ? 'https' : 'http'}://${host}:${port}`, tls, index, auth };
}

function authOf(params: URLSearchParams, env: Readonly<Record<string, string | undefined>>, bad: (why: string) => UserError): OpenSearchAuth {
  const kind = params.get('auth') ?? (nonEmpty(env[USERNAME_ENV]) ? 'basic' : 'none');
  if (!(AUTHS as readonly string[]).includes(kind)) throw bad(`auth must be ${AUTHS.join(', ')}, got '${kind}'`);
  if (kind !== 'sigv4') {
    for (const name of ['region', 'service']) if (params.has(name)) throw bad(`'${name}' is for auth=sigv4`);
  }
  if (kind === 'sigv4') {
    const region = params.get('region') ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    if (!nonEmpty(region)) throw bad('auth=sigv4 needs the domain region: add &region=REGION or set AWS_REGION');
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw bad(`'${region}' is not an AWS region such as eu-west-1`);
    const service = params.get('service') ?? 'es';
    if (!(SERVICES as readonly string[]).includes(service)) {
      throw bad(`service must be es (Amazon OpenSearch Service) or aoss (OpenSearch Serverless), got '${service}'`);
    }
    return { kind: 'sigv4', region, service: service as 'es' | 'aoss' };
  }
  if (kind === 'basic') {
    const username = env[USERNAME_ENV];
    const password = env[PASSWORD_ENV];
    if (!nonEmpty(username)) throw bad(`auth=basic needs a user: set ${USERNAME_ENV}`);
    if (!nonEmpty(password)) throw bad(`basic auth as '${username}' needs a password: set ${PASSWORD_ENV}`);
    return { kind: 'basic', username, password };
  }
  return { kind: 'none' };
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}
