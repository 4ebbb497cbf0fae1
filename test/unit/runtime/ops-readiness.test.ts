import { describe, expect, it, vi } from 'vitest';
import { startOps, type Log } from '../../../src/runtime/ops/index.js';
import { DEFAULT_STALL_AFTER_MS, readiness } from '../../../src/runtime/ops/readiness.js';
import { fakeView, partition } from './ops-fakes.js';

const NOW = 1_800_000_000_000;
const joined = (assigned: number, topicPartitions = 4) => ({ joined: true, assigned, topicPartitions });

describe('readiness', () => {
  it('is not ready while starting or shutting down', () => {
    expect(readiness({ phase: 'starting', view: undefined, now: NOW })).toMatchObject({ ready: false, reason: expect.stringMatching(/^starting/) });
    const view = fakeView({ partitions: [partition('t/0')] });
    const stopping = readiness({ phase: 'stopping', view, now: NOW });
    expect(stopping.ready).toBe(false);
    expect(stopping.reason).toMatch(/^shutting down/);
    // what it still reads is reported while it stops
    expect(stopping.partitions.map((p) => p.partition)).toEqual(['t/0']);
  });

  it('goes from 503 to 200 when the consumer group assigns partitions and the run takes them', () => {
    const state: Parameters<typeof fakeView>[0] = { membership: { joined: false, assigned: 0, topicPartitions: 2 }, partitions: [] };
    const view = fakeView(state);
    const before = readiness({ phase: 'running', view, now: NOW });
    expect(before).toMatchObject({ ready: false, reason: 'waiting for the consumer group to assign partitions' });

    // assigned by the group, but the run is still taking them over (checkpoints, leases)
    state.membership = joined(2, 2);
    state.partitions = [partition('t/0')];
    const takingOver = readiness({ phase: 'running', view, now: NOW });
    expect(takingOver.ready).toBe(false);
    expect(takingOver.reason).toMatch(/^taking over 1 of the 2 partitions/);

    state.partitions = [partition('t/0'), partition('t/1')];
    expect(readiness({ phase: 'running', view, now: NOW })).toMatchObject({ ready: true, reason: 'reading 2 partitions' });
  });

  it('calls a worker the group assigned nothing a ready standby, naming the topic size', () => {
    const view = fakeView({ membership: joined(0, 1), partitions: [] });
    const state = readiness({ phase: 'running', view, now: NOW });
    expect(state.ready).toBe(true);
    expect(state.reason).toBe('standby: no partitions assigned to this worker; the group has more workers than partitions (the topic has 1 partition)');
  });

  it('is not ready once fetched input has waited longer than the stall limit, and says which partition', () => {
    const waiting = (ms: number) => ({ records: 500, waitingSince: NOW - ms });
    const state: Parameters<typeof fakeView>[0] = {
      membership: joined(2),
      partitions: [partition('t/0', { backlog: waiting(1_000) }), partition('t/1', { backlog: { records: 0, waitingSince: undefined } })],
    };
    const view = fakeView(state);
    expect(readiness({ phase: 'running', view, now: NOW }).ready).toBe(true);

    state.partitions = [partition('t/0', { backlog: waiting(DEFAULT_STALL_AFTER_MS + 5_000) }), partition('t/1')];
    const stalled = readiness({ phase: 'running', view, now: NOW });
    expect(stalled.ready).toBe(false);
    expect(stalled.reason).toBe('stalled: partition t/0 is not taking input that has waited 65 s (more than 60 s); a sink may be stuck');
    expect(stalled.partitions[0]).toMatchObject({ partition: 't/0', stalled: true, lag: 500, waitingMs: 65_000 });
    expect(stalled.partitions[1]).toMatchObject({ partition: 't/1', stalled: false, lag: null, waitingMs: null });

    // the limit is an option
    expect(readiness({ phase: 'running', view, now: NOW, stallAfterMs: 120_000 }).ready).toBe(true);
  });

  it('names the longest-waiting of several stalled partitions', () => {
    const view = fakeView({
      partitions: [partition('a', { backlog: { records: 1, waitingSince: NOW - 70_000 } }), partition('b', { backlog: { records: 1, waitingSince: NOW - 90_000 } })],
    });
    expect(readiness({ phase: 'running', view, now: NOW }).reason).toMatch(/^stalled: 2 partitions are \(b longest\) not taking input that has waited 90 s/);
  });

  it('never calls a source that cannot tell its backlog stalled, however long since its last read', () => {
    const view = fakeView({ partitions: [partition('file.jsonl', { lastReadAt: NOW - 10 * DEFAULT_STALL_AFTER_MS })] });
    expect(readiness({ phase: 'running', view, now: NOW })).toMatchObject({ ready: true, reason: 'reading 1 partition' });
  });

  it('is ready with bounded input read to the end', () => {
    const view = fakeView({ partitions: [partition('a', { ended: true }), partition('b', { ended: true })] });
    expect(readiness({ phase: 'running', view, now: NOW })).toMatchObject({ ready: true, reason: 'read 2 partitions to the end' });
  });

  it('reports each partition with its lag and watermark', () => {
    const view = fakeView({ partitions: [partition('t/0', { eventsIn: 42, watermark: Date.UTC(2027, 0, 1), backlog: { records: 7, waitingSince: undefined } })] });
    expect(readiness({ phase: 'running', view, now: NOW }).partitions).toEqual([
      { partition: 't/0', eventsIn: 42, lag: 7, watermark: '2027-01-01T00:00:00.000Z', waitingMs: null, stalled: false, ended: false },
    ]);
  });
});

describe('stall warnings', () => {
  it('warn once per stall with the partition, and say when it reads again', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const lines: { line: string; fields: Readonly<Record<string, unknown>> | undefined }[] = [];
      const record = (line: string, fields?: Readonly<Record<string, unknown>>): void => void lines.push({ line, fields });
      const log: Log = { format: 'json', info: record, warn: record, error: record };
      const ops = await startOps({ pipeline: 'p', log, stopping: new AbortController().signal, env: {}, now: () => NOW });
      const state: Parameters<typeof fakeView>[0] = { partitions: [partition('t/0', { backlog: { records: 9, waitingSince: NOW - 1_000 } })] };
      ops.attach(fakeView(state));
      vi.advanceTimersByTime(10_000);
      expect(lines).toEqual([]);

      state.partitions = [partition('t/0', { backlog: { records: 9, waitingSince: NOW - 61_000 } })];
      vi.advanceTimersByTime(15_000);
      expect(lines).toEqual([
        { line: 'sluice: partition t/0 stalled: input has waited 61 s for the pipeline to take it; a sink may be stuck', fields: { partition: 't/0', waitingMs: 61_000, lag: 9 } },
      ]);
      expect(ops.readiness().ready).toBe(false);

      state.partitions = [partition('t/0', { backlog: { records: 0, waitingSince: undefined } })];
      vi.advanceTimersByTime(5_000);
      expect(lines.slice(1)).toEqual([{ line: 'sluice: partition t/0 is reading again', fields: { partition: 't/0' } }]);
      expect(ops.url).toBeUndefined();
      await ops.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
