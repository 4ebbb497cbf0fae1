/**
 * The container's configuration, one environment variable per setting: what `sluice start` reads,
 * what the ECS task definition in deploy/ sets, and what the README's configuration reference
 * lists. This table is the one place that names them.
 *
 * @module
 */

/**
 * One variable of the container configuration.
 *
 * @example { name: 'SLUICE_SOURCE', summary: 'where events come from', example: 'kafka://b-1:9098/clicks?group=g&sasl=iam' }
 */
export interface ConfigVariable {
  readonly name: string;
  /** One line for the README and `sluice start --help`. */
  readonly summary: string;
  /** What applies when it is unset or empty. */
  readonly default?: string;
  /** Injected by ECS from Secrets Manager; its value is never printed, not even in an error. */
  readonly secret?: boolean;
  readonly example: string;
}

/** Every variable `sluice start` reads, in the order the README lists them. */
export const CONFIG_VARIABLES = [
  { name: 'SLUICE_PIPELINE', summary: 'the pipeline: a built-in name or the path of a module in the image (required)', example: 'clickstream' },
  { name: 'SLUICE_SOURCE', summary: "where events come from: a --source URL", default: "the pipeline's own", example: 'kafka://b-1.msk:9098/clicks?group=page-views&sasl=iam' },
  {
    name: 'SLUICE_SINKS',
    summary: 'where results go: --sink URLs, comma-separated (a comma starts a new URL only before a scheme, so broker lists stay whole) or a JSON array',
    default: "the pipeline's own, else stdout:",
    example: 'firehose://page-views,opensearch://search-x.eu-west-1.es.amazonaws.com/views?auth=sigv4',
  },
  { name: 'SLUICE_DEAD_LETTER', summary: 'where rejected records go: a --dead-letter URL', default: 'stderr:', example: 'dlq:firehose://sluice-dead-letters' },
  { name: 'SLUICE_LATE', summary: 'late events: drop, or a sink URL', default: 'drop', example: 'file:/var/lib/sluice/late.jsonl' },
  { name: 'SLUICE_CHECKPOINT', summary: 'the checkpoint store: file:DIR (on ECS, an EFS volume; dynamodb://TABLE and s3://BUCKET/PREFIX are planned)', default: 'none (no resume)', example: 'file:/var/lib/sluice/checkpoints' },
  { name: 'SLUICE_CHECKPOINT_INTERVAL', summary: 'checkpoint every duration or record count', default: '10s', example: '30s' },
  { name: 'SLUICE_SHUTDOWN_TIMEOUT', summary: 'on SIGTERM: finish, checkpoint and exit within this time (keep it under the task stopTimeout)', default: '25s', example: '60s' },
  { name: 'SLUICE_BATCH_SIZE', summary: 'events per batch read from the source', default: '1024', example: '2048' },
  { name: 'SLUICE_PER_PARTITION', summary: 'true: one result per partition instead of combining partitions', default: 'false', example: 'true' },
  { name: 'SLUICE_JOURNAL', summary: 'where the answers of predictions are journaled', default: 'beside the checkpoints', example: '/var/lib/sluice/journal' },
  { name: 'SLUICE_OPS_PORT', summary: 'port of the operations server (/healthz, /readyz, /metrics)', default: '8081', example: '8081' },
  { name: 'SLUICE_OPS_HOST', summary: 'address the operations server listens on', default: '0.0.0.0', example: '0.0.0.0' },
  { name: 'SLUICE_LOG_FORMAT', summary: "Sluice's own lines (start-up, summary, problems): text, or json (pino) for CloudWatch Logs", default: 'text', example: 'json' },
  { name: 'SLUICE_MODEL_ENDPOINT_URL', summary: 'SageMaker runtime address of the built-in prediction pipelines; unset: SageMaker itself', example: 'http://127.0.0.1:8080' },
  { name: 'SLUICE_KAFKA_USERNAME', summary: 'SASL user for Kafka/MSK (sasl=scram-… or plain)', example: 'sluice' },
  { name: 'SLUICE_KAFKA_PASSWORD', summary: 'SASL password for Kafka/MSK', secret: true, example: '(from Secrets Manager)' },
  { name: 'SLUICE_OPENSEARCH_USERNAME', summary: 'basic-auth user of a self-managed OpenSearch', example: 'sluice' },
  { name: 'SLUICE_OPENSEARCH_PASSWORD', summary: 'basic-auth password of a self-managed OpenSearch', secret: true, example: '(from Secrets Manager)' },
  { name: 'SLUICE_INFLUXDB_TOKEN', summary: 'InfluxDB v2 API token', secret: true, example: '(from Secrets Manager)' },
  { name: 'SLUICE_INFLUXDB_USERNAME', summary: 'InfluxDB 1.x user', example: 'sluice' },
  { name: 'SLUICE_INFLUXDB_PASSWORD', summary: 'InfluxDB 1.x password', secret: true, example: '(from Secrets Manager)' },
] as const satisfies readonly ConfigVariable[];

/** The name of a configuration variable. */
export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

/** Names of the variables whose values are secrets. */
export const SECRET_VARIABLES: readonly ConfigVariableName[] = CONFIG_VARIABLES.filter((v: ConfigVariable) => v.secret === true).map((v) => v.name);

/**
 * Variables Sluice reads that are not part of the container configuration (tests, local peers):
 * never mistaken for a misspelt configuration variable.
 */
export const OTHER_SLUICE_VARIABLES: readonly string[] = ['SLUICE_AWS_ENDPOINT'];

/**
 * The README's configuration reference as a Markdown table.
 *
 * @example configReference().split('\n')[0] // '| variable | meaning | default |'
 */
export function configReference(): string {
  const rows = CONFIG_VARIABLES.map((v: ConfigVariable) => `| \`${v.name}\` | ${v.secret === true ? 'secret: ' : ''}${v.summary} | ${v.default ?? '—'} |`);
  return ['| variable | meaning | default |', '|---|---|---|', ...rows].join('\n');
}
