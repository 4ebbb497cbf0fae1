import type { GroupMembership, PartitionView, RunView } from '../../../src/runtime/run.js';

/** A partition as a RunView shows it, with defaults for what a test does not care about. */
export function partition(id: string, fields: Partial<Omit<PartitionView, 'partition'>> = {}): PartitionView {
  return { partition: id, eventsIn: 0, watermark: Number.NEGATIVE_INFINITY, assignedAt: 0, lastReadAt: undefined, ended: false, backlog: undefined, ...fields };
}

export interface FakeRun {
  counters?: Record<string, number>;
  watermark?: number;
  maxEventTime?: number;
  lastCheckpoint?: number;
  windowsFired?: number;
  partitions?: PartitionView[];
  membership?: GroupMembership | undefined;
}

/** A RunView over plain, mutable data: change `state` and the view follows. */
export function fakeView(state: FakeRun): RunView {
  return {
    counters: () => ({ ...(state.counters ?? {}) }),
    watermark: () => state.watermark ?? Number.NEGATIVE_INFINITY,
    maxEventTime: () => state.maxEventTime ?? Number.NEGATIVE_INFINITY,
    lastCheckpoint: () => state.lastCheckpoint ?? 0,
    windowsFired: () => state.windowsFired ?? 0,
    partitions: () => [...(state.partitions ?? [])],
    membership: () => state.membership,
  };
}
