/**
 * The task role's permissions, generated from the configured sources and sinks: for each
 * resource, the actions its connector calls (read from the connectors' service files), on that
 * resource's ARN. No action has a wildcard; a resource has one only where AWS leaves no choice,
 * and each such case is listed in {@link WILDCARD_EXCEPTIONS} with its reason.
 *
 * @module
 */
import type { CheckpointResource, KafkaResource, KinesisResource, Resource } from '../src/config/index.js';
import { domainArnOf, type DeployConfig } from './config.js';

/** One statement of the task role's policy. */
export interface Grant {
  /** Statement id: letters and digits only (IAM's rule). */
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The only wildcards the stack's policies hold, and why AWS requires each. A test fails on any
 * other `*` in a policy resource, and on any `*` in an action.
 */
export const WILDCARD_EXCEPTIONS: readonly { readonly actions: readonly string[]; readonly resource: RegExp; readonly why: string }[] = [
  {
    actions: ['timestream:DescribeEndpoints'],
    resource: /^\*$/,
    why: 'DescribeEndpoints has no resource-level permissions; the Timestream SDK calls it to find the cell endpoint before writing',
  },
  {
    actions: ['ecr:GetAuthorizationToken'],
    resource: /^\*$/,
    why: 'GetAuthorizationToken has no resource-level permissions; the execution role needs it to pull from ECR (the pull itself is granted on the one repository)',
  },
  {
    actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
    resource: /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[^/*]+\/consumer\/[^/*:]+:\*$/,
    why: "a stream consumer's ARN ends in its registration time, unknown until the source (or KCL) registers it; the wildcard covers only that suffix",
  },
  {
    actions: ['es:ESHttpHead', 'es:ESHttpPost'],
    resource: /^arn:aws[a-z-]*:es:[a-z0-9-]+:\d{12}:domain\/[^/*]+\/\*$/,
    why: 'OpenSearch HTTP permissions are scoped by URL path inside the one domain: _bulk names its indexes in the body (daily ones from a date pattern) and the connection check is HEAD /, so the path is open within that domain only',
  },
  {
    actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
    resource: /^arn:aws[a-z-]*:s3:::[^/*]+\/[^*]*\*$/,
    why: 'checkpoint objects are keyed by checkpoint id under the configured prefix; the wildcard covers only keys under that prefix',
  },
];

/** The partition of an ARN, from the region (aws-cn, aws-us-gov), for ARNs built here. */
function partitionOf(region: string): string {
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** Letters and digits of `text`, for statement ids. */
function sidPart(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '').slice(0, 40) || 'X';
}

/**
 * MSK IAM resources for a topic and a group, from the cluster ARN
 * `arn:aws:kafka:R:A:cluster/NAME/UUID` (topic: `…:topic/NAME/UUID/TOPIC`).
 */
function mskArns(clusterArn: string, kind: 'topic' | 'group', name: string): string {
  return clusterArn.replace(':cluster/', `:${kind}/`) + `/${name}`;
}

function kafkaGrants(resource: KafkaResource, role: 'source' | 'sink', config: DeployConfig): Grant[] {
  if (resource.auth !== 'iam' || config.msk === undefined) return []; // SCRAM/plain: a secret, not IAM
  const cluster = config.msk.clusterArn;
  const grants: Grant[] = [
    {
      sid: `MskConnect`,
      // idempotent producers (the Kafka sink) need WriteDataIdempotently on the cluster
      actions: role === 'sink' ? ['kafka-cluster:Connect', 'kafka-cluster:WriteDataIdempotently'] : ['kafka-cluster:Connect'],
      resources: [cluster],
    },
  ];
  if (role === 'source') {
    grants.push({ sid: `MskRead${sidPart(resource.topic)}`, actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], resources: [mskArns(cluster, 'topic', resource.topic)] });
    if (resource.group !== undefined) {
      grants.push({ sid: `MskGroup${sidPart(resource.group)}`, actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'], resources: [mskArns(cluster, 'group', resource.group)] });
    }
  } else {
    grants.push({ sid: `MskWrite${sidPart(resource.topic)}`, actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], resources: [mskArns(cluster, 'topic', resource.topic)] });
  }
  return grants;
}

/**
 * The Kinesis source's calls. Native (src/ingest/kinesis/service.ts, fanout/service.ts):
 * DescribeStreamSummary, ListShards, GetShardIterator, GetRecords; with `consumer=`
 * RegisterStreamConsumer, DescribeStreamConsumer, SubscribeToShard. With `app=` the lease table of
 * that name (src/checkpoint/stores/dynamodb/lease-table.ts): CreateTable, DescribeTable, Scan,
 * GetItem, PutItem, UpdateItem; without `app=` leases stay beside the file: checkpoints and the
 * role needs no DynamoDB. `coordinator=kcl` (the KCL 2.x MultiLangDaemon) also calls
 * DescribeStream and deletes the leases of finished shards (DeleteItem), per AWS's "IAM
 * permissions required for KCL consumer applications".
 */
function kinesisGrants(resource: KinesisResource, config: DeployConfig): Grant[] {
  const region = resource.region ?? config.region;
  const p = partitionOf(region);
  const stream = `arn:${p}:kinesis:${region}:${config.account}:stream/${resource.stream}`;
  const kcl = resource.coordinator === 'kcl';
  const grants: Grant[] = [
    {
      sid: `KinesisRead${sidPart(resource.stream)}`,
      actions: [...(kcl ? ['kinesis:DescribeStream'] : []), 'kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
      resources: [stream],
    },
  ];
  if (resource.application !== undefined) {
    grants.push({
      sid: 'KinesisLeaseTable',
      actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', ...(kcl ? ['dynamodb:DeleteItem'] : [])],
      resources: [`arn:${p}:dynamodb:${region}:${config.account}:table/${resource.application}`],
    });
  }
  if (resource.consumer !== undefined) {
    grants.push({ sid: 'KinesisRegisterConsumer', actions: ['kinesis:RegisterStreamConsumer'], resources: [stream] });
    grants.push({ sid: 'KinesisFanOut', actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'], resources: [`${stream}/consumer/${resource.consumer}:*`] });
  }
  return grants;
}

function sinkGrants(resource: Resource, config: DeployConfig): Grant[] {
  switch (resource.kind) {
    case 'kafka':
      return kafkaGrants(resource, 'sink', config);
    case 'firehose': {
      const region = resource.region ?? config.region;
      return [
        {
          sid: `Firehose${sidPart(resource.deliveryStream)}`,
          // src/sinks/firehose/service.ts: DescribeDeliveryStream at open, then PutRecordBatch
          actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
          resources: [`arn:${partitionOf(region)}:firehose:${region}:${config.account}:deliverystream/${resource.deliveryStream}`],
        },
      ];
    }
    case 'kinesis-sink': {
      const region = resource.region ?? config.region;
      return [
        {
          sid: `KinesisWrite${sidPart(resource.stream)}`,
          // src/sinks/kinesis/service.ts: DescribeStreamSummary and ListShards at open (the shard map KPL aggregation packs by), then PutRecords
          actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecords'],
          resources: [`arn:${partitionOf(region)}:kinesis:${region}:${config.account}:stream/${resource.stream}`],
        },
      ];
    }
    case 'timestream': {
      const region = resource.region ?? config.region;
      return [
        {
          sid: `Timestream${sidPart(resource.database)}${sidPart(resource.table)}`,
          // src/sinks/timestream/service.ts: DescribeTable at open, then WriteRecords
          actions: ['timestream:DescribeTable', 'timestream:WriteRecords'],
          resources: [`arn:${partitionOf(region)}:timestream:${region}:${config.account}:database/${resource.database}/table/${resource.table}`],
        },
        { sid: 'TimestreamEndpoints', actions: ['timestream:DescribeEndpoints'], resources: ['*'] },
      ];
    }
    case 'opensearch': {
      if (resource.auth !== 'sigv4') return []; // basic auth: a secret, not IAM
      const arn = domainArnOf(resource, config) as string;
      if (resource.service === 'aoss') return [{ sid: 'OpenSearchServerless', actions: ['aoss:APIAccessAll'], resources: [arn] }];
      // src/sinks/opensearch/service.ts: HEAD / at open, then POST /_bulk
      return [{ sid: 'OpenSearchBulk', actions: ['es:ESHttpHead', 'es:ESHttpPost'], resources: [`${arn}/*`] }];
    }
    default:
      return []; // files, stdout, InfluxDB (a token secret): no AWS permissions
  }
}

function checkpointGrants(resource: CheckpointResource, config: DeployConfig): Grant[] {
  switch (resource.kind) {
    case 'file': {
      if (config.efs === undefined) return [];
      const p = partitionOf(config.region);
      const fileSystem = `arn:${p}:elasticfilesystem:${config.region}:${config.account}:file-system/${config.efs.fileSystemId}`;
      const accessPoint = `arn:${p}:elasticfilesystem:${config.region}:${config.account}:access-point/${config.efs.accessPointId}`;
      return [
        {
          sid: 'CheckpointVolume',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          resources: [fileSystem],
          conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint } },
        },
      ];
    }
    case 'dynamodb': {
      const region = resource.region ?? config.region;
      return [
        {
          sid: 'CheckpointTable',
          actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
          resources: [`arn:${partitionOf(region)}:dynamodb:${region}:${config.account}:table/${resource.table}`],
        },
      ];
    }
    case 's3': {
      const p = partitionOf(resource.region ?? config.region);
      const prefix = resource.prefix === '' ? '' : `${resource.prefix}/`;
      return [
        { sid: 'CheckpointObjects', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [`arn:${p}:s3:::${resource.bucket}/${prefix}*`] },
        { sid: 'CheckpointList', actions: ['s3:ListBucket'], resources: [`arn:${p}:s3:::${resource.bucket}`], conditions: { StringLike: { 's3:prefix': `${prefix}*` } } },
      ];
    }
  }
}

/**
 * The task role's statements for a deployment: one per resource the configuration names, merged
 * when two URLs name the same thing (a sink and the dead-letter output on one delivery stream).
 *
 * @example taskRoleGrants(config).map((g) => g.sid) // ['MskConnect', 'MskReadclicks', 'MskGrouppageviews', 'Firehosepageviews', …]
 */
export function taskRoleGrants(config: DeployConfig): Grant[] {
  const r = config.container.resources;
  const grants: Grant[] = [];
  if (r.source?.kind === 'kafka') grants.push(...kafkaGrants(r.source, 'source', config));
  if (r.source?.kind === 'kinesis') grants.push(...kinesisGrants(r.source, config));
  for (const sink of [...r.sinks, r.deadLetter, r.late]) if (sink !== undefined) grants.push(...sinkGrants(sink, config));
  if (r.checkpoint !== undefined) grants.push(...checkpointGrants(r.checkpoint, config));
  if (config.endpoints.length > 0) {
    const p = partitionOf(config.region);
    grants.push({
      sid: 'SageMakerInvoke',
      actions: ['sagemaker:InvokeEndpoint'],
      // SageMaker ARNs spell endpoint names in lower case
      resources: config.endpoints.map((name) => `arn:${p}:sagemaker:${config.region}:${config.account}:endpoint/${name.toLowerCase()}`),
    });
  }
  return merge(grants);
}

/** One statement per sid, actions and resources united in first-seen order. */
function merge(grants: readonly Grant[]): Grant[] {
  const bySid = new Map<string, Grant>();
  for (const grant of grants) {
    const seen = bySid.get(grant.sid);
    bySid.set(
      grant.sid,
      seen === undefined
        ? grant
        : { ...seen, actions: [...new Set([...seen.actions, ...grant.actions])], resources: [...new Set([...seen.resources, ...grant.resources])] },
    );
  }
  return [...bySid.values()];
}
