/**
 * From measured steps to a recommendation: where the knee is, how many consumer tasks and
 * partitions a target rate needs, and what Kinesis would take for the same load.
 *
 * @module
 */
import type { Budget, MeasuredKinesis, Recommendation, StepResult } from './report.js';
import { fmt, sizeStream, type SizingInput, type SizingResult } from './sizing.js';

/** Share of a task's capacity planned for: room for a burst, a rebalance, a lost task. */
export const TASK_HEADROOM = 0.7;
/** A step is sustained when its put and read rates reach this share of the target. */
export const SUSTAINED_SHARE = 0.95;
/** … and the lag at its end is at most this much of a second's records. */
export const LAG_SECONDS = 1;

/**
 * Whether a step kept up: put and read rates within 5% of the target, no failed sends, and an
 * offset lag at its end of at most a second's worth of records (at least 100).
 *
 * @example isSustained({ targetRate: 1000, putRate: 998, readRate: 990, failed: 0, lagEnd: 40 }) // true
 */
export function isSustained(step: Pick<StepResult, 'targetRate' | 'putRate' | 'readRate' | 'failed' | 'lagEnd'>): boolean {
  const enough = SUSTAINED_SHARE * step.targetRate;
  return step.failed === 0 && step.putRate >= enough && step.readRate >= enough && step.lagEnd <= Math.max(100, step.targetRate * LAG_SECONDS);
}

/**
 * The budget lines a step exceeds.
 *
 * @example overBudget({ latency: { p99: 800 }, cpuCores: 0.5, rssMaxMb: 200 }, { p99LatencyMs: 500 }) // ['p99 800 ms > 500 ms']
 */
export function overBudget(step: Pick<StepResult, 'latency' | 'cpuCores' | 'rssMaxMb'>, budget: Budget | null): string[] {
  const over: string[] = [];
  if (budget === null) return over;
  if (budget.p99LatencyMs !== undefined && step.latency.p99 > budget.p99LatencyMs) over.push(`p99 ${fmt(step.latency.p99, 1)} ms > ${budget.p99LatencyMs} ms`);
  if (budget.cpuCores !== undefined && step.cpuCores > budget.cpuCores) over.push(`CPU ${fmt(step.cpuCores, 2)} cores > ${budget.cpuCores}`);
  if (budget.rssMb !== undefined && step.rssMaxMb > budget.rssMb) over.push(`RSS ${fmt(step.rssMaxMb, 0)} MB > ${budget.rssMb} MB`);
  return over;
}

/**
 * What the sizing model is asked for `rate` user records per second: records of `recordBytes`
 * spread evenly, or — measured on a Kinesis stream — the Kinesis records those user records
 * travelled in (fewer with aggregation, of their measured size), with the shards sized for the
 * busiest shard's measured share of the load (its factor over an even share is the peak factor:
 * shards sized for it, volume billed on the average).
 *
 * @example kinesisSizingInput(3000, 1024, undefined) // { rate: 3000, recordSize: 1024 }
 * @example kinesisSizingInput(3000, 512, { userRecordsPerRecord: 50, recordBytes: 25600, hotShardFactor: 1.2, … }) // { rate: 60, recordSize: 25600, peakFactor: 1.2 }
 */
export function kinesisSizingInput(rate: number, recordBytes: number, measured: MeasuredKinesis | undefined): SizingInput {
  if (measured === undefined || measured.recordBytes <= 0) return { rate, recordSize: Math.max(1, Math.round(recordBytes)) };
  return { rate: rate / Math.max(1, measured.userRecordsPerRecord), recordSize: Math.max(1, Math.round(measured.recordBytes)), peakFactor: Math.max(1, measured.hotShardFactor) };
}

/**
 * The recommendation for `targetRate` from the measured steps, and the Kinesis sizing for the
 * same load (records of `recordBytes`, one consumer application; with `kinesis`, the per-shard
 * figures a Kinesis run measured, see {@link kinesisSizingInput}).
 *
 * The rule: the knee is the highest step rate that was sustained and within budget, with every
 * step below it. One consumer task (1 vCPU: the pipeline's JavaScript runs on one thread) can
 * carry what the knee step read per CPU-second at full use, or the knee itself when the consumer
 * fell behind (or over budget) at the next step, whichever is lower; plan for 70% of that. A next
 * step whose load never reached the topic (put rate short) caps nothing: it measured the driver. Tasks = ⌈target ÷ per-task rate⌉.
 * Partitions = 2 × tasks: a consumer group gives each partition to one task, and twice as many
 * leaves room to double the tasks without adding partitions (which moves keys to other
 * partitions, and their window state with them).
 *
 * @example recommendFrom({ steps, targetRate: 4000, recordBytes: 300 }).tasks // 2
 */
export function recommendFrom(options: { readonly steps: readonly StepResult[]; readonly targetRate: number; readonly recordBytes: number; readonly kinesis?: MeasuredKinesis | undefined }): {
  readonly recommendation: Recommendation;
  readonly sizing: SizingResult;
} {
  const { targetRate } = options;
  const sorted = [...options.steps].sort((a, b) => a.targetRate - b.targetRate);
  let knee: StepResult | undefined;
  let broke: StepResult | undefined;
  for (const step of sorted) {
    if (step.sustained && step.overBudget.length === 0) knee = step;
    else {
      broke = step;
      break;
    }
  }
  const measured = options.kinesis;
  const sizing = sizeStream(kinesisSizingInput(targetRate, options.recordBytes, measured));
  const explanation: string[] = [];
  let perTaskRate: number | null = null;
  let tasks: number | null = null;
  let partitions: number | null = null;
  if (knee === undefined) {
    const first = sorted[0];
    explanation.push(
      first === undefined
        ? 'no step was measured'
        : `not even the lowest step (${fmt(first.targetRate, 0)} records/s) was sustained within budget${first.overBudget.length > 0 ? ` (${first.overBudget.join(', ')})` : ''}: start lower`,
    );
  } else {
    const perCore = knee.cpuCores > 0 ? knee.readRate / knee.cpuCores : Number.POSITIVE_INFINITY;
    // a step whose load never reached the topic (the driver or the broker fell short) says
    // nothing about the consumer: only a consumer that fell behind, or went over budget, caps a task
    const producerShort = broke !== undefined && broke.putRate < SUSTAINED_SHARE * broke.targetRate && broke.overBudget.length === 0;
    const capped = broke !== undefined && !producerShort;
    const ceiling = Math.min(capped ? knee.targetRate : Number.POSITIVE_INFINITY, perCore);
    perTaskRate = TASK_HEADROOM * ceiling;
    tasks = Math.max(1, Math.ceil(targetRate / perTaskRate));
    partitions = measured === undefined ? 2 * tasks : null;
    explanation.push(
      broke === undefined
        ? `every step up to ${fmt(knee.targetRate, 0)} records/s was sustained: the knee is above the tested rates`
        : producerShort
          ? `${fmt(broke.targetRate, 0)} records/s never reached the topic (put ${fmt(broke.putRate, 0)}/s: the load driver or the broker fell short), so the consumer's knee is above ${fmt(knee.targetRate, 0)} records/s`
          : `knee: ${fmt(knee.targetRate, 0)} records/s was sustained, ${fmt(broke.targetRate, 0)} was not${broke.overBudget.length > 0 ? ` (${broke.overBudget.join(', ')})` : ''}`,
    );
    explanation.push(
      `at ${fmt(knee.targetRate, 0)} records/s the consumer used ${fmt(knee.cpuCores, 2)} CPU cores: ${fmt(perCore, 0)} records per CPU-second` +
        (capped ? `; the knee caps a task at ${fmt(knee.targetRate, 0)} records/s` : ''),
    );
    explanation.push(`one task of 1 vCPU is planned at ${Math.round(TASK_HEADROOM * 100)}% of ${fmt(ceiling, 0)} = ${fmt(perTaskRate, 0)} records/s`);
    explanation.push(
      `Fargate tasks = ⌈${fmt(targetRate, 0)} ÷ ${fmt(perTaskRate, 0)}⌉ = ${tasks}` +
        (partitions === null ? '' : `; partitions = 2 × tasks = ${partitions} (room to double the tasks without repartitioning)`),
    );
  }
  // a shard is leased to one worker at a time: fewer shards than tasks leaves tasks idle
  const shards = measured === undefined ? sizing.recommendation.shards : Math.max(sizing.recommendation.shards, tasks ?? 1);
  if (measured === undefined) {
    explanation.push(
      `Kinesis for the same load (${fmt(options.recordBytes, 0)} B records, keys spread evenly): ${shards} ${shards === 1 ? 'shard' : 'shards'}, ${sizing.recommendation.mode} (${sizing.recommendation.reason})`,
    );
  } else {
    const carried = measured.userRecordsPerRecord > 1 ? `${fmt(measured.userRecordsPerRecord, 1)} user records per aggregated Kinesis record of ${fmt(measured.recordBytes, 0)} B` : `one record per event, ${fmt(measured.recordBytes, 0)} B each`;
    explanation.push(
      `Kinesis, from this run's puts: ${carried}, ${fmt(measured.putUnitsPerUserRecord, 3)} PUT units per event; the busiest of ${measured.shards} shards took ${fmt(measured.hotShardFactor, 2)}× an even share (${fmt(measured.hotShardRate, 0)} records/s at ${fmt(measured.atRate, 0)}/s)`,
    );
    explanation.push(
      `${fmt(targetRate, 0)} events/s = ${fmt(sizing.input.rate, 0)} Kinesis records/s, the busiest shard at ×${fmt(sizing.input.peakFactor, 2)}: ${sizing.shards} ${sizing.shards === 1 ? 'shard' : 'shards'} (${sizing.shardCapacity.binding} binds)` +
        (shards > sizing.shards ? `, raised to ${shards} so that each of the ${tasks} tasks holds a shard` : '') +
        `; ${sizing.recommendation.mode} (${sizing.recommendation.reason})`,
    );
  }
  return {
    recommendation: {
      kneeRate: knee?.targetRate ?? null,
      brokeAt: broke?.targetRate ?? null,
      targetRate,
      perTaskRate,
      tasks,
      partitions,
      kinesisShards: shards,
      kinesisMode: sizing.recommendation.mode,
      explanation,
    },
    sizing,
  };
}
