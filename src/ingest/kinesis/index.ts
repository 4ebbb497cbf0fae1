/**
 * A Kinesis data stream read natively (`kinesis://STREAM`), without a JVM: shards are shared out
 * through leases with KCL's schema and rules — in a DynamoDB table named by `app=` for a fleet of
 * tasks (the table KCL would use, so a fleet can move between KCL and Sluice), or in this process
 * (persisted beside `--checkpoint file:DIR`) for a single worker. Each held shard is a partition
 * pipeline read by polling GetRecords, or by enhanced fan-out with `consumer=NAME`. Checkpoints
 * go into the lease table, fenced by the lease counter. A closed shard is read to its end and
 * checkpointed SHARD_END with its state before its children start, which inherit the state of
 * the keys that now hash into them.
 *
 * @module
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AssignmentListener, PartitionReader, Source } from '../../core/connectors.js';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import type { CheckpointStore } from '../../checkpoint/store.js';
import { AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, dynamoLeaseTable, type Lease, type LeaseTable } from '../../checkpoint/stores/dynamodb/lease-table.js';
import type { KinesisEndpoint } from '../../kinesis/endpoint.js';
import { isLoopbackUrl } from '../../aws/client.js';
import { describeAwsError } from '../../aws/errors.js';
import { ensureConsumer, openFanOutShard } from './fanout/index.js';
import { fanOutService } from './fanout/service.js';
import { LeaseCoordinator } from './leases.js';
import { LeaseCheckpointStore } from './lease-store.js';
import { localLeaseTable } from './local-leases.js';
import { PollingShardStream } from './polling.js';
import { KinesisShardReader, kinesisPosition, type KinesisPosition } from './reader.js';
import { kinesisService, type KinesisService } from './service.js';
import type { ShardPosition, ShardStream } from './shard-stream.js';

/** Opens a shard for reading another way than polling (enhanced fan-out). */
export type ShardOpener = (shardId: string, position: ShardPosition) => Promise<ShardStream>;

export interface KinesisSourceOptions {
  /** The worker's name in leases; default `host:pid:random`. */
  readonly owner?: string;
  /** Another Kinesis client (tests). */
  readonly service?: KinesisService;
  /** Another lease table (tests). */
  readonly table?: LeaseTable;
  /** Most records per batch handed to the pipeline (default 1,000). */
  readonly batchSize?: number;
}

/**
 * The native Kinesis source.
 *
 * @example kinesisSource(parseKinesisUrl('kinesis://clicks?app=page-views', 'source'))
 */
export function kinesisSource(endpoint: KinesisEndpoint, options: KinesisSourceOptions = {}): KinesisSource {
  return new KinesisSource(endpoint, options);
}

/** See {@link kinesisSource}. */
export class KinesisSource implements Source {
  readonly description: string;
  private readonly service: KinesisService;
  private readonly owner: string;
  private coordinator: LeaseCoordinator | undefined;
  private listener: AssignmentListener | undefined;
  private readonly readers = new Map<string, KinesisShardReader>();
  /** Shards read to their end, and their last record. */
  private readonly ends = new Map<string, { readonly last: KinesisPosition | undefined }>();
  private changes: Promise<void> = Promise.resolve();
  private failure: unknown;
  private opener: ShardOpener | undefined;
  /** No run checkpoints this source: it writes SHARD_END for ended shards itself. */
  private marksEnds = false;

  constructor(
    private readonly endpoint: KinesisEndpoint,
    private readonly options: KinesisSourceOptions,
  ) {
    this.description = endpoint.url;
    this.service = options.service ?? kinesisService(endpoint);
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /**
   * The run's checkpoint store: the lease table. With `app=` checkpoints live in DynamoDB and
   * `--checkpoint` must not be given; without, `--checkpoint file:DIR` keeps the single worker's
   * leases in `DIR/<pipeline>/kinesis-<stream>.leases.json` (no `--checkpoint`: in memory).
   */
  checkpointStore(pipeline: string, checkpointDir: string | undefined): CheckpointStore {
    if (this.endpoint.app !== undefined && checkpointDir !== undefined) {
      throw new UserError(
        ErrorCode.BAD_OPTION,
        `--source '${this.endpoint.url}' keeps its checkpoints in the DynamoDB lease table '${this.endpoint.app}': drop --checkpoint (or drop app= to run one worker with file checkpoints)`,
      );
    }
    const table =
      this.options.table ??
      (this.endpoint.app !== undefined
        ? dynamoLeaseTable({ table: this.endpoint.app, endpointUrl: this.endpoint.dynamodbEndpointUrl, region: this.endpoint.region })
        : localLeaseTable(checkpointDir === undefined ? undefined : join(checkpointDir, pipeline, `kinesis-${this.endpoint.stream}.leases.json`)));
    this.coordinator = new LeaseCoordinator(table, () => this.service.listShards(), { owner: this.owner, failoverMs: this.endpoint.failoverMs, start: this.endpoint.start });
    return new LeaseCheckpointStore(this.coordinator, pipeline, this.endpoint.stream, (shard) => this.ends.get(shard));
  }

  /**
   * Enhanced fan-out: registers the consumer (or finds it) and reads every shard through
   * SubscribeToShard, 2 MB/s per shard for this consumer alone.
   */
  private async useFanOut(name: string): Promise<void> {
    const service = fanOutService({ endpointUrl: this.endpoint.endpointUrl, region: this.endpoint.region, credentials: undefined });
    this.closers.push(() => service.close());
    const consumer = await ensureConsumer(service, { streamArn: await service.streamArn(this.endpoint.stream).catch((err: unknown) => Promise.reject(this.describeError(err))), consumerName: name });
    // kinesis-local never marks a closed shard's end in its events (AWS does): ask GetRecords there
    const probe = isLoopbackUrl(this.endpoint.endpointUrl) ? { endProbeIntervalMs: 1_000 } : {};
    this.opener = async (shardId, position) => openFanOutShard(service, consumer.arn, shardId, position, probe);
  }

  private readonly closers: (() => void)[] = [];

  /** Reads shards another way than polling (enhanced fan-out); set before `listen`. */
  useOpener(opener: ShardOpener): void {
    this.opener = opener;
  }

  /** Checks the stream exists; shards arrive later, as leases are taken, through `listen`. */
  async open(): Promise<PartitionReader[]> {
    let status: string;
    try {
      status = (await this.service.describe()).status;
    } catch (err) {
      throw this.describeError(err);
    }
    if (status === 'DELETING') throw new UserError(ErrorCode.UNREADABLE_INPUT, `kinesis stream '${this.endpoint.stream}' is being deleted`);
    // the lease table must be there before the first checkpoint is claimed
    await this.coordinator?.table.ensure();
    if (this.endpoint.consumer !== undefined && this.opener === undefined) await this.useFanOut(this.endpoint.consumer);
    return [];
  }

  listen(listener: AssignmentListener): void {
    this.listener = listener;
    // a run without checkpoints (`sluice record`): leases in memory, and this source marks the
    // shards it read to their end itself, so their children are read too
    if (this.coordinator === undefined) {
      this.checkpointStore('record', undefined);
      this.marksEnds = true;
    }
    const coordinator = this.coordinator as LeaseCoordinator;
    coordinator
      .start({
        acquired: (leases) => this.change(() => this.acquired(leases)),
        lost: (keys) => this.change(() => this.lost(keys)),
        failed: (err) => this.crash(err),
      })
      .catch((err: unknown) => this.crash(err));
  }

  async close(): Promise<void> {
    await this.changes.catch(() => undefined);
    const coordinator = this.coordinator;
    if (coordinator !== undefined) {
      coordinator.stop();
      // the run took its final checkpoint: let the leases go so other workers take them at once
      await coordinator.release(coordinator.heldKeys()).catch(() => undefined);
    }
    await Promise.allSettled([...this.readers.values()].map((reader) => reader.close()));
    this.service.close();
    for (const close of this.closers) close();
  }

  private change(step: () => Promise<void>): void {
    this.changes = this.changes.then(step).catch((err: unknown) => this.crash(err));
  }

  private async acquired(leases: readonly Lease[]): Promise<void> {
    const listener = this.listener;
    if (listener === undefined || this.failure !== undefined) return;
    const ids = leases.map((lease) => this.idOf(lease.key));
    const positions = await listener.resume(ids);
    const readers: KinesisShardReader[] = [];
    for (const lease of leases) {
      const resume = kinesisPosition(positions.get(this.idOf(lease.key)));
      const position: ShardPosition = resume !== undefined ? { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: resume.sequence } : this.startOf(lease);
      const stream = this.opener !== undefined ? await this.opener(lease.key, position) : new PollingShardStream(this.service, lease.key, position, { maxRecords: this.endpoint.maxRecords, idleMs: this.endpoint.idleMs, stream: this.endpoint.stream });
      const reader = new KinesisShardReader(this.endpoint.stream, stream, resume, (ended) => this.ended(ended), this.options.batchSize);
      this.readers.set(lease.key, reader);
      readers.push(reader);
    }
    await listener.assign(readers);
  }

  /** A shard was read to its end: checkpoint it (SHARD_END), give it up, and look for its children. */
  private ended(reader: KinesisShardReader): void {
    this.ends.set(reader.shardId, { last: reader.position });
    this.change(async () => {
      const listener = this.listener;
      if (listener === undefined || !this.readers.has(reader.shardId)) return;
      // revoking checkpoints the shard (its last record, so SHARD_END) and releases its lease
      await listener.revoke([reader.partition]);
      this.readers.delete(reader.shardId);
      if (this.marksEnds && this.coordinator !== undefined) {
        await this.coordinator.checkpoint(reader.shardId, { checkpoint: SHARD_END, subSequence: 0, state: null });
        await this.coordinator.release([reader.shardId]);
      }
      void this.coordinator?.takeRound().catch(() => undefined);
    });
  }

  private async lost(keys: readonly string[]): Promise<void> {
    const listener = this.listener;
    const gone = keys.filter((key) => this.readers.has(key));
    if (listener === undefined || gone.length === 0) return;
    await listener.revoke(gone.map((key) => this.idOf(key)));
    for (const key of gone) this.readers.delete(key);
  }

  private startOf(lease: Lease): ShardPosition {
    switch (lease.checkpoint) {
      case LATEST:
        return { type: 'LATEST' };
      case AT_TIMESTAMP:
        return this.endpoint.start.kind === 'timestamp' ? { type: 'AT_TIMESTAMP', timestamp: this.endpoint.start.time } : { type: 'TRIM_HORIZON' };
      case TRIM_HORIZON:
      case undefined:
        return { type: 'TRIM_HORIZON' };
      default:
        // a KCL checkpoint without Sluice state: after it
        return /^\d+$/.test(lease.checkpoint) ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lease.checkpoint } : { type: 'TRIM_HORIZON' };
    }
  }

  /** The source failed for good: every shard's pending and next read fail with it, ending the run. */
  private crash(err: unknown): void {
    this.failure ??= err;
    for (const reader of this.readers.values()) reader.fail(this.failure);
  }

  private describeError(err: unknown): Error {
    const name = (err as { name?: string }).name ?? '';
    if (name === 'ResourceNotFoundException') {
      return new UserError(ErrorCode.UNREADABLE_INPUT, `kinesis stream '${this.endpoint.stream}' does not exist${this.endpoint.endpointUrl === undefined ? '' : ` at ${this.endpoint.endpointUrl}`}: create it, or check the name and region`);
    }
    if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException') {
      return new UserError(ErrorCode.UNREADABLE_INPUT, `reading kinesis stream '${this.endpoint.stream}' was refused (${name}): give the task role kinesis:DescribeStreamSummary, ListShards, GetShardIterator and GetRecords`);
    }
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') {
      return new UserError(ErrorCode.UNREADABLE_INPUT, `Kinesis is not reachable${this.endpoint.endpointUrl === undefined ? '' : ` at ${this.endpoint.endpointUrl}`}: ${messageOf(err)}`);
    }
    return new UserError(
      ErrorCode.UNREADABLE_INPUT,
      describeAwsError(err, { subject: `kinesis stream '${this.endpoint.stream}'`, service: 'Kinesis', regionNote: 'region= in the URL, AWS_REGION, SLUICE_KINESIS_ENDPOINT ' }),
      { cause: err },
    );
  }

  private idOf(shardId: string): string {
    return `${this.endpoint.stream}/${shardId}`;
  }
}
