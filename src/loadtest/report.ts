/**
 * What a load test measured, as `report.json` holds it and `report.html` draws it.
 *
 * @module
 */
import type { Percentiles } from './latency.js';
import type { PutCounts } from './service.js';
import type { SizingResult } from './sizing.js';

/** Limits a load case sets for the consumer; a step over any of them is not within budget. */
export interface Budget {
  /** End-to-end p99 latency, ms. */
  readonly p99LatencyMs?: number | undefined;
  /** Consumer CPU, in cores (CPU seconds per second). */
  readonly cpuCores?: number | undefined;
  /** Consumer resident memory, MB. */
  readonly rssMb?: number | undefined;
}

/** One step of the load, measured. */
export interface StepResult {
  readonly step: number;
  /** Records per second asked for. */
  readonly targetRate: number;
  readonly durationMs: number;
  /** Producer side. */
  readonly intended: number;
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly throttled: number;
  readonly firstError: string | null;
  /** Records acknowledged within the step's window, per second. */
  readonly putRate: number;
  /** The longest a due record waited for the sender, ms. */
  readonly maxSendDelayMs: number;
  /** Mean value and key bytes of the acknowledged records. */
  readonly meanValueBytes: number;
  readonly meanKeyBytes: number;
  /** Consumer side: records of this step the pipeline read (whenever it read them). */
  readonly read: number;
  /** Records the pipeline read within the step's window, per second (any step's records). */
  readonly readRate: number;
  /** Offset lag (records) at the end of the step's window, and the most seen within it. */
  readonly lagEnd: number;
  readonly lagMax: number;
  /** Latency from the moment each record was due to the pipeline having it, ms. */
  readonly latency: Percentiles;
  /** Consumer process CPU over the window, in cores, and its largest resident and heap memory, MB. */
  readonly cpuCores: number;
  readonly rssMaxMb: number;
  readonly heapMaxMb: number;
  /** Put and read rates within 5% of the target, no failed sends, lag not left behind. */
  readonly sustained: boolean;
  /** Budget lines the step exceeded (empty: within budget, or no budget). */
  readonly overBudget: readonly string[];
  /** Kinesis: the put results of the step's acknowledged records, counted (absent for Kafka). */
  readonly puts?: PutCounts | undefined;
  /** Kinesis: MillisBehindLatest of the shard furthest behind, the most within the window and at its end, ms. */
  readonly millisBehindMax?: number | undefined;
  readonly millisBehindEnd?: number | undefined;
}

/** One sample of the run over time. */
export interface Sample {
  /** Seconds since the first step started. */
  readonly t: number;
  /** The step in progress (−1 before, steps.length while draining). */
  readonly step: number;
  readonly targetRate: number;
  readonly putRate: number;
  readonly readRate: number;
  readonly lag: number;
  /** Latency of the records that arrived in this interval, ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly cpuCores: number;
  readonly rssMb: number;
  readonly heapMb: number;
  /** Kinesis: MillisBehindLatest of the shard furthest behind, ms. */
  readonly millisBehindLatest?: number | undefined;
}

/** The recommendation and the rule it follows. */
export interface Recommendation {
  /** Highest target rate sustained, with every lower step, within budget; null: none was. */
  readonly kneeRate: number | null;
  /** The first step rate that was not, if any. */
  readonly brokeAt: number | null;
  /** The rate the recommendation is for. */
  readonly targetRate: number;
  /** Records/s one consumer task of 1 vCPU is planned to carry (70% of what it managed). */
  readonly perTaskRate: number | null;
  readonly tasks: number | null;
  readonly partitions: number | null;
  /** Kinesis, for the same load: shards and mode from the sizing model (a Kinesis target: from its measured per-shard load, and at least one shard per task). */
  readonly kinesisShards: number;
  readonly kinesisMode: 'provisioned' | 'on-demand';
  /** The rule, in words, with this run's numbers. */
  readonly explanation: readonly string[];
}

/** What a Kinesis run measured of the stream, beyond the steps. */
export interface KinesisReport {
  readonly stream: string;
  readonly aggregate: boolean;
  /** Open shards when the run started. */
  readonly shards: number;
  /** The steps' put counts added up. */
  readonly puts: PutCounts;
  /** Per shard: user records put per step (from the put results' ShardId), read per step, and the most MillisBehindLatest seen (null: never reported). */
  readonly shardLoad: readonly { readonly shard: string; readonly put: readonly number[]; readonly read: readonly number[]; readonly millisBehindMax: number | null }[];
  /** What the sizing recommendation takes from this run. */
  readonly measured: MeasuredKinesis;
}

/** The per-shard figures a Kinesis run measured, as the sizing model takes them. */
export interface MeasuredKinesis {
  /** User records per Kinesis record (1 without aggregation). */
  readonly userRecordsPerRecord: number;
  /** Mean bytes of a Kinesis record as put (data and partition key; aggregated records whole). */
  readonly recordBytes: number;
  /** PUT payload units per user record. */
  readonly putUnitsPerUserRecord: number;
  /** At the highest step: the busiest shard's user records ÷ the mean over the open shards (≥ 1). */
  readonly hotShardFactor: number;
  /** The busiest shard's user records per second at the highest step, and that step's rate. */
  readonly hotShardRate: number;
  readonly atRate: number;
  readonly shards: number;
}

/** The whole report. */
export interface LoadReport {
  readonly version: 1;
  readonly generatedAt: string;
  readonly case: string | null;
  readonly target: string;
  readonly topicPartitions: number;
  readonly workload: string;
  readonly seed: number;
  readonly keyField: string;
  readonly recordSize: number;
  readonly pipeline: string;
  readonly budget: Budget | null;
  readonly steps: readonly StepResult[];
  readonly timeline: readonly Sample[];
  /** Records read per partition, by step. */
  readonly partitionLoad: readonly { readonly partition: string; readonly records: readonly number[] }[];
  readonly totals: {
    readonly sent: number;
    readonly acked: number;
    readonly failed: number;
    readonly read: number;
    readonly foreign: number;
    readonly resultsOut: number;
    readonly deadLettered: number;
    readonly late: number;
    /** Latencies below zero (clock steps), recorded as 0. */
    readonly negativeLatencies: number;
    /** Partitions that delivered a warm-up record before the load started (not counted above). */
    readonly warmUpPartitions: number;
  };
  /** Every acknowledged record was read by the pipeline before the run stopped. */
  readonly drained: boolean;
  /** Monthly Kinesis cost at each step's rate with the measured record size. */
  readonly costByRate: readonly { readonly rate: number; readonly shards: number; readonly provisioned: number; readonly onDemand: number }[];
  /** The sizing model at the recommendation's target rate. */
  readonly sizing: SizingResult;
  readonly recommendation: Recommendation;
  /** A Kinesis target's puts and per-shard load (absent for Kafka). */
  readonly kinesis?: KinesisReport | undefined;
}
