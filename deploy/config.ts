/**
 * The deployment's configuration: one JSON file per pipeline (see deploy/examples/). Its
 * `environment` is the container configuration itself (the SLUICE_* variables `sluice start`
 * reads), checked here with the same code as at start-up, so a value the task would refuse fails
 * the synth instead; the rest says where and how big the service runs and names what the URLs
 * cannot (an MSK cluster's ARN, an EFS file system).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CONFIG_VARIABLES, SECRET_VARIABLES, loadContainerConfig, plannedScheme, type ContainerConfig, type KinesisResource, type Resource } from '../src/config/index.js';
import { parseDuration } from '../src/core/duration.js';
import { messageOf } from '../src/core/errors.js';

/** Fargate's largest stopTimeout: SIGKILL follows SIGTERM after at most this long. */
export const FARGATE_MAX_STOP_TIMEOUT_S = 120;

/**
 * Fargate's task sizes: CPU units → the memory (MiB) each allows. From "Amazon ECS task
 * definition parameters for Fargate", task CPU and memory.
 */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

/** CloudWatch Logs retention periods (days) the API takes. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const ACCOUNT = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const REGION = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as eu-west-1');
const arn = (service: string, resource: RegExp, example: string) =>
  z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:${resource.source}$`), `must be an ARN such as ${example}`);

/** A complete secret ARN (with the 6-character suffix), so IAM can name it without a wildcard. */
const SECRET_ARN = arn('secretsmanager', /secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}/, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sluice/kafka-AbCdEf');

const deploySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'must start with a letter and hold letters, digits and -, at most 63'),
    account: ACCOUNT,
    region: REGION,
    image: z.union([
      z.object({ repositoryArn: arn('ecr', /repository\/[a-z0-9._/-]+/, 'arn:aws:ecr:eu-west-1:123456789012:repository/sluice'), tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/) }).strict(),
      z.object({ name: z.string().min(1) }).strict(),
    ]),
    /** Build target of the image: kcl when the source is Kinesis with coordinator=kcl (the MultiLangDaemon needs Java and its jars). */
    imageTarget: z.enum(['runtime', 'kcl']).default('runtime'),
    environment: z.record(z.string(), z.string()),
    secrets: z.record(z.string(), z.object({ secretArn: SECRET_ARN, field: z.string().min(1).optional() }).strict()).default({}),
    /**
     * What the source is split into, which bounds the task count: a Kafka topic's partitions, a
     * Kinesis stream's open shards.
     */
    partitions: z.number().int().min(1).max(10_000),
    tasks: z.object({ min: z.number().int().min(1).default(1), max: z.number().int().min(1).optional() }).strict().default({ min: 1 }),
    cpu: z.number().int().default(1024),
    memoryMiB: z.number().int().default(2048),
    architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
    /** Seconds between the shutdown deadline and ECS's SIGKILL: process exit, log flush. */
    stopMarginSeconds: z.number().int().min(5).max(60).default(10),
    network: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-…)'),
        availabilityZones: z.array(z.string().min(1)).min(1),
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be subnet ids (subnet-…)')).min(1),
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be security group ids (sg-…)')).min(1),
        assignPublicIp: z.boolean().default(false),
      })
      .strict(),
    msk: z.object({ clusterArn: arn('kafka', /cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+/, 'arn:aws:kafka:eu-west-1:123456789012:cluster/events/4f0a…-7') }).strict().optional(),
    opensearch: z.object({ domainArn: arn('(es|aoss)', /(domain\/[a-z][a-z0-9-]{2,27}|collection\/[a-z0-9]+)/, 'arn:aws:es:eu-west-1:123456789012:domain/results') }).strict().optional(),
    efs: z
      .object({
        fileSystemId: z.string().regex(/^fs-[0-9a-f]{8,17}$/, 'must be a file system id (fs-…)'),
        accessPointId: z.string().regex(/^fsap-[0-9a-f]{8,17}$/, 'must be an access point id (fsap-…)'),
        mountPath: z.string().regex(/^\/[A-Za-z0-9/_.-]+$/).default('/var/lib/sluice'),
      })
      .strict()
      .optional(),
    /** SageMaker endpoints the pipeline calls; the built-in prediction pipelines' are known. */
    sagemakerEndpoints: z.array(z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/)).optional(),
    scaling: z
      .object({
        /** Kafka: records behind, summed over the group, above which a task is added. */
        lagRecords: z.number().int().min(1).default(100_000),
        /** Kinesis: iterator age above which a task is added. */
        iteratorAgeSeconds: z.number().int().min(1).default(60),
        cooldownSeconds: z.number().int().min(60).default(300),
      })
      .strict()
      .default({ lagRecords: 100_000, iteratorAgeSeconds: 60, cooldownSeconds: 300 }),
    alarms: z
      .object({
        /** Kafka: one partition this many records behind, for 5 minutes. */
        partitionLagRecords: z.number().int().min(1).default(1_000_000),
        /** Kinesis: the oldest record this old, for 5 minutes. */
        iteratorAgeSeconds: z.number().int().min(1).default(600),
        deadLettersPerFiveMinutes: z.number().int().min(0).default(100),
        topicArn: arn('sns', /[A-Za-z0-9_-]{1,256}/, 'arn:aws:sns:eu-west-1:123456789012:sluice-alarms').optional(),
      })
      .strict()
      .default({ partitionLagRecords: 1_000_000, iteratorAgeSeconds: 600, deadLettersPerFiveMinutes: 100 }),
    logRetentionDays: z.number().int().refine((d) => RETENTION_DAYS.includes(d), `must be one of ${RETENTION_DAYS.join(', ')}`).default(30),
  })
  .strict();

/** The deployment configuration as written (defaults applied). */
export type DeployInput = z.output<typeof deploySchema>;

/** A checked deployment: its settings, and the container configuration it runs. */
export interface DeployConfig extends DeployInput {
  readonly container: ContainerConfig;
  /**
   * Tasks the service scales between: at most one per partition (Kinesis: per shard), and one
   * for a file: checkpoint store (so for `coordinator=kcl`) or a Kinesis source without `app=`.
   */
  readonly capacity: { readonly min: number; readonly max: number };
  /** The task's stopTimeout: the shutdown deadline plus the margin. */
  readonly stopTimeoutSeconds: number;
  /** SageMaker endpoint names the task may invoke. */
  readonly endpoints: readonly string[];
  /** Things that deploy but will not work yet, for a synth warning each. */
  readonly warnings: readonly string[];
}

/** A deployment configuration that cannot deploy; the message names the setting. */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

/** The built-in prediction pipelines and the SageMaker endpoints they call without SLUICE_MODEL_ENDPOINT_URL. */
const BUILTIN_ENDPOINTS: Readonly<Record<string, readonly string[]>> = {
  'telemetry-anomalies': ['telemetry-anomaly'],
  'clickstream-purchases': ['clickstream-purchase'],
};

/** What ECS injects for a secret during the synth's check: a stand-in, never a real value. */
const SECRET_STAND_IN = 'from-secrets-manager';

/**
 * Checks a deployment configuration (parsed JSON) and the container configuration inside it.
 *
 * @example const config = checkDeployConfig(JSON.parse(readFileSync('deploy/examples/msk-iam.json', 'utf8')))
 * @throws DeployConfigError naming the setting and what is wrong.
 */
export function checkDeployConfig(input: unknown): DeployConfig {
  const parsed = deploySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeployConfigError(`${issue?.path.join('.') || 'the configuration'}: ${issue?.message ?? 'is not valid'}`);
  }
  const d = parsed.data;
  const known = CONFIG_VARIABLES.map((v) => v.name as string);
  for (const name of Object.keys(d.environment)) {
    if (SECRET_VARIABLES.includes(name as never)) throw new DeployConfigError(`environment.${name} is a secret: put it under secrets, as a Secrets Manager ARN`);
    if (!known.includes(name)) throw new DeployConfigError(`environment.${name} is not a Sluice configuration variable (see README, Configuration)`);
  }
  for (const name of ['SLUICE_SOURCE', 'SLUICE_SINKS']) {
    // a pipeline's own defaults live in its module; the task role is made from what is written here
    if ((d.environment[name] ?? '').trim() === '') throw new DeployConfigError(`environment.${name}: set it; the stack derives the task role from the configured URLs`);
  }
  if ((d.environment['SLUICE_LOG_FORMAT'] ?? 'json') !== 'json') {
    throw new DeployConfigError('environment.SLUICE_LOG_FORMAT: on ECS Sluice logs JSON (the stack counts problem lines by their level); leave it unset');
  }
  for (const name of Object.keys(d.secrets)) {
    if (!known.includes(name)) throw new DeployConfigError(`secrets.${name} is not a Sluice configuration variable (see README, Configuration)`);
    if (name in d.environment) throw new DeployConfigError(`secrets.${name} is also set in environment; set it in one place`);
  }
  let container: ContainerConfig;
  try {
    const standIns = Object.fromEntries(Object.keys(d.secrets).map((name) => [name, SECRET_STAND_IN]));
    container = loadContainerConfig({ ...d.environment, ...standIns, AWS_REGION: d.region }, { planned: 'allow' });
  } catch (err) {
    throw new DeployConfigError(`environment: ${messageOf(err)}`);
  }

  const stopTimeoutSeconds = Math.ceil(container.shutdownTimeoutMs / 1000) + d.stopMarginSeconds;
  if (stopTimeoutSeconds > FARGATE_MAX_STOP_TIMEOUT_S) {
    throw new DeployConfigError(
      `environment.SLUICE_SHUTDOWN_TIMEOUT ${container.shutdownTimeout} plus stopMarginSeconds ${d.stopMarginSeconds} exceeds Fargate's largest stopTimeout (${FARGATE_MAX_STOP_TIMEOUT_S} s)`,
    );
  }
  const memories = FARGATE_SIZES[d.cpu];
  if (memories === undefined) throw new DeployConfigError(`cpu: ${d.cpu} is not a Fargate task size (${Object.keys(FARGATE_SIZES).join(', ')})`);
  if (!memories.includes(d.memoryMiB)) throw new DeployConfigError(`memoryMiB: ${d.memoryMiB} does not go with cpu ${d.cpu} on Fargate (${memories[0]} to ${memories.at(-1)})`);

  const resources = [container.resources.source, ...container.resources.sinks, container.resources.deadLetter, container.resources.late];
  const checkpoint = container.resources.checkpoint;
  const warnings: string[] = [];
  for (const url of [container.source, container.checkpoint]) {
    if (url !== undefined && plannedScheme(url) !== undefined) {
      warnings.push(`${url}: this version of Sluice cannot run it yet (the task would stop at start-up); the stack is ready for it`);
    }
  }
  if (resources.some((r) => r?.kind === 'kafka' && r.auth === 'iam') && d.msk === undefined) {
    throw new DeployConfigError('msk.clusterArn: a kafka:// URL uses sasl=iam, so the task role needs the MSK cluster ARN');
  }
  const sigv4 = resources.find((r): r is Extract<Resource, { kind: 'opensearch' }> => r?.kind === 'opensearch' && r.auth === 'sigv4');
  if (sigv4 !== undefined && d.opensearch === undefined && domainArnOf(sigv4, d) === undefined) {
    throw new DeployConfigError('opensearch.domainArn: an opensearch:// sink signs with SigV4, and its host names no domain; give the domain (or collection) ARN');
  }
  const kinesis = container.resources.source?.kind === 'kinesis' ? container.resources.source : undefined;
  if (kinesis?.coordinator === 'kcl' && d.imageTarget !== 'kcl') {
    // a warning, not an error: the stack cannot see which target the tagged image was built from
    warnings.push(`SLUICE_SOURCE ${container.source}: coordinator=kcl runs the KCL MultiLangDaemon, which only the image built with --target kcl holds; set imageTarget: kcl`);
  }
  if (kinesis?.coordinator === 'kcl') {
    // KCL's checkpoints only follow Sluice's, which keep each shard's state in a file: directory
    if (checkpoint?.kind !== 'file') {
      throw new DeployConfigError(
        `environment.SLUICE_CHECKPOINT: coordinator=kcl keeps each shard's state in a file: checkpoint directory (the lease table's KCL checkpoints follow it); set it to file:DIR on the EFS volume`,
      );
    }
  } else if (kinesis?.application !== undefined && container.checkpoint !== undefined) {
    throw new DeployConfigError(
      `environment.SLUICE_CHECKPOINT: the source keeps its checkpoints in the DynamoDB lease table '${kinesis.application}' (app= of ${container.source}) and refuses another store; remove SLUICE_CHECKPOINT`,
    );
  }

  const singleWriter = checkpoint?.kind === 'file';
  if (singleWriter) {
    if (d.efs === undefined) throw new DeployConfigError(`efs: SLUICE_CHECKPOINT ${container.checkpoint} is a directory; on Fargate it must be an EFS volume, or checkpoints vanish with the task`);
    if (!isUnder(checkpoint.dir, d.efs.mountPath)) throw new DeployConfigError(`environment.SLUICE_CHECKPOINT: ${checkpoint.dir} is not under the EFS mount ${d.efs.mountPath}`);
  }
  for (const r of resources) {
    if (r?.kind === 'file' && (d.efs === undefined || !isUnder(r.path, d.efs.mountPath))) warnings.push(`file:${r.path} is on the task's ephemeral storage: it is lost when the task stops`);
  }
  // without app= a Kinesis source holds every shard itself: a second task would read them all again
  const oneReader = kinesis !== undefined && kinesis.application === undefined;
  const max = d.tasks.max ?? (singleWriter || oneReader ? 1 : d.partitions);
  if (max > d.partitions) {
    throw new DeployConfigError(
      kinesis === undefined
        ? `tasks.max: ${max} tasks for ${d.partitions} partitions; a task beyond one per partition has nothing to read`
        : `tasks.max: ${max} tasks for ${d.partitions} shards (partitions: the stream's open shard count); a task beyond one per shard has nothing to read`,
    );
  }
  if (oneReader && max > 1) throw new DeployConfigError(kinesisFleetMessage(`tasks.max: ${max}`, kinesis, container));
  if (oneReader && d.tasks.min > 1) throw new DeployConfigError(kinesisFleetMessage(`tasks.min: ${d.tasks.min}`, kinesis, container));
  if (singleWriter && max > 1) {
    const fleet = kinesis === undefined ? 'a Kafka fleet needs the DynamoDB checkpoint store, planned' : 'for a fleet drop coordinator=kcl and SLUICE_CHECKPOINT: the native source keeps its checkpoints in the lease table';
    throw new DeployConfigError(`tasks.max: ${max}, but a file: checkpoint directory serves one machine; keep tasks.max 1 (${fleet})`);
  }
  if (d.tasks.min > max) throw new DeployConfigError(`tasks.min: ${d.tasks.min} is above tasks.max ${max}`);

  const endpoints = d.sagemakerEndpoints ?? (container.modelEndpointUrl === undefined ? (BUILTIN_ENDPOINTS[container.pipeline] ?? []) : []);
  return { ...d, container, capacity: { min: d.tasks.min, max }, stopTimeoutSeconds, endpoints, warnings };
}

function kinesisFleetMessage(setting: string, kinesis: KinesisResource, container: ContainerConfig): string {
  const lease = `add app=NAME (kinesis://${kinesis.stream}?app=NAME: the DynamoDB lease table the tasks share, which also keeps the checkpoints)`;
  return `${setting}, but SLUICE_SOURCE ${container.source} has no app=, so one task reads every shard; for a fleet ${lease}${container.checkpoint === undefined ? '' : ' and remove SLUICE_CHECKPOINT'}`;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * The ARN of an Amazon OpenSearch Service domain from the configuration, or from its standard
 * endpoint `search-NAME-ID.REGION.es.amazonaws.com` (or `vpc-…`); a collection's from
 * `ID.REGION.aoss.amazonaws.com`.
 */
export function domainArnOf(resource: { readonly host: string; readonly service: 'es' | 'aoss' }, config: Pick<DeployInput, 'account' | 'region' | 'opensearch'>): string | undefined {
  if (config.opensearch !== undefined) return config.opensearch.domainArn;
  const es = /^(?:search|vpc)-(.+)-[a-z0-9]+\.([a-z0-9-]+)\.es\.amazonaws\.com$/.exec(resource.host);
  if (resource.service === 'es' && es !== null) return `arn:aws:es:${es[2]}:${config.account}:domain/${es[1]}`;
  const aoss = /^([a-z0-9]+)\.([a-z0-9-]+)\.aoss\.amazonaws\.com$/.exec(resource.host);
  if (resource.service === 'aoss' && aoss !== null) return `arn:aws:aoss:${aoss[2]}:${config.account}:collection/${aoss[1]}`;
  return undefined;
}

/**
 * Reads and checks a deployment configuration file.
 *
 * @example loadDeployConfig('deploy/examples/msk-iam.json').capacity // { min: 1, max: 12 }
 */
export function loadDeployConfig(path: string): DeployConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DeployConfigError(`${path}: ${messageOf(err)}`);
  }
  try {
    return checkDeployConfig(json);
  } catch (err) {
    throw new DeployConfigError(`${path}: ${messageOf(err)}`);
  }
}

/** The shutdown deadline in seconds, for messages and tests. */
export function shutdownSeconds(config: DeployConfig): number {
  return parseDuration(config.container.shutdownTimeout) / 1000;
}
