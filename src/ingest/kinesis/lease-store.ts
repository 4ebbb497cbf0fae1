/**
 * Checkpoints kept in the Kinesis lease table itself: each shard's position goes into KCL's
 * `checkpoint` / `checkpointSubSequenceNumber` and its operator state into `sluiceState`, in one
 * conditional write fenced by the lease counter — state and position move together, and a worker
 * that lost the lease writes nothing. A shard read to its end is checkpointed SHARD_END with its
 * final state, which its children inherit: after a split each child keeps the windows whose keys
 * now hash into its range; after a merge the child takes both parents' windows.
 *
 * @module
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorCode, UserError } from '../../core/errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../checkpoint/codec.js';
import type { Checkpoint, CheckpointStore, PartitionCheckpoint, PartitionLeases } from '../../checkpoint/store.js';
import { SHARD_END, type Lease } from '../../checkpoint/stores/dynamodb/lease-table.js';
import { hashKey } from '../../loadtest/hashing.js';
import type { PaneState } from '../../windows/pane.js';
import type { LeaseCoordinator } from './leases.js';
import { kinesisPosition, type KinesisPosition } from './reader.js';

/**
 * DynamoDB items hold at most 400 KB (DynamoDB developer guide, "Service, account, and table
 * quotas"); the lease's own attributes take a few hundred bytes.
 */
export const MAX_STATE_BYTES = 390_000;

/** How the store learns that a shard was read to its end, and its last record. */
export type ShardEnds = (shardId: string) => { readonly last: KinesisPosition | undefined } | undefined;

/**
 * The lease table as the run's {@link CheckpointStore}.
 *
 * @example const store = new LeaseCheckpointStore(coordinator, 'page-views', 'clicks', (shard) => ends.get(shard))
 */
export class LeaseCheckpointStore implements CheckpointStore {
  readonly description: string;
  readonly leases: PartitionLeases;

  constructor(
    private readonly coordinator: LeaseCoordinator,
    private readonly pipeline: string,
    private readonly stream: string,
    private readonly ends: ShardEnds,
  ) {
    this.description = `dynamodb lease table ${coordinator.table.name}`;
    this.leases = {
      owner: coordinator.owner,
      claim: (partitions) => this.claim(partitions),
      release: async (partitions) => {
        // a finished shard's lease is let go; others stay held until they are lost or the run stops
        const finished = partitions.map((p) => this.shardOf(p)).filter((shard) => this.ends(shard) !== undefined);
        await coordinator.release(finished);
      },
      holds: (partition) => coordinator.holds(this.shardOf(partition)),
    };
  }

  /** Nothing is run-wide: every shard's checkpoint lives with its lease. */
  async load(): Promise<Checkpoint | undefined> {
    return undefined;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await Promise.all(
      Object.entries(checkpoint.partitions).map(async ([partition, saved]) => {
        const shard = this.shardOf(partition);
        if (!this.coordinator.holds(shard)) return;
        const position = kinesisPosition(saved.position);
        const end = this.ends(shard);
        const ended = end !== undefined && samePosition(end.last, position);
        // nothing read yet: the lease's own checkpoint (and inherited state) still says where to start
        if (position === undefined && !ended) return;
        const state = gzipSync(
          encodeCheckpoint({ pipeline: this.pipeline, checkpointId: checkpoint.checkpointId, createdAt: checkpoint.createdAt, partitions: { [partition]: { ...saved, ended } }, shared: {} }),
        );
        if (state.byteLength > MAX_STATE_BYTES) {
          throw new UserError(
            ErrorCode.UNWRITABLE_OUTPUT,
            `the state of ${partition} is ${Math.round(state.byteLength / 1024)} KB compressed, more than a DynamoDB item holds (400 KB): use shorter windows or fewer keys per shard, or more shards`,
          );
        }
        await this.coordinator.checkpoint(shard, {
          checkpoint: ended ? SHARD_END : (position as KinesisPosition).sequence,
          subSequence: ended ? 0 : (position as KinesisPosition).sub,
          state,
        });
      }),
    );
  }

  async close(): Promise<void> {
    this.coordinator.table.close();
  }

  private async claim(partitions: readonly string[]): Promise<ReadonlyMap<string, PartitionCheckpoint>> {
    const out = new Map<string, PartitionCheckpoint>();
    for (const partition of partitions) {
      const shard = this.shardOf(partition);
      const lease = await this.coordinator.table.get(shard);
      if (lease === undefined) continue;
      const saved = await this.restoreOrInherit(lease, partition);
      if (saved !== undefined) out.set(partition, saved);
    }
    return out;
  }

  /** What a lease says a partition resumes from: its own checkpoint, or its parents' final state. */
  private async restoreOrInherit(lease: Lease, partition: string): Promise<PartitionCheckpoint | undefined> {
    return this.restore(lease, partition) ?? (await this.inherit(lease));
  }

  private restore(lease: Lease, partition: string): PartitionCheckpoint | undefined {
    const checkpoint = lease.checkpoint;
    if (checkpoint === undefined || !/^\d+$/.test(checkpoint)) return undefined;
    const position = { shard: lease.key, sequence: checkpoint, sub: lease.subSequence };
    const state = this.decode(lease, partition);
    // the state is only ours if it is at KCL's checkpoint (a KCL worker may have moved it since)
    if (state !== undefined && samePosition(kinesisPosition(state.position), position)) return { ...state, ended: false };
    return { position, ended: false, operators: {} };
  }

  private async inherit(lease: Lease): Promise<PartitionCheckpoint | undefined> {
    if (lease.parents.length === 0) return undefined;
    const parents: PartitionCheckpoint[] = [];
    for (const parentKey of lease.parents) {
      const parent = await this.coordinator.table.get(parentKey);
      const state = parent === undefined ? undefined : this.decode(parent, `${this.stream}/${parentKey}`);
      if (state !== undefined) parents.push(state);
    }
    if (parents.length === 0) return undefined;
    const range = lease.startingHashKey !== undefined && lease.endingHashKey !== undefined ? { start: BigInt(lease.startingHashKey), end: BigInt(lease.endingHashKey) } : undefined;
    return { position: null, ended: false, operators: inheritOperators(parents, range) };
  }

  private decode(lease: Lease, partition: string): PartitionCheckpoint | undefined {
    if (lease.state === undefined) return undefined;
    const where = `${this.coordinator.table.name}/${lease.key}`;
    let text: string;
    try {
      text = gunzipSync(lease.state).toString('utf8');
    } catch {
      throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${where}' (sluiceState) is not gzip data; remove the attribute to restart the shard from its KCL checkpoint`);
    }
    const checkpoint = decodeCheckpoint(text, where);
    if (checkpoint.pipeline !== this.pipeline) {
      throw new UserError(ErrorCode.BAD_CHECKPOINT, `lease table '${this.coordinator.table.name}' holds state of pipeline '${checkpoint.pipeline}', not '${this.pipeline}': give each pipeline its own app= name`);
    }
    return Object.values(checkpoint.partitions)[0] ?? checkpoint.partitions[partition];
  }

  private shardOf(partition: string): string {
    return partition.slice(partition.lastIndexOf('/') + 1);
  }
}

/**
 * A child shard's operator state from its parents' final states. Windows: the panes whose route
 * (partition key) hashes into the child's range — all of them when the range or the route is not
 * known — at the lowest parent watermark, so nothing fires early. Every other operator's state
 * comes from the parent with the lowest watermark (a merge cannot combine arbitrary state; with one
 * parent, a split, it is simply copied).
 */
export function inheritOperators(parents: readonly PartitionCheckpoint[], range: { readonly start: bigint; readonly end: bigint } | undefined): Record<string, unknown> {
  const windows = parents.map((p) => (p.operators['window'] as { window?: { watermark: number; panes: PaneState[] } } | undefined)?.window);
  const watermarkOf = (i: number): number => windows[i]?.watermark ?? Number.NEGATIVE_INFINITY;
  let lowest = 0;
  for (let i = 1; i < parents.length; i++) if (watermarkOf(i) < watermarkOf(lowest)) lowest = i;
  const out: Record<string, unknown> = { ...(parents[lowest] as PartitionCheckpoint).operators };
  if (windows.some((w) => w !== undefined)) {
    const panes: PaneState[] = [];
    for (const window of windows) {
      for (const pane of window?.panes ?? []) {
        if (range === undefined || pane.route === undefined) panes.push(pane);
        else {
          const hash = hashKey(pane.route);
          if (hash >= range.start && hash <= range.end) panes.push(pane);
        }
      }
    }
    out['window'] = { window: { watermark: watermarkOf(lowest), panes } };
  }
  return out;
}

function samePosition(a: KinesisPosition | undefined, b: KinesisPosition | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sequence === b.sequence && a.sub === b.sub;
}
