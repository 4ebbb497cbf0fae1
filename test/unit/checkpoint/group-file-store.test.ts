import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../../src/checkpoint/codec.js';
import type { Checkpoint, PartitionCheckpoint } from '../../../src/checkpoint/store.js';
import { groupFileCheckpointStore } from '../../../src/checkpoint/stores/group-file.js';
import { expectBadCheckpoint, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

// no waiting for live owners to hand over, unless a test is about that
const worker = (owner: string, handoffMs = 0) => groupFileCheckpointStore({ dir, pipeline: 'clicks', owner, handoffMs });
const state = (offset: number, wm = -Infinity): PartitionCheckpoint => ({ position: { offset: String(offset) }, ended: false, operators: { window: { wm } } });
const checkpoint = (id: number, partitions: Record<string, PartitionCheckpoint>): Checkpoint => ({
  pipeline: 'clicks',
  checkpointId: id,
  createdAt: '2026-11-22T00:00:00.000Z',
  partitions,
  shared: { sinks: { 'file:out.jsonl': 10 } },
});
const home = () => join(dir, 'clicks', 'partitions');

describe('group file checkpoint store: leases', () => {
  it('keeps one file per partition; a claim returns its newest checkpoint', async () => {
    const a = worker('a');
    expect(await a.leases.claim(['t/0', 't/1'])).toEqual(new Map());
    await a.save(checkpoint(1, { 't/0': state(10), 't/1': state(20) }));
    await a.save(checkpoint(2, { 't/0': state(15, 7) }));
    expect((await readdir(home())).sort()).toEqual(['t%2F0.json', 't%2F1.json']);

    const b = worker('b');
    const claimed = await b.leases.claim(['t/0', 't/1']);
    expect(claimed).toEqual(
      new Map([
        ['t/0', state(15, 7)],
        ['t/1', state(20)],
      ]),
    );
    // nothing run-wide is kept: sink positions and shared operators are one worker's
    expect(await b.load()).toBeUndefined();
    expect(await readFile(join(home(), 't%2F1.json'), 'utf8')).not.toContain('out.jsonl');
  });

  it("fences a worker that lost a partition: its save leaves the new owner's state alone", async () => {
    const a = worker('a');
    await a.leases.claim(['t/0', 't/1']);
    await a.save(checkpoint(1, { 't/0': state(10), 't/1': state(20) }));

    const b = worker('b');
    await b.leases.claim(['t/1']);
    await b.save(checkpoint(1, { 't/1': state(25) }));

    // a has not noticed the rebalance yet and saves both
    await a.save(checkpoint(2, { 't/0': state(12), 't/1': state(99) }));
    expect(a.leases.holds('t/0')).toBe(true);
    expect(a.leases.holds('t/1')).toBe(false);
    expect(b.leases.holds('t/1')).toBe(true);

    const c = worker('c');
    expect(await c.leases.claim(['t/0', 't/1'])).toEqual(
      new Map([
        ['t/0', state(12)],
        ['t/1', state(25)],
      ]),
    );
    // and now b is fenced too
    await b.save(checkpoint(2, { 't/1': state(30) }));
    expect(b.leases.holds('t/1')).toBe(false);
    expect(await worker('d').leases.claim(['t/1'])).toEqual(new Map([['t/1', state(25)]]));
  });

  it('saves only partitions it holds: released ones are left to their next owner', async () => {
    const a = worker('a');
    await a.leases.claim(['t/0']);
    await a.save(checkpoint(1, { 't/0': state(10) }));
    await a.leases.release(['t/0']);
    await a.save(checkpoint(2, { 't/0': state(11), 't/9': state(1) }));
    expect(await worker('b').leases.claim(['t/0', 't/9'])).toEqual(new Map([['t/0', state(10)]]));
  });

  it('hands a partition over when its live owner releases it, with the state of its last checkpoint', async () => {
    const a = worker('a');
    await a.leases.claim(['t/0']);
    await a.save(checkpoint(1, { 't/0': state(10) }));
    const b = worker('b', 60_000);
    let claimed: ReadonlyMap<string, PartitionCheckpoint> | undefined;
    const claiming = b.leases.claim(['t/0']).then((states) => (claimed = states));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // a still holds it: b waits while a drains and checkpoints
    expect(claimed).toBeUndefined();
    await a.save(checkpoint(2, { 't/0': state(17) }));
    await a.leases.release(['t/0']);
    await claiming;
    expect(claimed).toEqual(new Map([['t/0', state(17)]]));
    await Promise.all([a.close(), b.close()]);
  });

  it("takes a closed (or dead) worker's partitions at once", async () => {
    const a = worker('a');
    await a.leases.claim(['t/0']);
    await a.save(checkpoint(1, { 't/0': state(10) }));
    await a.close();
    const b = worker('b', 60_000);
    expect(await b.leases.claim(['t/0'])).toEqual(new Map([['t/0', state(10)]]));
    await b.close();
  });

  it('raises the epoch with every claim, so concurrent claims leave exactly one owner', async () => {
    const workers = ['a', 'b', 'c', 'd'].map((owner) => worker(owner));
    await Promise.all(workers.map((w) => w.leases.claim(['t/0'])));
    await Promise.all(workers.map((w, i) => w.save(checkpoint(1, { 't/0': state(i) }))));
    expect(workers.filter((w) => w.leases.holds('t/0'))).toHaveLength(1);
    const entry = JSON.parse(await readFile(join(home(), 't%2F0.json'), 'utf8')) as { data: { shared: { lease: { epoch: number } } } };
    expect(entry.data.shared.lease.epoch).toBe(4);
  });

  it("refuses a partition file without a lease, or another pipeline's, naming the file", async () => {
    await mkdir(home(), { recursive: true });
    await writeFile(join(home(), 't%2F0.json'), encodeCheckpoint(checkpoint(3, { 't/0': state(1) })));
    const path = (n: number): string => join(home(), `t%2F${n}.json`);
    await expectBadCheckpoint(() => worker('a').leases.claim(['t/0']), `checkpoint '${path(0)}' has no valid lease: it was not written by a group of workers`);
    await writeFile(join(home(), 't%2F1.json'), encodeCheckpoint({ ...checkpoint(3, {}), pipeline: 'other', shared: { lease: { owner: 'x', epoch: 1 } } }));
    await expectBadCheckpoint(() => worker('b').leases.claim(['t/1']), `checkpoint '${path(1)}' belongs to pipeline 'other', not 'clicks'`);
  });
});
