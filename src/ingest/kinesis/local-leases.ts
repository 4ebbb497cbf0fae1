/**
 * The lease table of a single worker that reads every shard (`kinesis://STREAM` without `app=`):
 * the same leases and rules as the DynamoDB table, kept in memory and, with `--checkpoint
 * file:DIR`, written durably to one JSON file after every change — so a single task resumes from
 * its checkpoints and a resharded stream hands state to child shards exactly as a fleet does.
 *
 * @module
 */
import * as nodeFs from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { ensureDirectory, writeDurably } from '../../checkpoint/stores/durable.js';
import type { Lease, LeaseCheckpoint, LeaseTable, NewLease } from '../../checkpoint/stores/dynamodb/lease-table.js';

interface StoredLease extends Omit<Lease, 'state'> {
  readonly state: string | undefined;
}

/**
 * A {@link LeaseTable} in this process, persisted to `path` when given.
 *
 * @example const table = localLeaseTable('/var/lib/sluice/page-views/kinesis-clicks.leases.json')
 */
export function localLeaseTable(path: string | undefined): LeaseTable {
  const leases = new Map<string, Lease>();
  const load = async (): Promise<void> => {
    if (path === undefined) return;
    let text: string | undefined;
    try {
      text = await nodeFs.readFile(path, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw new UserError(ErrorCode.BAD_CHECKPOINT, `cannot read lease file '${path}': ${(err as Error).message}`);
    }
    if (text !== undefined) {
      let stored: StoredLease[];
      try {
        stored = JSON.parse(text) as StoredLease[];
        if (!Array.isArray(stored)) throw new Error('not a list');
      } catch (err) {
        throw new UserError(ErrorCode.BAD_CHECKPOINT, `lease file '${path}' is corrupt (${(err as Error).message}); move it aside to start the stream over`);
      }
      // leases outlive the worker that held them: a restart takes them over at once
      for (const lease of stored) leases.set(lease.key, { ...lease, owner: undefined, state: lease.state === undefined ? undefined : Buffer.from(lease.state, 'base64') });
    }
    await ensureDirectory(nodeFs, dirname(path));
  };
  let loaded: Promise<void> | undefined;
  let writes: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    if (path === undefined) return Promise.resolve();
    const text = JSON.stringify([...leases.values()].map((lease) => ({ ...lease, state: lease.state === undefined ? undefined : Buffer.from(lease.state).toString('base64') })));
    writes = writes.then(() => writeDurably(nodeFs, path, text));
    return writes;
  };
  const update = async (key: string, expect: (lease: Lease) => boolean, change: (lease: Lease) => Lease, durable = true): Promise<boolean> => {
    const lease = leases.get(key);
    if (lease === undefined || !expect(lease)) return false;
    leases.set(key, change(lease));
    if (durable) await persist();
    return true;
  };
  return {
    name: path ?? 'in-memory leases',
    async ensure() {
      loaded ??= load();
      await loaded;
    },
    async list() {
      return [...leases.values()];
    },
    async get(key) {
      return leases.get(key);
    },
    async create(lease: NewLease) {
      if (leases.has(lease.key)) return false;
      leases.set(lease.key, { ...lease, owner: undefined, counter: 0, subSequence: 0, ownerSwitches: 0, state: undefined });
      await persist();
      return true;
    },
    // a renewal only tells other workers of this process's table that the owner lives: nothing a
    // restart needs (it drops owners), so it is not worth a durable write every few seconds
    renew: (key, owner, counter) => update(key, (l) => l.owner === owner && l.counter === counter, (l) => ({ ...l, counter: counter + 1 }), false),
    take: (key, owner, counter) => update(key, (l) => l.counter === counter, (l) => ({ ...l, owner, counter: counter + 1, ownerSwitches: l.owner !== undefined && l.owner !== owner ? l.ownerSwitches + 1 : l.ownerSwitches })),
    evict: (key, owner, counter) => update(key, (l) => l.owner === owner && l.counter === counter, (l) => ({ ...l, owner: undefined, counter: counter + 1 })),
    checkpoint: (key, owner, counter, c: LeaseCheckpoint) =>
      update(
        key,
        (l) => l.owner === owner && l.counter === counter,
        (l) => ({ ...l, counter: counter + 1, checkpoint: c.checkpoint, subSequence: c.subSequence, ownerSwitches: 0, state: c.state ?? undefined }),
      ),
    close() {},
  };
}
