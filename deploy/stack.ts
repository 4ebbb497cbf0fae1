/**
 * Sluice on ECS Fargate: one stack per pipeline, made from a deployment configuration
 * (./config.ts). A Fargate service with a deployment circuit breaker that rolls back; a task that
 * gets SIGTERM and stopTimeout (the shutdown deadline plus a margin) to checkpoint; logs through
 * awslogs; a task role with exactly the permissions the configured sources and sinks need
 * (./iam.ts); task count scaled between 1 and the partition count on consumer lag (Kafka) or
 * iterator age (Kinesis); alarms on lag, dead letters, logged errors and missing tasks.
 *
 * @module
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { KinesisResource } from '../src/config/index.js';
import type { DeployConfig } from './config.js';
import { taskRoleGrants } from './iam.js';
import { ERRORS_METRIC, KINESIS_EFO_BEHIND, KINESIS_ITERATOR_AGE, PIPELINE_DIMENSION, SLUICE_METRICS, SLUICE_NAMESPACE } from './metrics.js';

/** Where the image keeps the health check script (Dockerfile, base stage). */
export const HEALTHCHECK_COMMAND = ['CMD', 'node', '/usr/local/lib/sluice/healthcheck.mjs'];

export interface SluiceStackProps extends StackProps {
  readonly config: DeployConfig;
}

/** A pipeline's ECS Fargate service and everything around it. */
export class SluiceStack extends Stack {
  readonly service: ecs.FargateService;

  constructor(scope: Construct, id: string, props: SluiceStackProps) {
    const { config } = props;
    super(scope, id, { ...props, env: { account: config.account, region: config.region }, description: `Sluice pipeline ${config.container.pipeline} (${config.name}) on ECS Fargate` });
    for (const warning of config.warnings) Annotations.of(this).addWarningV2('sluice:deploy', warning);
    const pipeline = config.container.pipeline;

    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.network.vpcId, availabilityZones: config.network.availabilityZones });
    // tasks are only placed in the subnets; nothing reads their route tables
    Annotations.of(this).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'route tables of the imported subnets are never read');
    const subnets = config.network.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id));
    const securityGroups = config.network.securityGroupIds.map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id, { mutable: false }));
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.RETAIN });

    const taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Sluice ${config.name}: what its sources and sinks need, nothing more`,
    });
    const grants = taskRoleGrants(config);
    if (grants.length > 0) {
      taskRole.attachInlinePolicy(
        new iam.Policy(this, 'TaskPolicy', {
          statements: grants.map(
            (grant) =>
              new iam.PolicyStatement({
                sid: grant.sid,
                actions: [...grant.actions],
                resources: [...grant.resources],
                ...(grant.conditions === undefined ? {} : { conditions: grant.conditions as Record<string, unknown> }),
              }),
          ),
        }),
      );
    }

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: config.cpu,
      memoryLimitMiB: config.memoryMiB,
      taskRole,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: config.architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
    });
    const image =
      'repositoryArn' in config.image
        ? ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryArn(this, 'Repository', config.image.repositoryArn), config.image.tag)
        : ecs.ContainerImage.fromRegistry(config.image.name);
    const secrets = Object.fromEntries(
      Object.entries(config.secrets).map(([name, secret]) => [
        name,
        ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(this, `Secret${name}`, secret.secretArn), secret.field),
      ]),
    );
    const container = taskDefinition.addContainer('sluice', {
      image,
      essential: true,
      environment: {
        ...config.environment,
        // JSON lines for CloudWatch Logs: the errors metric filters read their level
        SLUICE_LOG_FORMAT: 'json',
        SLUICE_OPS_PORT: String(config.container.opsPort),
        AWS_REGION: config.region,
      },
      secrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: config.name }),
      // ECS sends SIGTERM, then SIGKILL after this: Sluice's deadline plus a margin to exit
      stopTimeout: Duration.seconds(config.stopTimeoutSeconds),
      healthCheck: { command: HEALTHCHECK_COMMAND, interval: Duration.seconds(30), timeout: Duration.seconds(5), retries: 3, startPeriod: Duration.seconds(60) },
      portMappings: [{ containerPort: config.container.opsPort, name: 'ops' }],
    });
    if (config.efs !== undefined) {
      taskDefinition.addVolume({
        name: 'state',
        efsVolumeConfiguration: { fileSystemId: config.efs.fileSystemId, transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: config.efs.accessPointId, iam: 'ENABLED' } },
      });
      container.addMountPoints({ sourceVolume: 'state', containerPath: config.efs.mountPath, readOnly: false });
    }

    // A file checkpoint store has one writer: never run two tasks at once, even while deploying.
    const singleWriter = config.container.resources.checkpoint?.kind === 'file';
    this.service = new ecs.FargateService(this, 'Service', {
      // aws-cdk-lib's optional properties are not declared for exactOptionalPropertyTypes
      cluster: cluster as ecs.ICluster,
      taskDefinition,
      desiredCount: config.capacity.min,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: singleWriter ? 0 : 100,
      maxHealthyPercent: singleWriter ? 100 : 200,
      vpcSubnets: { subnets },
      securityGroups,
      assignPublicIp: config.network.assignPublicIp,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    const lag = lagMetrics(config, pipeline);
    if (config.capacity.max > config.capacity.min) {
      const scaling = this.service.autoScaleTaskCount({ minCapacity: config.capacity.min, maxCapacity: config.capacity.max });
      // Each change rebalances partitions (a consumer-group rebalance, KCL lease moves), so
      // steps are coarse and the cooldown long.
      scaling.scaleOnMetric('ScaleOnLag', {
        metric: lag.scaling,
        scalingSteps: [
          { upper: lag.target / 10, change: -1 },
          { lower: lag.target, change: +1 },
          { lower: lag.target * 5, change: +2 },
        ],
        adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown: Duration.seconds(config.scaling.cooldownSeconds),
        evaluationPeriods: 3,
      });
    }

    const alarms = [
      new cloudwatch.Alarm(this, 'LagAlarm', {
        alarmDescription: `Sluice ${config.name}: ${lag.alarmText}`,
        metric: lag.alarm,
        threshold: lag.alarmThreshold,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Sluice ${config.name}: more than ${config.alarms.deadLettersPerFiveMinutes} records dead-lettered in 5 minutes (see README, Running on ECS: replay a dead-letter queue)`,
        metric: new cloudwatch.Metric({ namespace: SLUICE_NAMESPACE, metricName: SLUICE_METRICS.deadLettered, dimensionsMap: { [PIPELINE_DIMENSION]: pipeline }, statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: config.alarms.deadLettersPerFiveMinutes,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'ErrorAlarm', {
        alarmDescription: `Sluice ${config.name}: problems in the task logs (a warning or error line, or the one line of an error that ended the run)`,
        metric: errorMetric(this, logGroup, config.name),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'TasksAlarm', {
        alarmDescription: `Sluice ${config.name}: fewer than ${config.capacity.min} tasks running (crashing or failing health checks)`,
        metric: new cloudwatch.Metric({
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensionsMap: { ClusterName: cluster.clusterName, ServiceName: this.service.serviceName },
          statistic: 'Minimum',
          period: Duration.minutes(1),
        }),
        threshold: config.capacity.min,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
    if (config.alarms.topicArn !== undefined) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarms.topicArn);
      for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
    }

    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
  }
}

/**
 * Problems in the task's logs, counted into `Sluice/<deployment>` `Errors` by two metric filters:
 * JSON lines at warn or above (a stalled partition, a missed shutdown deadline), and the plain
 * `sluice: …` line of an error that ends a run (JSON logs never start their message with it).
 */
function errorMetric(scope: Construct, logGroup: logs.LogGroup, name: string): cloudwatch.IMetric {
  const namespace = `${SLUICE_NAMESPACE}/${name}`;
  const levels = ['warn', 'error', 'fatal'].map((level) => logs.FilterPattern.stringValue('$.level', '=', level));
  new logs.MetricFilter(scope, 'ProblemLines', { logGroup, filterPattern: logs.FilterPattern.any(...levels), metricNamespace: namespace, metricName: ERRORS_METRIC, metricValue: '1' });
  new logs.MetricFilter(scope, 'FatalLines', { logGroup, filterPattern: logs.FilterPattern.literal('"sluice:"'), metricNamespace: namespace, metricName: ERRORS_METRIC, metricValue: '1' });
  return new cloudwatch.Metric({ namespace, metricName: ERRORS_METRIC, statistic: 'Sum', period: Duration.minutes(5) });
}

interface LagMetrics {
  readonly scaling: cloudwatch.IMetric;
  /** The scaling metric's value at which a task is added. */
  readonly target: number;
  readonly alarm: cloudwatch.IMetric;
  readonly alarmThreshold: number;
  readonly alarmText: string;
}

/**
 * Kinesis: the stream's iterator age; Kafka (and anything else): Sluice's own lag metrics. A
 * polling source (native or KCL) reads `GetRecords.IteratorAgeMilliseconds`, which the stream
 * reports over every application polling it, so a slower one reading the same stream scales this
 * service too; a fan-out consumer (`consumer=`) has a metric of its own.
 */
function lagMetrics(config: DeployConfig, pipeline: string): LagMetrics {
  const source = config.container.resources.source;
  if (source?.kind === 'kinesis') {
    const kinesis: KinesisResource = source;
    const metric = new cloudwatch.Metric({
      namespace: 'AWS/Kinesis',
      metricName: kinesis.consumer === undefined ? KINESIS_ITERATOR_AGE : KINESIS_EFO_BEHIND,
      dimensionsMap: kinesis.consumer === undefined ? { StreamName: kinesis.stream } : { StreamName: kinesis.stream, ConsumerName: kinesis.consumer },
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });
    return {
      scaling: metric,
      target: config.scaling.iteratorAgeSeconds * 1000,
      alarm: metric,
      alarmThreshold: config.alarms.iteratorAgeSeconds * 1000,
      alarmText: `reading more than ${config.alarms.iteratorAgeSeconds} s behind stream ${kinesis.stream} for 5 minutes`,
    };
  }
  const dimensionsMap = { [PIPELINE_DIMENSION]: pipeline };
  return {
    // each worker publishes its partitions' lag once a minute: the Sum over workers is the group's
    scaling: new cloudwatch.Metric({ namespace: SLUICE_NAMESPACE, metricName: SLUICE_METRICS.lag, dimensionsMap, statistic: 'Sum', period: Duration.minutes(1) }),
    target: config.scaling.lagRecords,
    alarm: new cloudwatch.Metric({ namespace: SLUICE_NAMESPACE, metricName: SLUICE_METRICS.maxPartitionLag, dimensionsMap, statistic: 'Maximum', period: Duration.minutes(1) }),
    alarmThreshold: config.alarms.partitionLagRecords,
    alarmText: `a partition more than ${config.alarms.partitionLagRecords} records behind for 5 minutes`,
  };
}
