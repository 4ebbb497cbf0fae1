/**
 * The load driver: generates events (src/ingest/generator), stamps each with the moment it is
 * due, and produces them on an open-loop schedule. It runs in a process of its own (see
 * `driver-process.ts`), so that the CPU and memory measured in the load test's own process are
 * the consumer's, and a busy consumer cannot delay the sender's clock.
 *
 * @module
 */
import { isUserError, messageOf } from '../core/errors.js';
import { generatorConfig, PartitionGenerator, type Workload } from '../ingest/generator/index.js';
import { OpenLoopSchedule, type Step } from './schedule.js';
import type { LoadProducer, LoadRecord, PutCounts } from './service.js';
import { stampEvent } from './stamp.js';

/** What the driver produces. */
export interface DriverPlan {
  readonly workload: Workload;
  readonly seed: number;
  /** Bytes each event is padded to (events already larger stay as they are). */
  readonly recordSize: number;
  /** The event field whose value is the record key (the partition key). */
  readonly keyField: string;
  readonly steps: readonly Step[];
}

/** What the driver did in one step, once every send of the step has been answered. */
export interface StepSendStats {
  readonly step: number;
  /** Records the schedule asked for. */
  readonly intended: number;
  /** Records handed to the producer. */
  readonly sent: number;
  /** Records the broker acknowledged. */
  readonly acked: number;
  /** Of those, acknowledged within the step's own time window. */
  readonly ackedInWindow: number;
  /** Records whose send failed, and of those the ones refused for throttling or quota. */
  readonly failed: number;
  readonly throttled: number;
  readonly firstError: string | null;
  /** Value and key bytes of the acknowledged records. */
  readonly valueBytes: number;
  readonly keyBytes: number;
  /** The longest a due record waited for the sender (ms): open-loop sending falling behind. */
  readonly maxSendDelayMs: number;
  /** Kinesis: the put results of the step's acknowledged records, counted; null for Kafka. */
  readonly puts: PutCounts | null;
}

/** Messages from the driver to whoever runs it. */
export type DriverMessage =
  | { readonly type: 'ready'; readonly partitions: number }
  | { readonly type: 'warmed' }
  | { readonly type: 'progress'; readonly at: number; readonly sent: number; readonly acked: number; readonly failed: number }
  | { readonly type: 'step'; readonly stats: StepSendStats }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string };

/** How often the sender wakes up; also the longest a record waits in the sender when it keeps up. */
export const TICK_MS = 5;
/** Records per produce request at most. */
const MAX_BATCH = 5000;
/** Records sent but not yet answered beyond which the sender waits (bounded memory). */
const MAX_OUTSTANDING = 100_000;
const PROGRESS_MS = 250;
const THROTTLED = /throttl|quota/i;

/** The epoch-ms clock the driver and the consumer side share (both on this machine). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

interface StepState {
  intended: number;
  sent: number;
  acked: number;
  ackedInWindow: number;
  failed: number;
  throttled: number;
  firstError: string | null;
  valueBytes: number;
  keyBytes: number;
  maxSendDelayMs: number;
  puts: PutCounts | null;
  outstanding: number;
  reported: boolean;
}

/**
 * Runs the plan from `startAt` (epoch ms) on `producer`, reporting through `emit`; resolves when
 * every step has been reported (or `signal` stopped it: what is due is no longer sent, what was
 * sent is still awaited).
 *
 * @example await drive({ plan, producer, startAt: epochNow() + 100, emit: (m) => process.send?.(m) })
 */
export async function drive(options: {
  readonly plan: DriverPlan;
  readonly producer: LoadProducer;
  readonly startAt: number;
  readonly emit: (message: DriverMessage) => void;
  readonly signal?: AbortSignal;
}): Promise<void> {
  const { plan, producer, emit } = options;
  const schedule = new OpenLoopSchedule(options.startAt, plan.steps);
  const generator = PartitionGenerator.start(generatorConfig({ workload: plan.workload, seed: plan.seed }), 0);
  const keyPath = plan.keyField.split('.');
  const states: StepState[] = schedule.counts.map((intended) => ({
    intended,
    sent: 0,
    acked: 0,
    ackedInWindow: 0,
    failed: 0,
    throttled: 0,
    firstError: null,
    valueBytes: 0,
    keyBytes: 0,
    maxSendDelayMs: 0,
    puts: null,
    outstanding: 0,
    reported: false,
  }));
  let step = 0;
  let index = 0;
  /** Records generated and not yet answered (waiting or in flight). */
  let outstanding = 0;
  /** Records due and generated, waiting for the request in flight to be answered. */
  let waiting: { record: LoadRecord; step: number; sentAt: number }[] = [];
  let inFlight = false;
  const totals = { sent: 0, acked: 0, failed: 0 };
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));

  const report = (): void => {
    // a step is reported once it is over and all its records are answered, in order
    for (let k = 0; k < states.length; k++) {
      const s = states[k] as StepState;
      if (s.reported) continue;
      if (k >= step || s.outstanding > 0) return;
      s.reported = true;
      const { outstanding: _o, reported: _r, ...stats } = s;
      emit({ type: 'step', stats: { step: k, ...stats } });
    }
    if (step >= states.length) finished();
  };

  /**
   * Sends what is waiting as one request, unless one is in flight: records due meanwhile wait
   * for it and go together in the next, so requests grow with the rate and the broker's
   * response time instead of queueing up (one request at a time keeps the idempotent
   * producer's order; a record's wait is part of its latency all the same).
   */
  const pump = (): void => {
    if (inFlight || waiting.length === 0) return;
    // a request holds one step's records, so that what the broker answers for it is that step's
    const first = (waiting[0] as { step: number }).step;
    let size = 0;
    while (size < waiting.length && size < MAX_BATCH && (waiting[size] as { step: number }).step === first) size++;
    const batch = waiting.slice(0, size);
    waiting = waiting.slice(batch.length);
    inFlight = true;
    const now = epochNow();
    const perStep = new Map<number, { n: number; valueBytes: number; keyBytes: number }>();
    for (const { record, step: k, sentAt } of batch) {
      const s = states[k] as StepState;
      s.maxSendDelayMs = Math.max(s.maxSendDelayMs, now - sentAt);
      s.sent++;
      let acc = perStep.get(k);
      if (acc === undefined) perStep.set(k, (acc = { n: 0, valueBytes: 0, keyBytes: 0 }));
      acc.n++;
      acc.valueBytes += Buffer.byteLength(record.value);
      acc.keyBytes += Buffer.byteLength(record.key);
    }
    totals.sent += batch.length;
    producer.send(batch.map((b) => b.record)).then(
      (puts) => {
        const at = epochNow();
        if (puts !== undefined) (states[first] as StepState).puts = addPuts((states[first] as StepState).puts, puts);
        for (const [k, acc] of perStep) {
          const s = states[k] as StepState;
          s.acked += acc.n;
          if (at < (schedule.starts[k + 1] as number)) s.ackedInWindow += acc.n;
          s.valueBytes += acc.valueBytes;
          s.keyBytes += acc.keyBytes;
        }
        totals.acked += batch.length;
      },
      (err: unknown) => {
        for (const [k, acc] of perStep) {
          const s = states[k] as StepState;
          s.failed += acc.n;
          if (THROTTLED.test(messageOf(err))) s.throttled += acc.n;
          s.firstError ??= messageOf(err);
        }
        totals.failed += batch.length;
      },
    ).finally(() => {
      for (const [k, acc] of perStep) (states[k] as StepState).outstanding -= acc.n;
      outstanding -= batch.length;
      inFlight = false;
      pump();
      report();
    });
  };

  const keyOf = (line: string): string => {
    let value: unknown = JSON.parse(line);
    for (const part of keyPath) value = (value as Record<string, unknown> | null)?.[part];
    return value === undefined || value === null ? '' : String(value);
  };

  /** Generates every record due by now (the schedule's, not the sender's, idea of "due"). */
  const tick = (): void => {
    if (options.signal?.aborted) step = states.length;
    const due = schedule.dueBy(epochNow());
    while (step < states.length && outstanding < MAX_OUTSTANDING) {
      const s = states[step] as StepState;
      if (index >= s.intended) {
        // the step is all generated; the next one starts when the schedule gets there
        if (step + 1 < states.length && step + 1 > due.step) break;
        step++;
        index = 0;
        continue;
      }
      if (step === due.step && index >= due.count) break;
      const sentAt = schedule.dueAt(step, index);
      const { line } = generator.next();
      waiting.push({ record: { key: keyOf(line), value: stampEvent(line, { sentAt, step }, plan.recordSize) }, step, sentAt });
      s.outstanding++;
      outstanding++;
      index++;
    }
    pump();
    report();
    if (step < states.length) setTimeout(tick, TICK_MS);
  };

  const progress = setInterval(() => emit({ type: 'progress', at: epochNow(), ...totals }), PROGRESS_MS);
  setTimeout(tick, Math.max(0, options.startAt - epochNow()));
  try {
    await done;
  } finally {
    clearInterval(progress);
    emit({ type: 'progress', at: epochNow(), ...totals });
  }
}

/**
 * Sends one warm-up record to every partition, stamped with step `plan.steps.length` (one past
 * the last, so the consumer side tells them apart): once the pipeline has one from each, every
 * partition is being fetched and the measured load can start.
 *
 * @example await warmUp(plan, producer)
 */
export async function warmUp(plan: DriverPlan, producer: LoadProducer): Promise<void> {
  const generator = PartitionGenerator.start(generatorConfig({ workload: plan.workload, seed: plan.seed + 1 }), 0);
  const sentAt = epochNow();
  const records = Array.from({ length: producer.partitions }, (_, partition) => ({
    key: `warm-up-${partition}`,
    value: stampEvent(generator.next().line, { sentAt, step: plan.steps.length }, 0),
    partition,
  }));
  await producer.send(records);
}

/**
 * Two sends' put counts added up.
 *
 * @example addPuts(null, counts) // counts
 */
export function addPuts(a: PutCounts | null, b: PutCounts): PutCounts {
  if (a === null) return { ...b, byShard: { ...b.byShard } };
  const byShard: Record<string, number> = { ...a.byShard };
  for (const [shard, n] of Object.entries(b.byShard)) byShard[shard] = (byShard[shard] ?? 0) + n;
  return {
    putCalls: a.putCalls + b.putCalls,
    kinesisRecords: a.kinesisRecords + b.kinesisRecords,
    aggregatedRecords: a.aggregatedRecords + b.aggregatedRecords,
    userRecords: a.userRecords + b.userRecords,
    throttled: a.throttled + b.throttled,
    retried: a.retried + b.retried,
    putUnits: a.putUnits + b.putUnits,
    kinesisBytes: a.kinesisBytes + b.kinesisBytes,
    byShard,
  };
}

/** One line for an error the driver cannot go on after. */
export function driverError(err: unknown): DriverMessage {
  return { type: 'error', message: isUserError(err) ? err.message : `load driver failed: ${messageOf(err)}` };
}
