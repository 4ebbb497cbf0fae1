import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exampleConfigs } from '../../../deploy/app.js';
import { DeployConfigError, checkDeployConfig, domainArnOf } from '../../../deploy/config.js';
import { WILDCARD_EXCEPTIONS, taskRoleGrants } from '../../../deploy/iam.js';

/** The single-task MSK example, as parsed JSON, to vary one setting at a time. */
const BASE = JSON.parse(readFileSync(exampleConfigs().find((p) => p.endsWith('msk-single-task.json')) as string, 'utf8')) as Record<string, unknown>;
const ENV = BASE['environment'] as Record<string, string>;

/** The Kinesis fleet (native coordinator, app=) and the KCL example, likewise. */
const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(exampleConfigs().find((p) => p.endsWith(name)) as string, 'utf8')) as Record<string, unknown>;
const KINESIS = example('kinesis-fleet.json');
const KINESIS_KCL = example('kinesis-kcl.json');
const KINESIS_ENV = KINESIS['environment'] as Record<string, string>;
const EFS = { fileSystemId: 'fs-0a1b2c3d4e5f60789', accessPointId: 'fsap-0a1b2c3d4e5f60789' };

function refusal(changes: Record<string, unknown>, base: Record<string, unknown> = BASE): string {
  try {
    checkDeployConfig({ ...base, ...changes });
  } catch (err) {
    expect(err).toBeInstanceOf(DeployConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(changes)} to be refused`);
}

describe('a deployment configuration', () => {
  it('derives the stop timeout, the capacity and the endpoints from the container configuration', () => {
    const config = checkDeployConfig(BASE);
    expect(config.stopTimeoutSeconds).toBe(60 + 10);
    expect(config.capacity).toEqual({ min: 1, max: 1 });
    expect(config.endpoints).toEqual(['clickstream-purchase']);
    expect(config.warnings).toEqual([]);
  });

  it.each([
    [{ environment: { ...ENV, SLUICE_SHUTDOWN_TIMEOUT: '115s' } }, "environment.SLUICE_SHUTDOWN_TIMEOUT 115s plus stopMarginSeconds 10 exceeds Fargate's largest stopTimeout (120 s)"],
    [{ environment: { ...ENV, SLUICE_SINKS: 'firehose://bad name' } }, /^environment: SLUICE_SINKS 'firehose:\/\/bad name': 'bad name' is not a Firehose delivery stream name/],
    [{ environment: { ...ENV, SLUICE_KAFKA_PASSWORD: 'x' } }, 'environment.SLUICE_KAFKA_PASSWORD is a secret: put it under secrets, as a Secrets Manager ARN'],
    [{ environment: { ...ENV, SLUICE_PORT: '1' } }, 'environment.SLUICE_PORT is not a Sluice configuration variable (see README, Configuration)'],
    [{ secrets: { SLUICE_KAFKA_PASSWORD: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka' } } }, /^secrets\.SLUICE_KAFKA_PASSWORD\.secretArn: must be an ARN such as/],
    [{ msk: undefined }, 'msk.clusterArn: a kafka:// URL uses sasl=iam, so the task role needs the MSK cluster ARN'],
    [{ efs: undefined }, /^efs: SLUICE_CHECKPOINT file:\/var\/lib\/sluice\/checkpoints is a directory; on Fargate it must be an EFS volume/],
    [{ efs: { fileSystemId: 'fs-0a1b2c3d4e5f60789', accessPointId: 'fsap-0a1b2c3d4e5f60789', mountPath: '/mnt/other' } }, 'environment.SLUICE_CHECKPOINT: /var/lib/sluice/checkpoints is not under the EFS mount /mnt/other'],
    [{ tasks: { min: 1, max: 2 } }, /^tasks\.max: 2, but a file: checkpoint directory serves one machine/],
    [{ tasks: { min: 1, max: 13 } }, 'tasks.max: 13 tasks for 12 partitions; a task beyond one per partition has nothing to read'],
    [{ cpu: 1000 }, /^cpu: 1000 is not a Fargate task size/],
    [{ environment: Object.fromEntries(Object.entries(ENV).filter(([name]) => name !== 'SLUICE_SOURCE')) }, 'environment.SLUICE_SOURCE: set it; the stack derives the task role from the configured URLs'],
    [{ environment: { ...ENV, SLUICE_LOG_FORMAT: 'text' } }, 'environment.SLUICE_LOG_FORMAT: on ECS Sluice logs JSON (the stack counts problem lines by their level); leave it unset'],
    [{ cpu: 256, memoryMiB: 4096 }, 'memoryMiB: 4096 does not go with cpu 256 on Fargate (512 to 2048)'],
    [{ region: 'Europe' }, 'region: must be an AWS region such as eu-west-1'],
    [{ environment: { ...ENV, SLUICE_SINKS: 'opensearch://opensearch.internal:443/x?auth=sigv4' } }, /^opensearch\.domainArn: an opensearch:\/\/ sink signs with SigV4/],
  ])('refuses %j, naming the setting', (changes, message) => {
    if (typeof message === 'string') expect(refusal(changes)).toBe(message);
    else expect(refusal(changes)).toMatch(message);
  });

  it('warns, rather than refuses, about connectors the stack prepares for before Sluice has them', () => {
    const config = checkDeployConfig({ ...BASE, environment: { ...ENV, SLUICE_CHECKPOINT: 'dynamodb://sluice-checkpoints' }, efs: undefined, tasks: { min: 1, max: 12 } });
    expect(config.capacity).toEqual({ min: 1, max: 12 });
    expect(config.warnings).toEqual(['dynamodb://sluice-checkpoints: this version of Sluice cannot run it yet (the task would stop at start-up); the stack is ready for it']);
  });

  it('no longer warns about the native Kinesis source: the task runs it', () => {
    expect(checkDeployConfig(KINESIS).warnings).toEqual([]);
  });

  it('finds the OpenSearch domain in its standard endpoint name', () => {
    const config = { account: '123456789012', region: 'eu-west-1', opensearch: undefined };
    expect(domainArnOf({ host: 'search-my-results-7hd3kq2x.eu-west-1.es.amazonaws.com', service: 'es' }, config)).toBe('arn:aws:es:eu-west-1:123456789012:domain/my-results');
    expect(domainArnOf({ host: 'vpc-logs-abc.us-east-1.es.amazonaws.com', service: 'es' }, config)).toBe('arn:aws:es:us-east-1:123456789012:domain/logs');
    expect(domainArnOf({ host: 'opensearch.internal', service: 'es' }, config)).toBeUndefined();
  });
});

describe('a deployment reading Kinesis', () => {
  it('runs a fleet of up to one task per shard when app= names the lease table', () => {
    const config = checkDeployConfig(KINESIS);
    expect(config.container.resources.source).toEqual({ kind: 'kinesis', stream: 'clickstream', region: 'eu-west-1', application: 'sluice-page-views', coordinator: 'native', consumer: undefined });
    expect(config.capacity).toEqual({ min: 2, max: 8 });
    expect(checkDeployConfig({ ...KINESIS, tasks: { min: 1 } }).capacity).toEqual({ min: 1, max: 8 });
    expect(refusal({ tasks: { min: 1, max: 9 } }, KINESIS)).toBe(
      "tasks.max: 9 tasks for 8 shards (partitions: the stream's open shard count); a task beyond one per shard has nothing to read",
    );
  });

  it.each([
    ['file:/var/lib/sluice/checkpoints', { efs: EFS }],
    ['s3://sluice-state-123456789012/checkpoints', {}],
  ])('refuses SLUICE_CHECKPOINT %s beside app=: the checkpoints live in the lease table', (checkpoint, extra) => {
    expect(refusal({ ...extra, environment: { ...KINESIS_ENV, SLUICE_CHECKPOINT: checkpoint } }, KINESIS)).toBe(
      "environment.SLUICE_CHECKPOINT: the source keeps its checkpoints in the DynamoDB lease table 'sluice-page-views' (app= of kinesis://clickstream?app=sluice-page-views) and refuses another store; remove SLUICE_CHECKPOINT",
    );
  });

  it('keeps one task without app=, and says how to make a fleet', () => {
    const single = { ...KINESIS, environment: { ...KINESIS_ENV, SLUICE_SOURCE: 'kinesis://clickstream', SLUICE_CHECKPOINT: 'file:/var/lib/sluice/checkpoints' }, efs: EFS };
    expect(checkDeployConfig({ ...single, tasks: { min: 1 } }).capacity).toEqual({ min: 1, max: 1 });
    expect(refusal({}, single)).toBe(
      'tasks.max: 8, but SLUICE_SOURCE kinesis://clickstream has no app=, so one task reads every shard; for a fleet add app=NAME (kinesis://clickstream?app=NAME: the DynamoDB lease table the tasks share, which also keeps the checkpoints) and remove SLUICE_CHECKPOINT',
    );
    const noCheckpoint = { ...KINESIS, environment: { ...KINESIS_ENV, SLUICE_SOURCE: 'kinesis://clickstream' } };
    expect(refusal({ tasks: { min: 2 } }, noCheckpoint)).toMatch(/^tasks\.min: 2, but SLUICE_SOURCE kinesis:\/\/clickstream has no app=, so one task reads every shard; for a fleet add app=NAME \(.*\)$/);
    expect(checkDeployConfig({ ...noCheckpoint, tasks: { min: 1 } }).capacity).toEqual({ min: 1, max: 1 });
  });

  it('warns about the image only for coordinator=kcl', () => {
    const url = 'kinesis://vehicle-telemetry?app=telemetry-anomalies&coordinator=kcl&consumer=sluice-telemetry';
    expect(checkDeployConfig(KINESIS_KCL).warnings).toEqual([]);
    expect(checkDeployConfig({ ...KINESIS_KCL, imageTarget: 'runtime' }).warnings).toEqual([
      `SLUICE_SOURCE ${url}: coordinator=kcl runs the KCL MultiLangDaemon, which only the image built with --target kcl holds; set imageTarget: kcl`,
    ]);
    expect(checkDeployConfig({ ...KINESIS, imageTarget: 'runtime' }).warnings).toEqual([]);
  });

  it('runs coordinator=kcl on one task with a file: checkpoint: shard state lives there, KCL checkpoints follow it', () => {
    expect(checkDeployConfig({ ...KINESIS_KCL, tasks: { min: 1 } }).capacity).toEqual({ min: 1, max: 1 });
    const env = KINESIS_KCL['environment'] as Record<string, string>;
    const without = Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'SLUICE_CHECKPOINT'));
    expect(refusal({ environment: without }, KINESIS_KCL)).toBe(
      "environment.SLUICE_CHECKPOINT: coordinator=kcl keeps each shard's state in a file: checkpoint directory (the lease table's KCL checkpoints follow it); set it to file:DIR on the EFS volume",
    );
    expect(refusal({ tasks: { min: 1, max: 4 } }, KINESIS_KCL)).toBe(
      'tasks.max: 4, but a file: checkpoint directory serves one machine; keep tasks.max 1 (for a fleet drop coordinator=kcl and SLUICE_CHECKPOINT: the native source keeps its checkpoints in the lease table)',
    );
  });

  it('refuses the URL the source would refuse', () => {
    expect(refusal({ environment: { ...KINESIS_ENV, SLUICE_SOURCE: 'kinesis://clickstream?application=sluice-page-views' } }, KINESIS)).toMatch(
      /^environment: SLUICE_SOURCE 'kinesis:\/\/clickstream\?application=sluice-page-views': unknown parameter 'application'/,
    );
  });
});

describe('the task role grants', () => {
  it('allow exactly the calls of the native Kinesis source, with the lease table only for app=', () => {
    expect(taskRoleGrants(checkDeployConfig(KINESIS)).filter((g) => g.sid.startsWith('Kinesis'))).toEqual([
      {
        sid: 'KinesisReadclickstream',
        actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
        resources: ['arn:aws:kinesis:eu-west-1:123456789012:stream/clickstream'],
      },
      {
        sid: 'KinesisLeaseTable',
        actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: ['arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-page-views'],
      },
    ]);
    const single = checkDeployConfig({ ...KINESIS, environment: { ...KINESIS_ENV, SLUICE_SOURCE: 'kinesis://clickstream?consumer=sluice' }, tasks: { min: 1 } });
    expect(taskRoleGrants(single).filter((g) => g.sid.startsWith('Kinesis') || g.actions.some((a) => a.startsWith('dynamodb:')))).toEqual([
      expect.objectContaining({ sid: 'KinesisReadclickstream' }),
      { sid: 'KinesisRegisterConsumer', actions: ['kinesis:RegisterStreamConsumer'], resources: ['arn:aws:kinesis:eu-west-1:123456789012:stream/clickstream'] },
      { sid: 'KinesisFanOut', actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'], resources: ['arn:aws:kinesis:eu-west-1:123456789012:stream/clickstream/consumer/sluice:*'] },
    ]);
  });

  it('add what the KCL daemon calls besides for coordinator=kcl', () => {
    const grants = taskRoleGrants(checkDeployConfig(KINESIS_KCL));
    expect(grants.find((g) => g.sid === 'KinesisReadvehicletelemetry')?.actions).toContain('kinesis:DescribeStream');
    expect(grants.find((g) => g.sid === 'KinesisLeaseTable')).toEqual({
      sid: 'KinesisLeaseTable',
      actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: ['arn:aws:dynamodb:us-east-1:123456789012:table/telemetry-anomalies'],
    });
  });

  it('grow and shrink with the configuration: one sink, one statement', () => {
    const config = checkDeployConfig({ ...BASE, environment: { SLUICE_PIPELINE: 'clickstream', SLUICE_SOURCE: 'generator:clickstream', SLUICE_SINKS: 'firehose://views', SLUICE_CHECKPOINT: 'file:/var/lib/sluice/ck' } });
    expect(taskRoleGrants(config)).toEqual([
      { sid: 'Firehoseviews', actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'], resources: ['arn:aws:firehose:eu-west-1:123456789012:deliverystream/views'] },
      expect.objectContaining({ sid: 'CheckpointVolume', resources: ['arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60789'] }),
    ]);
  });

  it('let a kinesis:// sink describe the stream, list its shards and put records', () => {
    const config = checkDeployConfig({ ...BASE, environment: { SLUICE_PIPELINE: 'clickstream', SLUICE_SOURCE: 'generator:clickstream', SLUICE_SINKS: 'kinesis://views?aggregate=true', SLUICE_CHECKPOINT: 'file:/var/lib/sluice/ck' } });
    expect(taskRoleGrants(config)[0]).toEqual({
      sid: 'KinesisWriteviews',
      actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecords'],
      resources: ['arn:aws:kinesis:eu-west-1:123456789012:stream/views'],
    });
  });

  it('merge two URLs on one resource into one statement', () => {
    const config = checkDeployConfig({
      ...BASE,
      environment: { ...ENV, SLUICE_SINKS: 'timestream://fleet/aaa,timestream://fleet/bbb', SLUICE_DEAD_LETTER: 'dlq:file:/var/lib/sluice/dead.jsonl' },
    });
    const grants = taskRoleGrants(config);
    expect(grants.filter((g) => g.sid === 'TimestreamEndpoints')).toEqual([{ sid: 'TimestreamEndpoints', actions: ['timestream:DescribeEndpoints'], resources: ['*'] }]);
    expect(grants.filter((g) => g.sid.startsWith('Timestreamfleet')).map((g) => g.resources)).toEqual([
      ['arn:aws:timestream:eu-west-1:123456789012:database/fleet/table/aaa'],
      ['arn:aws:timestream:eu-west-1:123456789012:database/fleet/table/bbb'],
    ]);
  });

  it('document no exception that would let a broad wildcard through', () => {
    const broad = ['*', 'arn:aws:kinesis:eu-west-1:123456789012:stream/*', 'arn:aws:es:eu-west-1:123456789012:domain/*', 'arn:aws:s3:::*'];
    for (const resource of broad) {
      for (const exception of WILDCARD_EXCEPTIONS) {
        if (exception.resource.test(resource)) expect(exception.actions.every((a) => ['timestream:DescribeEndpoints', 'ecr:GetAuthorizationToken'].includes(a)), `${resource} passes ${exception.actions.join(', ')}`).toBe(true);
      }
    }
  });
});
