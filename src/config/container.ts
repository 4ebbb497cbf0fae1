/**
 * The container configuration: the environment `sluice start` runs from, checked once, before
 * anything is opened. A bad value is a `UserError` whose one-line message names the variable and
 * what is wrong with it; a secret's value never appears in it.
 *
 * @module
 */
import { z } from 'zod';
import { ErrorCode, UserError, isUserError, messageOf } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { modelEndpoint } from '../pipelines/model-endpoint.js';
import { LOG_FORMATS, type LogFormat } from '../runtime/ops/log.js';
import { CONFIG_VARIABLES, OTHER_SLUICE_VARIABLES, SECRET_VARIABLES, type ConfigVariableName } from './variables.js';
import { checkpointResource, plannedScheme, sinkResource, sourceResource, type CheckpointResource, type Resource } from './resources.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The container configuration, checked: every URL parses and every number is in range. */
export interface ContainerConfig {
  /** A built-in pipeline's name or a module path. */
  readonly pipeline: string;
  readonly source: string | undefined;
  readonly sinks: readonly string[] | undefined;
  readonly deadLetter: string | undefined;
  readonly late: string | undefined;
  readonly checkpoint: string | undefined;
  /** As written: a duration (`10s`) or a record count (`10000`). */
  readonly checkpointInterval: string;
  /** As written (`25s`), and in milliseconds. */
  readonly shutdownTimeout: string;
  readonly shutdownTimeoutMs: number;
  readonly batchSize: number | undefined;
  readonly perPartition: boolean;
  readonly journal: string | undefined;
  readonly opsPort: number;
  readonly opsHost: string;
  /** How Sluice's own lines are written: `json` on ECS (CloudWatch Logs), else text. */
  readonly logFormat: LogFormat;
  readonly modelEndpointUrl: string | undefined;
  /** What the URLs name, for the deployment's IAM policy, alarms and scaling. */
  readonly resources: ConfigResources;
  /** Names (never values) of the secret variables that are set. */
  readonly secretsSet: readonly string[];
}

/** What the configured URLs name outside the process. */
export interface ConfigResources {
  readonly source: Resource | undefined;
  readonly sinks: readonly Resource[];
  readonly deadLetter: Resource | undefined;
  readonly late: Resource | undefined;
  readonly checkpoint: CheckpointResource | undefined;
}

/** Options of {@link loadContainerConfig}. */
export interface LoadOptions {
  /**
   * `reject` (default, `sluice start`): a URL whose connector this build lacks (`kinesis://`,
   * `dynamodb://`, `s3://`) is an error. `allow` (deploy/): it is taken, so the stack's IAM and
   * scaling can be prepared ahead of the connector.
   */
  readonly planned?: 'reject' | 'allow';
}

/** Defaults applied when a variable is unset or empty. */
export const DEFAULTS = {
  checkpointInterval: '10s',
  shutdownTimeout: '25s',
  opsPort: 8081,
  opsHost: '0.0.0.0',
  logFormat: 'text',
} as const;

/**
 * Where `SLUICE_SINKS` splits: at a comma before `scheme://` or one of the schemes without
 * slashes (`file:`, `stdout:`, `stderr:`), so the commas of a broker list (`b-1:9092,b-2:9092`)
 * or of a parameter (`dimensions=a,b`) stay inside their URL.
 */
const SINK_SCHEMES = /,\s*(?=(?:dlq:)?(?:[a-z][a-z0-9+.-]*:\/\/|file:|stdout:|stderr:))/i;

/**
 * Splits `SLUICE_SINKS`: a JSON array of strings, or URLs separated by commas where a comma is
 * followed by a sink scheme (so `kafka://b-1:9092,b-2:9092/topic` stays one URL).
 *
 * @example splitSinks('file:a.jsonl,kafka://b-1:9092,b-2:9092/out') // ['file:a.jsonl', 'kafka://b-1:9092,b-2:9092/out']
 */
export function splitSinks(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`is not a JSON array (${messageOf(err)}); write a JSON array of URL strings or comma-separated URLs`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string' && item.trim() !== '')) {
      throw new Error('must be a JSON array of non-empty URL strings');
    }
    return parsed.map((item: string) => item.trim());
  }
  const urls = trimmed.split(SINK_SCHEMES).map((url) => url.trim());
  if (urls.some((url) => url === '' || url.startsWith(',') || url.endsWith(','))) throw new Error(`has an empty URL between commas in '${trimmed}'`);
  return urls;
}

/** A URL parameter that holds a credential, which belongs in a secret variable instead. */
const CREDENTIAL_PARAM = /[?&](password|token|secret)=/i;

/** A message that names the variable: the connectors' parsers already start with it. */
function named(variable: ConfigVariableName, message: string): string {
  return message.startsWith(variable) ? message : `${variable}: ${message}`;
}

/** The UserError for a variable, its value shown only when it is not a secret. */
function problem(variable: ConfigVariableName, why: string): UserError {
  return new UserError(ErrorCode.BAD_OPTION, named(variable, why));
}

/**
 * A zod schema for one optional variable: trimmed, empty as unset, then `check` turns the text
 * into its value or throws; the thrown message becomes the issue.
 */
function variable<T>(name: ConfigVariableName, check: (text: string) => T) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      const text = raw?.trim();
      if (text === undefined || text === '') return undefined;
      try {
        return check(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: named(name, messageOf(err)) });
        return z.NEVER;
      }
    });
}

function wholeNumber(name: ConfigVariableName, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name} '${text}' must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function urlWithoutCredentials(name: ConfigVariableName, text: string): void {
  if (CREDENTIAL_PARAM.test(text)) {
    // the URL is not shown: it holds the credential
    throw new Error(`${name} has a credential in a URL parameter, where it would show in the task definition; put it in its secret variable from Secrets Manager instead (SLUICE_KAFKA_PASSWORD, SLUICE_OPENSEARCH_PASSWORD, SLUICE_INFLUXDB_TOKEN)`);
  }
}

function notPlanned(name: ConfigVariableName, text: string, options: LoadOptions): void {
  const planned = plannedScheme(text.startsWith('dlq:') ? text.slice(4) : text);
  if (planned !== undefined && options.planned !== 'allow') {
    throw new Error(`${name} '${text}': ${planned} is not built into this version of Sluice yet (see README, Running on ECS)`);
  }
}

/** Secrets that ECS injected whole from a JSON secret, instead of the one key the task needs. */
function secretCheck(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const trimmed = value.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      if (typeof JSON.parse(trimmed) === 'object') {
        return `${name} holds a whole JSON secret (value not shown); name the key in the task definition's secret (valueFrom ARN ending :KEY::)`;
      }
    } catch {
      // not JSON: a password may well start with a brace
    }
  }
  if (trimmed !== value) return `${name} has leading or trailing white space (value not shown); store the secret without it`;
  return undefined;
}

/** Edit distance, for "did you mean" on a misspelt variable. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

const KNOWN: readonly string[] = [...CONFIG_VARIABLES.map((v) => v.name), ...OTHER_SLUICE_VARIABLES];

/** A `SLUICE_…` variable one or two letters off a configuration variable is a typo, not a new setting. */
function misspelt(env: Env): UserError | undefined {
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('SLUICE_') || KNOWN.includes(name)) continue;
    const near = KNOWN.find((known) => distance(name, known) <= 2);
    if (near !== undefined) return new UserError(ErrorCode.BAD_OPTION, `${name}: unknown variable; did you mean ${near}?`);
  }
  return undefined;
}

function schema(env: Env, options: LoadOptions) {
  const sourceUrl = (text: string): { url: string; resource: Resource } => {
    urlWithoutCredentials('SLUICE_SOURCE', text);
    notPlanned('SLUICE_SOURCE', text, options);
    return { url: text, resource: sourceResource(text, env, 'SLUICE_SOURCE') };
  };
  const sinkUrl = (name: ConfigVariableName) => (text: string): { url: string; resource: Resource } => {
    urlWithoutCredentials(name, text);
    return { url: text, resource: sinkResource(text, env, name) };
  };
  return z.object({
    SLUICE_PIPELINE: variable('SLUICE_PIPELINE', (text) => text),
    SLUICE_SOURCE: variable('SLUICE_SOURCE', sourceUrl),
    SLUICE_SINKS: variable('SLUICE_SINKS', (text) => {
      let urls: string[];
      try {
        urls = splitSinks(text);
      } catch (err) {
        throw new Error(`SLUICE_SINKS ${messageOf(err)}`);
      }
      return urls.map(sinkUrl('SLUICE_SINKS'));
    }),
    SLUICE_DEAD_LETTER: variable('SLUICE_DEAD_LETTER', sinkUrl('SLUICE_DEAD_LETTER')),
    SLUICE_LATE: variable('SLUICE_LATE', (text) => (text === 'drop' ? undefined : sinkUrl('SLUICE_LATE')(text))),
    SLUICE_CHECKPOINT: variable('SLUICE_CHECKPOINT', (text) => {
      notPlanned('SLUICE_CHECKPOINT', text, options);
      return { url: text, resource: checkpointResource(text, env, 'SLUICE_CHECKPOINT') };
    }),
    SLUICE_CHECKPOINT_INTERVAL: variable('SLUICE_CHECKPOINT_INTERVAL', (text) => {
      if (/^\d+$/.test(text)) {
        wholeNumber('SLUICE_CHECKPOINT_INTERVAL', 1, Number.MAX_SAFE_INTEGER)(text);
        return text;
      }
      if (parseDuration(text, 'SLUICE_CHECKPOINT_INTERVAL') < 1) throw new Error(`SLUICE_CHECKPOINT_INTERVAL '${text}' must be longer than 0`);
      return text;
    }),
    SLUICE_SHUTDOWN_TIMEOUT: variable('SLUICE_SHUTDOWN_TIMEOUT', (text) => {
      const ms = parseDuration(text, 'SLUICE_SHUTDOWN_TIMEOUT');
      if (ms < 1_000) throw new Error(`SLUICE_SHUTDOWN_TIMEOUT '${text}' must be at least 1s: a final checkpoint needs time`);
      return { text, ms };
    }),
    SLUICE_BATCH_SIZE: variable('SLUICE_BATCH_SIZE', wholeNumber('SLUICE_BATCH_SIZE', 1, 1_000_000)),
    SLUICE_PER_PARTITION: variable('SLUICE_PER_PARTITION', (text) => {
      if (text !== 'true' && text !== 'false') throw new Error(`SLUICE_PER_PARTITION '${text}' must be true or false`);
      return text === 'true';
    }),
    SLUICE_JOURNAL: variable('SLUICE_JOURNAL', (text) => text),
    SLUICE_OPS_PORT: variable('SLUICE_OPS_PORT', wholeNumber('SLUICE_OPS_PORT', 1, 65_535)),
    SLUICE_OPS_HOST: variable('SLUICE_OPS_HOST', (text) => {
      if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9.-]+)$/.test(text)) throw new Error(`SLUICE_OPS_HOST '${text}' is not a host name or IP address`);
      return text;
    }),
    SLUICE_LOG_FORMAT: variable('SLUICE_LOG_FORMAT', (text): LogFormat => {
      if (!(LOG_FORMATS as readonly string[]).includes(text)) throw new Error(`SLUICE_LOG_FORMAT '${text}' must be ${LOG_FORMATS.join(' or ')}`);
      return text as LogFormat;
    }),
    SLUICE_MODEL_ENDPOINT_URL: variable('SLUICE_MODEL_ENDPOINT_URL', (text) => {
      modelEndpoint('check', { SLUICE_MODEL_ENDPOINT_URL: text });
      return text;
    }),
  });
}

/**
 * Reads and checks the container configuration from `env` (default `process.env`). Throws one
 * `UserError(BAD_OPTION)` for the first bad variable, in the README's order; its message names
 * the variable and never holds a secret's value.
 *
 * @example const config = loadContainerConfig({ SLUICE_PIPELINE: 'clickstream', SLUICE_SINKS: 'file:out.jsonl' });
 * @see CONFIG_VARIABLES
 */
export function loadContainerConfig(env: Env = process.env, options: LoadOptions = {}): ContainerConfig {
  const typo = misspelt(env);
  if (typo !== undefined) throw typo;
  for (const name of SECRET_VARIABLES) {
    const why = secretCheck(name, env[name]);
    if (why !== undefined) throw new UserError(ErrorCode.BAD_OPTION, why);
  }
  let parsed: z.output<ReturnType<typeof schema>>;
  try {
    const result = schema(env, options).safeParse(env);
    if (!result.success) {
      const order = CONFIG_VARIABLES.map((v) => v.name as string);
      const issues = [...result.error.issues].sort((a, b) => order.indexOf(String(a.path[0])) - order.indexOf(String(b.path[0])));
      const first = issues[0];
      throw new UserError(ErrorCode.BAD_OPTION, first === undefined ? 'the configuration is not valid' : named(String(first.path[0]) as ConfigVariableName, first.message));
    }
    parsed = result.data;
  } catch (err) {
    if (isUserError(err)) throw err;
    throw new UserError(ErrorCode.BAD_OPTION, messageOf(err), { cause: err });
  }
  if (parsed.SLUICE_PIPELINE === undefined) {
    throw problem('SLUICE_PIPELINE', 'not set; name a built-in pipeline (clickstream, telemetry, …) or the path of a pipeline module in the image');
  }
  const shutdown = parsed.SLUICE_SHUTDOWN_TIMEOUT ?? { text: DEFAULTS.shutdownTimeout, ms: parseDuration(DEFAULTS.shutdownTimeout) };
  return {
    pipeline: parsed.SLUICE_PIPELINE,
    source: parsed.SLUICE_SOURCE?.url,
    sinks: parsed.SLUICE_SINKS?.map((sink) => sink.url),
    deadLetter: parsed.SLUICE_DEAD_LETTER?.url,
    late: env['SLUICE_LATE']?.trim() === 'drop' ? 'drop' : parsed.SLUICE_LATE?.url,
    checkpoint: parsed.SLUICE_CHECKPOINT?.url,
    checkpointInterval: parsed.SLUICE_CHECKPOINT_INTERVAL ?? DEFAULTS.checkpointInterval,
    shutdownTimeout: shutdown.text,
    shutdownTimeoutMs: shutdown.ms,
    batchSize: parsed.SLUICE_BATCH_SIZE,
    perPartition: parsed.SLUICE_PER_PARTITION ?? false,
    journal: parsed.SLUICE_JOURNAL,
    opsPort: parsed.SLUICE_OPS_PORT ?? DEFAULTS.opsPort,
    opsHost: parsed.SLUICE_OPS_HOST ?? DEFAULTS.opsHost,
    logFormat: parsed.SLUICE_LOG_FORMAT ?? DEFAULTS.logFormat,
    modelEndpointUrl: parsed.SLUICE_MODEL_ENDPOINT_URL,
    resources: {
      source: parsed.SLUICE_SOURCE?.resource,
      sinks: parsed.SLUICE_SINKS?.map((sink) => sink.resource) ?? [],
      deadLetter: parsed.SLUICE_DEAD_LETTER?.resource,
      late: parsed.SLUICE_LATE?.resource,
      checkpoint: parsed.SLUICE_CHECKPOINT?.resource,
    },
    secretsSet: SECRET_VARIABLES.filter((name) => (env[name] ?? '') !== ''),
  };
}
