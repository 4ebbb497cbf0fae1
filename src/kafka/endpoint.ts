import { ErrorCode, UserError } from '../core/errors.js';
import { isValidPath } from '../core/paths.js';
import { parseDuration } from '../core/duration.js';

/** How a Kafka client authenticates: nothing, SASL/PLAIN or SCRAM with a password, or MSK IAM. */
export type KafkaSasl =
  | { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'iam'; readonly region: string };

/** Where a new consumer group starts reading. */
export type KafkaStart = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly time: number };

/** A `kafka://` URL taken apart: brokers, topic, and the parameters source and sink take. */
export interface KafkaEndpoint {
  readonly url: string;
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Source: the consumer group (required for a source). */
  readonly group: string | undefined;
  /** Source: where a group without committed offsets starts (default earliest). */
  readonly start: KafkaStart;
  /** Sink: the result field (dotted path) that becomes the record key. */
  readonly key: string | undefined;
  readonly clientId: string;
  /** TLS on (MSK's TLS listeners; implied by IAM). */
  readonly tls: boolean;
  readonly sasl: KafkaSasl | undefined;
  /** Source: how long the group waits for a silent member before giving its partitions away. */
  readonly sessionTimeoutMs: number;
}

const PARAMS = ['group', 'start', 'key', 'client-id', 'tls', 'sasl', 'username', 'password', 'region', 'session-timeout'] as const;
/** Parameters that only mean something on one side. */
const SOURCE_ONLY = ['group', 'start', 'session-timeout'];
const SINK_ONLY = ['key'];
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'iam'] as const;

/**
 * Parses `kafka://BROKER[,BROKER…]/TOPIC?param=value…`. Secrets may come from the environment
 * instead of the URL (`SLUICE_KAFKA_USERNAME`, `SLUICE_KAFKA_PASSWORD`, injected by ECS from
 * Secrets Manager), and are never part of any message.
 *
 * @example parseKafkaUrl('kafka://b-1.msk:9098/clicks?group=sluice&sasl=iam&region=eu-west-1', 'source')
 */
export function parseKafkaUrl(
  text: string,
  role: 'source' | 'sink',
  env: Readonly<Record<string, string | undefined>> = process.env,
  /** The option the URL came from, for messages (`--dead-letter`, `--to`). */
  flag: string = role === 'source' ? '--source' : '--sink',
): KafkaEndpoint {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `${flag} '${redact(text)}': ${why}`);
  const m = /^kafka:\/\/([^/?#]+)\/([^?#]*)(?:\?([^#]*))?$/.exec(text);
  if (!m) throw bad('write kafka://BROKER[,BROKER]/TOPIC[?group=G…]');
  const brokers = (m[1] as string).split(',').map((b) => b.trim());
  for (const broker of brokers) {
    if (!/^[A-Za-z0-9.[\]:_-]+:\d{1,5}$/.test(broker)) throw bad(`broker '${broker}' is not HOST:PORT`);
  }
  const topic = decodeURIComponent(m[2] as string);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw bad(`'${topic}' is not a Kafka topic name (letters, digits, '.', '_', '-')`);
  const params = new URLSearchParams(m[3] ?? '');
  for (const name of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) throw bad(`unknown parameter '${name}'; use ${PARAMS.join(', ')}`);
    if (role === 'sink' && SOURCE_ONLY.includes(name)) throw bad(`'${name}' is for reading from Kafka; a Kafka output takes ${PARAMS.filter((p) => !SOURCE_ONLY.includes(p)).join(', ')}`);
    if (role === 'source' && SINK_ONLY.includes(name)) throw bad(`'${name}' is for writing to Kafka; a Kafka source takes ${PARAMS.filter((p) => !SINK_ONLY.includes(p)).join(', ')}`);
  }
  const group = params.get('group') ?? undefined;
  if (role === 'source' && (group === undefined || group === '')) throw bad('a Kafka source needs a consumer group: add ?group=NAME');
  const key = params.get('key') ?? undefined;
  if (key !== undefined && !isValidPath(key)) throw bad(`key '${key}' is not a field name or dotted path`);
  const tlsParam = params.get('tls');
  if (tlsParam !== null && tlsParam !== 'true' && tlsParam !== 'false') throw bad(`tls must be true or false, got '${tlsParam}'`);
  const sasl = saslOf(params, env, bad);
  return {
    url: redact(text),
    brokers,
    topic,
    group,
    start: startOf(params.get('start') ?? 'earliest', bad),
    key,
    clientId: params.get('client-id') ?? 'sluice',
    tls: tlsParam === 'true' || sasl?.mechanism === 'iam',
    sasl,
    sessionTimeoutMs: sessionTimeoutOf(params.get('session-timeout'), bad),
  };
}

function sessionTimeoutOf(value: string | null, bad: (why: string) => UserError): number {
  if (value === null) return 30_000;
  const ms = /^\d+$/.test(value) ? Number(value) : (() => {
    try {
      return parseDuration(value, 'session-timeout');
    } catch {
      return Number.NaN;
    }
  })();
  // the broker's group.min.session.timeout.ms is 6 s by default
  if (!Number.isFinite(ms) || ms < 6_000) throw bad(`session-timeout must be a duration of at least 6s (the broker's minimum), got '${value}'`);
  return ms;
}

function startOf(value: string, bad: (why: string) => UserError): KafkaStart {
  if (value === 'earliest' || value === 'latest') return { kind: value };
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) throw bad(`start must be earliest, latest, epoch milliseconds or an ISO-8601 time, got '${value}'`);
  return { kind: 'timestamp', time };
}

function saslOf(params: URLSearchParams, env: Readonly<Record<string, string | undefined>>, bad: (why: string) => UserError): KafkaSasl | undefined {
  const mechanism = params.get('sasl');
  if (mechanism === null) return undefined;
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw bad(`sasl must be one of ${MECHANISMS.join(', ')}, got '${mechanism}'`);
  if (mechanism === 'iam') {
    const region = params.get('region') ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    if (region === undefined || region === '') throw bad('sasl=iam needs the cluster region: add &region=REGION or set AWS_REGION');
    return { mechanism: 'iam', region };
  }
  const username = params.get('username') ?? env['SLUICE_KAFKA_USERNAME'];
  const password = params.get('password') ?? env['SLUICE_KAFKA_PASSWORD'];
  if (username === undefined || username === '') throw bad(`sasl=${mechanism} needs a user: add &username=… or set SLUICE_KAFKA_USERNAME`);
  if (password === undefined || password === '') throw bad(`sasl=${mechanism} needs a password: set SLUICE_KAFKA_PASSWORD (or &password=…)`);
  return { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
}

/** The URL with any password replaced, for messages and logs. */
export function redact(text: string): string {
  return text.replace(/([?&]password=)[^&#]*/g, '$1***');
}
