/**
 * The Kinesis part of a load-test report: the steps' put counts added up, each shard's load as
 * the put results placed it and as the pipeline read it, and the per-shard figures the sizing
 * recommendation is made from.
 *
 * @module
 */
import { addPuts } from './driver.js';
import type { KinesisReport, MeasuredKinesis, StepResult } from './report.js';
import type { PutCounts } from './service.js';

const NO_PUTS: PutCounts = { putCalls: 0, kinesisRecords: 0, aggregatedRecords: 0, userRecords: 0, throttled: 0, retried: 0, putUnits: 0, kinesisBytes: 0, byShard: {} };

/**
 * Builds the report's `kinesis` block.
 *
 * @example kinesisReport({ stream: 'load', aggregate: true, shards: 2, steps, behindMax, readByPartition }).measured.userRecordsPerRecord // 37.5
 */
export function kinesisReport(r: {
  readonly stream: string;
  readonly aggregate: boolean;
  readonly shards: number;
  readonly steps: readonly StepResult[];
  /** The most MillisBehindLatest seen, by partition id (`stream/shardId`). */
  readonly behindMax: ReadonlyMap<string, number>;
  /** Records read, by partition id and step. */
  readonly readByPartition: ReadonlyMap<string, readonly number[]>;
}): KinesisReport {
  const puts = r.steps.reduce<PutCounts>((sum, s) => addPuts(sum, s.puts ?? NO_PUTS), NO_PUTS);
  const ids = new Set<string>(Object.keys(puts.byShard));
  const prefix = `${r.stream}/`;
  for (const partition of [...r.readByPartition.keys(), ...r.behindMax.keys()]) if (partition.startsWith(prefix)) ids.add(partition.slice(prefix.length));
  const shardLoad = [...ids].sort().map((shard) => ({
    shard,
    put: r.steps.map((s) => s.puts?.byShard[shard] ?? 0),
    read: r.steps.map((_, k) => r.readByPartition.get(prefix + shard)?.[k] ?? 0),
    millisBehindMax: r.behindMax.get(prefix + shard) ?? null,
  }));
  return { stream: r.stream, aggregate: r.aggregate, shards: r.shards, puts, shardLoad, measured: measure(puts, r.steps, r.shards) };
}

/** The figures the sizing model takes: from all puts, and the shard skew at the highest step. */
export function measure(puts: PutCounts, steps: readonly StepResult[], shards: number): MeasuredKinesis {
  const top = [...steps].sort((a, b) => b.targetRate - a.targetRate)[0];
  const topPuts = top?.puts;
  const topTotal = topPuts?.userRecords ?? 0;
  const busiest = Math.max(0, ...Object.values(topPuts?.byShard ?? {}));
  const openShards = Math.max(1, shards);
  return {
    userRecordsPerRecord: puts.kinesisRecords > 0 ? round(puts.userRecords / puts.kinesisRecords, 3) : 1,
    recordBytes: puts.kinesisRecords > 0 ? round(puts.kinesisBytes / puts.kinesisRecords, 1) : 0,
    putUnitsPerUserRecord: puts.userRecords > 0 ? round(puts.putUnits / puts.userRecords, 4) : 0,
    hotShardFactor: topTotal > 0 ? round(Math.max(1, (busiest * openShards) / topTotal), 3) : 1,
    hotShardRate: top === undefined ? 0 : round(busiest / (top.durationMs / 1000), 1),
    atRate: top?.targetRate ?? 0,
    shards: openShards,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
