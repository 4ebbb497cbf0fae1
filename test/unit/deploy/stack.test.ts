/**
 * The synthesized CloudFormation of the example deployments (synthesized once): the task
 * role names each configured resource and nothing else, no action has a wildcard and no resource
 * has one beyond the documented exceptions; stopTimeout covers the shutdown deadline; the
 * circuit breaker rolls back; scaling stays within the partition count; the alarms exist.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, exampleConfigs } from '../../../deploy/app.js';
import { loadDeployConfig, type DeployConfig } from '../../../deploy/config.js';
import { WILDCARD_EXCEPTIONS } from '../../../deploy/iam.js';
import { SLUICE_METRICS, SLUICE_NAMESPACE } from '../../../deploy/metrics.js';
import { EMF_METRICS, EMF_NAMESPACE } from '../../../src/runtime/ops/emf.js';

interface Synthesized {
  readonly config: DeployConfig;
  readonly template: Template;
  readonly json: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

let outdir: string;
const examples = new Map<string, Synthesized>();

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'sluice-cdk-'));
  const configs = exampleConfigs().map(loadDeployConfig);
  const { stacks } = buildApp(configs, { outdir });
  stacks.forEach((stack, i) => {
    const template = Template.fromStack(stack);
    examples.set(configs[i]?.name as string, { config: configs[i] as DeployConfig, template, json: template.toJSON()['Resources'] as Synthesized['json'] });
  });
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function example(name: string): Synthesized {
  const found = examples.get(name);
  if (found === undefined) throw new Error(`no example deployment '${name}' (have ${[...examples.keys()].join(', ')})`);
  return found;
}

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every statement of every IAM policy in the template, with the policy's logical id. */
function statements(s: Synthesized): { policy: string; statement: Statement }[] {
  return Object.entries(s.json)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .flatMap(([id, r]) => ((r.Properties?.['PolicyDocument'] as { Statement: Statement[] }).Statement ?? []).map((statement) => ({ policy: id, statement })));
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The metric the lag alarm reads: Kinesis's own (fan-out or polling), else Sluice's. */
function lagMetricOf(config: DeployConfig): string {
  const source = config.container.resources.source;
  if (source?.kind !== 'kinesis') return SLUICE_METRICS.maxPartitionLag;
  return source.consumer === undefined ? 'GetRecords.IteratorAgeMilliseconds' : 'SubscribeToShardEvent.MillisBehindLatest';
}

const NAMES = ['clickstream-purchases', 'page-views', 'page-views-kinesis', 'telemetry-anomalies'];

describe.each(NAMES)('the %s deployment', (name) => {
  it('has no wildcard in any action, and wildcard resources only where AWS requires them', () => {
    const s = example(name);
    const all = statements(s);
    expect(all.length).toBeGreaterThan(0);
    for (const { policy, statement } of all) {
      const actions = list(statement.Action);
      for (const action of actions) expect(action, `${policy}: ${JSON.stringify(statement)}`).not.toContain('*');
      for (const resource of list(statement.Resource)) {
        if (typeof resource !== 'string' || !resource.includes('*')) continue; // exact ARNs and references to the stack's own resources
        const exception = WILDCARD_EXCEPTIONS.find((e) => e.resource.test(resource) && actions.every((a) => e.actions.includes(a)));
        expect(exception, `${policy}: ${actions.join(', ')} on ${resource} is not a documented exception`).toBeDefined();
      }
    }
  });

  it('lets the task stop within the shutdown deadline before ECS kills it, logging through awslogs', () => {
    const s = example(name);
    const shutdownSeconds = s.config.container.shutdownTimeoutMs / 1000;
    s.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      Cpu: String(s.config.cpu),
      Memory: String(s.config.memoryMiB),
      ContainerDefinitions: [
        Match.objectLike({
          StopTimeout: s.config.stopTimeoutSeconds,
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          HealthCheck: Match.objectLike({ Command: ['CMD', 'node', '/usr/local/lib/sluice/healthcheck.mjs'] }),
        }),
      ],
    });
    expect(s.config.stopTimeoutSeconds).toBeGreaterThanOrEqual(shutdownSeconds + 5);
    expect(s.config.stopTimeoutSeconds).toBeLessThanOrEqual(120);
  });

  it('rolls a failing deployment back', () => {
    example(name).template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
  });

  it('alarms on lag, dead letters, logged errors and missing tasks', () => {
    const s = example(name);
    // the step-scaling policy's own alarms (ServiceTaskCount…) are not the operator's
    const alarms = Object.entries(s.json)
      .filter(([id, r]) => r.Type === 'AWS::CloudWatch::Alarm' && !id.startsWith('ServiceTaskCount'))
      .map(([, r]) => r.Properties as Record<string, unknown>);
    expect(alarms.map((a) => a['MetricName']).sort()).toEqual(
      [lagMetricOf(s.config), SLUICE_METRICS.deadLettered, 'Errors', 'RunningTaskCount'].sort(),
    );
    const errors = { MetricNamespace: `Sluice/${s.config.name}`, MetricName: 'Errors', MetricValue: '1' };
    s.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ ($.level = "warn") || ($.level = "error") || ($.level = "fatal") }', MetricTransformations: [errors] });
    s.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '"sluice:"', MetricTransformations: [errors] });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: `Sluice/${s.config.name}`, MetricName: 'Errors', Threshold: 0 });
    s.template.hasResourceProperties('AWS::ECS::TaskDefinition', { ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'SLUICE_LOG_FORMAT', Value: 'json' }]) })] });
    for (const alarm of alarms) {
      if (s.config.alarms.topicArn === undefined) expect(alarm['AlarmActions']).toBeUndefined();
      else expect(alarm['AlarmActions']).toEqual([s.config.alarms.topicArn]);
    }
  });

  it('never puts a secret into the task definition, only its Secrets Manager ARN', () => {
    const s = example(name);
    const task = Object.values(s.json).find((r) => r.Type === 'AWS::ECS::TaskDefinition')?.Properties as { ContainerDefinitions: { Environment: { Name: string }[]; Secrets?: { Name: string; ValueFrom: string }[] }[] };
    const container = task.ContainerDefinitions[0];
    const environment = container?.Environment.map((e) => e.Name) ?? [];
    for (const name of ['SLUICE_KAFKA_PASSWORD', 'SLUICE_OPENSEARCH_PASSWORD', 'SLUICE_INFLUXDB_TOKEN']) expect(environment).not.toContain(name);
    const expected = Object.entries(s.config.secrets).map(([variable, secret]) => ({ Name: variable, ValueFrom: secret.field === undefined ? secret.secretArn : `${secret.secretArn}:${secret.field}::` }));
    expect(container?.Secrets ?? []).toEqual(expected);
  });
});

describe('the task role names each configured resource', () => {
  const resourcesOf = (name: string): string[] => [
    ...new Set(statements(example(name)).filter(({ policy }) => policy.startsWith('TaskPolicy')).flatMap(({ statement }) => list(statement.Resource).map(String))),
  ];

  it('MSK over IAM, Firehose, OpenSearch, a Kafka sink, the EFS checkpoint volume and the SageMaker endpoint', () => {
    const cluster = 'arn:aws:kafka:eu-west-1:123456789012:cluster/events/5f3e1a2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-2';
    expect(resourcesOf('clickstream-purchases').sort()).toEqual(
      [
        cluster,
        'arn:aws:kafka:eu-west-1:123456789012:topic/events/5f3e1a2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-2/clicks',
        'arn:aws:kafka:eu-west-1:123456789012:group/events/5f3e1a2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-2/clickstream-purchases',
        'arn:aws:kafka:eu-west-1:123456789012:topic/events/5f3e1a2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-2/purchase-scores',
        'arn:aws:firehose:eu-west-1:123456789012:deliverystream/purchase-scores',
        'arn:aws:firehose:eu-west-1:123456789012:deliverystream/sluice-dead-letters',
        'arn:aws:es:eu-west-1:123456789012:domain/results/*',
        'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60789',
        'arn:aws:sagemaker:eu-west-1:123456789012:endpoint/clickstream-purchase',
      ].sort(),
    );
    example('clickstream-purchases').template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'MskConnect', Action: ['kafka-cluster:Connect', 'kafka-cluster:WriteDataIdempotently'], Resource: cluster }),
          Match.objectLike({ Sid: 'MskReadclicks', Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'] }),
          Match.objectLike({ Sid: 'MskGroupclickstreampurchases', Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'] }),
          Match.objectLike({ Sid: 'CheckpointVolume', Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': 'arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0a1b2c3d4e5f60789' } } }),
        ]),
      },
    });
  });

  it('SCRAM and basic auth need no IAM: Timestream and the planned DynamoDB checkpoint table', () => {
    expect(resourcesOf('page-views').sort()).toEqual(
      ['arn:aws:timestream:eu-west-1:123456789012:database/analytics/table/page_views', '*', 'arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-checkpoints'].sort(),
    );
    // the execution role reads the two secrets by their full ARNs, nothing wider
    const secretResources = statements(example('page-views'))
      .filter(({ statement }) => list(statement.Action).includes('secretsmanager:GetSecretValue'))
      .flatMap(({ statement }) => list(statement.Resource));
    expect(secretResources.sort()).toEqual(
      ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_sluice-Xy12Ab', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sluice/opensearch-Cd34Ef'].sort(),
    );
  });

  it('Kinesis through KCL with enhanced fan-out, its lease table, the EFS checkpoint volume, Timestream and Firehose', () => {
    expect(resourcesOf('telemetry-anomalies').sort()).toEqual(
      [
        'arn:aws:kinesis:us-east-1:123456789012:stream/vehicle-telemetry',
        'arn:aws:kinesis:us-east-1:123456789012:stream/vehicle-telemetry/consumer/sluice-telemetry:*',
        'arn:aws:dynamodb:us-east-1:123456789012:table/telemetry-anomalies',
        'arn:aws:timestream:us-east-1:123456789012:database/fleet/table/anomalies',
        '*',
        'arn:aws:firehose:us-east-1:123456789012:deliverystream/anomalies-to-s3',
        'arn:aws:firehose:us-east-1:123456789012:deliverystream/sluice-dead-letters',
        'arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0f1e2d3c4b5a60789',
        'arn:aws:sagemaker:us-east-1:123456789012:endpoint/telemetry-anomaly',
      ].sort(),
    );
  });

  it('a native Kinesis fleet: the stream and the lease table named by app=, no fan-out', () => {
    expect(resourcesOf('page-views-kinesis').sort()).toEqual(
      [
        'arn:aws:kinesis:eu-west-1:123456789012:stream/clickstream',
        'arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-page-views',
        'arn:aws:timestream:eu-west-1:123456789012:database/analytics/table/page_views',
        '*',
        'arn:aws:firehose:eu-west-1:123456789012:deliverystream/page-views-to-s3',
        'arn:aws:firehose:eu-west-1:123456789012:deliverystream/sluice-dead-letters',
      ].sort(),
    );
  });
});

describe('scaling', () => {
  it('is bounded by the partition count and driven by the group lag Sluice publishes', () => {
    const s = example('page-views');
    s.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 24, ScalableDimension: 'ecs:service:DesiredCount' });
    expect(s.config.capacity.max).toBeLessThanOrEqual(s.config.partitions);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Sluice', MetricName: 'Lag', Statistic: 'Sum', Dimensions: [{ Name: 'Pipeline', Value: 'clickstream' }] });
    s.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'StepScaling' });
  });

  it('alarms on the lag of the fan-out consumer, and keeps KCL mode (a file: checkpoint) on one task', () => {
    const s = example('telemetry-anomalies');
    s.template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'SubscribeToShardEvent.MillisBehindLatest',
      Dimensions: [{ Name: 'ConsumerName', Value: 'sluice-telemetry' }, { Name: 'StreamName', Value: 'vehicle-telemetry' }],
      Threshold: 300_000,
    });
  });

  it('scales a native Kinesis fleet on the stream iterator age, from tasks.min up to one task per shard', () => {
    const s = example('page-views-kinesis');
    s.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 8 });
    expect(s.config.capacity.max).toBe(s.config.partitions);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Dimensions: [{ Name: 'StreamName', Value: 'clickstream' }],
      Threshold: 30_000,
    });
    // a lease table has many writers: deployments overlap old and new tasks
    s.template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2, DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200 }) });
  });

  it('does not scale a single-writer (file checkpoint) deployment, nor let two tasks overlap while deploying', () => {
    const s = example('clickstream-purchases');
    s.template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    s.template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1, DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 0, MaximumPercent: 100 }) });
  });
});

describe('the metrics the stack reads', () => {
  it('are ones Sluice publishes through EMF, in its namespace', () => {
    expect(SLUICE_NAMESPACE).toBe(EMF_NAMESPACE);
    for (const metric of Object.values(SLUICE_METRICS)) expect(EMF_METRICS as readonly string[]).toContain(metric);
  });
});
