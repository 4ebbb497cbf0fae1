/**
 * Sharing a stream's shards among workers through a lease table with KCL's schema and rules:
 * every worker renews its leases (raises their counters) every third of the failover time; a
 * lease whose counter has not moved for the failover time (as this worker saw it) is expired and
 * may be taken; each worker aims at its fair share (leases ÷ live workers, rounded up), takes
 * expired or unowned leases first and otherwise steals one lease per round from the most loaded
 * worker. A shard's lease is only taken once every parent lease reached SHARD_END (or is gone):
 * children of a split or merge start after their parents are read to their end.
 *
 * Writes to one lease go one at a time (renewals and checkpoints both raise its counter), and a
 * failed conditional write means the lease was lost: it is reported, and nothing more is written
 * for it.
 *
 * @module
 */
import { AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, type Lease, type LeaseCheckpoint, type LeaseTable } from '../../checkpoint/stores/dynamodb/lease-table.js';
import { isUserError } from '../../core/errors.js';
import type { KinesisStart } from '../../kinesis/endpoint.js';
import type { ShardInfo } from './service.js';

/** What the coordinator tells the source. */
export interface LeaseEvents {
  /** Leases this worker now holds: start reading these shards (from their checkpoints). */
  acquired(leases: readonly Lease[]): void;
  /** Leases this worker lost (taken by another worker, or its renewal failed): stop reading at once. */
  lost(keys: readonly string[]): void;
  /** The coordinator failed for good (the table cannot be reached at all). */
  failed(err: unknown): void;
}

export interface LeaseCoordinatorOptions {
  readonly owner: string;
  readonly failoverMs: number;
  /** Checkpoint of a new lease for a shard without parents in the table. */
  readonly start: KinesisStart;
  /** Most leases this worker holds (default: no limit). */
  readonly maxLeases?: number;
  readonly now?: () => number;
  /** Renew and take on timers (default); false: only when `renewRound` / `takeRound` are called. */
  readonly schedule?: boolean;
}

interface Held {
  counter: number;
  /** Writes to this lease, one after another. */
  chain: Promise<unknown>;
  lost: boolean;
}

/** The checkpoint sentinel of a new lease with no parents, for `start`. */
export function initialCheckpoint(start: KinesisStart): string {
  return start.kind === 'latest' ? LATEST : start.kind === 'timestamp' ? AT_TIMESTAMP : TRIM_HORIZON;
}

/**
 * One worker's side of the lease protocol.
 *
 * @example const leases = new LeaseCoordinator(table, () => service.listShards(), { owner, failoverMs: 10_000, start: { kind: 'trim_horizon' } })
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, Held>();
  /** Counter and when this worker first saw it, per lease: how expiry is judged (as KCL does). */
  private readonly seen = new Map<string, { counter: number; owner: string | undefined; since: number }>();
  private timers: NodeJS.Timeout[] = [];
  private events: LeaseEvents | undefined;
  private stopped = false;
  private taking: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    readonly table: LeaseTable,
    private readonly listShards: () => Promise<ShardInfo[]>,
    readonly options: LeaseCoordinatorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Creates the table if needed, then renews and takes leases on a schedule until `stop`. */
  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
    await this.table.ensure();
    await this.takeRound();
    if (this.options.schedule === false) return;
    const renewEvery = Math.max(200, Math.floor(this.options.failoverMs / 3));
    const takeEvery = Math.max(500, Math.floor(this.options.failoverMs / 2));
    // a round that fails for a passing reason (throttling, a timeout) is simply tried again; a
    // table that is gone or refuses access ends the run
    const onError = (err: unknown): void => {
      if (isUserError(err)) this.fail(err);
    };
    this.timers.push(setInterval(() => void this.renewRound().catch(onError), renewEvery));
    this.timers.push(setInterval(() => void this.takeRound().catch(onError), takeEvery));
    for (const timer of this.timers) timer.unref();
  }

  holds(key: string): boolean {
    const lease = this.held.get(key);
    return lease !== undefined && !lease.lost;
  }

  /** Keys of the leases this worker holds. */
  heldKeys(): string[] {
    return [...this.held.entries()].filter(([, lease]) => !lease.lost).map(([key]) => key);
  }

  /**
   * Writes a checkpoint for a held lease; resolves false (and reports the lease lost) when the
   * lease was taken over meanwhile — the write then changed nothing.
   */
  checkpoint(key: string, update: LeaseCheckpoint): Promise<boolean> {
    return this.write(key, (lease) => this.table.checkpoint(key, this.owner, lease.counter, update));
  }

  /**
   * Lets leases go after their last checkpoint: a finished shard's lease (SHARD_END) and, at
   * shutdown, every lease — so other workers take them at once instead of waiting them out.
   */
  async release(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        await this.write(key, (lease) => this.table.evict(key, this.owner, lease.counter)).catch(() => false);
        this.held.delete(key);
      }),
    );
  }

  /** Stops renewing and taking; `release` the leases first for a fast handover. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private write(key: string, op: (lease: Held) => Promise<boolean>): Promise<boolean> {
    const lease = this.held.get(key);
    if (lease === undefined || lease.lost) return Promise.resolve(false);
    const result = lease.chain.then(async () => {
      if (lease.lost) return false;
      const ok = await op(lease);
      if (ok) lease.counter++;
      else this.lose([key]);
      return ok;
    });
    lease.chain = result.catch(() => undefined);
    return result;
  }

  private lose(keys: readonly string[]): void {
    const lost = keys.filter((key) => {
      const lease = this.held.get(key);
      if (lease === undefined || lease.lost) return false;
      lease.lost = true;
      return true;
    });
    for (const key of lost) this.held.delete(key);
    if (lost.length > 0) this.events?.lost(lost);
  }

  /** Renews every held lease once; a lease someone else took meanwhile is reported lost. */
  async renewRound(): Promise<void> {
    if (this.stopped) return;
    // a renewal that fails for a passing reason (throttling, a timeout) is tried again next round;
    // only a failed condition (someone took the lease) loses it
    await Promise.all(this.heldKeys().map((key) => this.write(key, (lease) => this.table.renew(key, this.owner, lease.counter)).catch(() => false)));
  }

  /** Creates leases for new shards, then takes this worker's fair share. One round at a time. */
  takeRound(): Promise<void> {
    this.taking ??= this.take().finally(() => (this.taking = undefined));
    return this.taking;
  }

  private async take(): Promise<void> {
    if (this.stopped) return;
    let leases = await this.table.list();
    const created = await this.createMissing(leases);
    if (created) leases = await this.table.list();
    const now = this.now();
    const byKey = new Map(leases.map((lease) => [lease.key, lease]));
    for (const lease of leases) {
      const seen = this.seen.get(lease.key);
      if (seen === undefined || seen.counter !== lease.counter || seen.owner !== lease.owner) this.seen.set(lease.key, { counter: lease.counter, owner: lease.owner, since: now });
    }
    const done = (key: string): boolean => {
      const lease = byKey.get(key);
      return lease === undefined || lease.checkpoint === SHARD_END;
    };
    const workable = leases.filter((lease) => lease.checkpoint !== SHARD_END && lease.parents.every(done));
    const expired = (lease: Lease): boolean => lease.owner === undefined || (lease.owner !== this.owner && now - (this.seen.get(lease.key)?.since ?? now) >= this.options.failoverMs);
    const live = new Map<string, Lease[]>();
    for (const lease of workable) {
      if (expired(lease) || lease.owner === undefined) continue;
      live.set(lease.owner, [...(live.get(lease.owner) ?? []), lease]);
    }
    // leases the table says are ours but we do not hold (a restart with the same owner name)
    const mine = workable.filter((lease) => lease.owner === this.owner && !this.held.has(lease.key));
    const workers = new Set([...live.keys(), this.owner]).size;
    const target = Math.min(this.options.maxLeases ?? Number.POSITIVE_INFINITY, Math.ceil(workable.length / workers));
    let room = target - this.heldKeys().length;
    const candidates = [...mine, ...workable.filter((lease) => lease.owner !== this.owner && expired(lease))];
    if (room > 0 && candidates.length === 0) {
      // nothing free: steal one lease from the most loaded worker above the target
      const [victim] = [...live.entries()].filter(([owner]) => owner !== this.owner).sort((a, b) => b[1].length - a[1].length);
      if (victim !== undefined && victim[1].length > target) candidates.push(victim[1][0] as Lease);
    }
    const acquired: Lease[] = [];
    for (const lease of candidates) {
      if (room <= 0 || this.stopped) break;
      const ok = await this.table.take(lease.key, this.owner, lease.counter, lease.owner);
      if (!ok) continue;
      room--;
      this.held.set(lease.key, { counter: lease.counter + 1, chain: Promise.resolve(), lost: false });
      acquired.push({ ...lease, owner: this.owner, counter: lease.counter + 1 });
    }
    if (acquired.length > 0) this.events?.acquired(acquired);
  }

  /** Creates a lease for every shard without one; true when it created any. */
  private async createMissing(leases: readonly Lease[]): Promise<boolean> {
    const known = new Set(leases.map((lease) => lease.key));
    const shards = await this.listShards();
    const present = new Set(shards.map((shard) => shard.shardId));
    let created = false;
    for (const shard of shards) {
      if (known.has(shard.shardId)) continue;
      const parents = [shard.parentShardId, shard.adjacentParentShardId].filter((id): id is string => id !== undefined);
      // a child reads its shard from the start: its parents' records came first
      const fromParents = parents.some((parent) => known.has(parent) || present.has(parent));
      await this.table.create({
        key: shard.shardId,
        checkpoint: fromParents ? TRIM_HORIZON : initialCheckpoint(this.options.start),
        parents: parents.filter((parent) => known.has(parent) || present.has(parent)),
        startingHashKey: shard.startingHashKey,
        endingHashKey: shard.endingHashKey,
      });
      created = true;
    }
    return created;
  }

  private fail(err: unknown): void {
    this.events?.failed(err);
  }
}
