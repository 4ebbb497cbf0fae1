import type { SchedulerLike } from 'rxjs';
import type { Counters } from './metrics.js';
import type { Envelope, Position } from './envelope.js';
import type { ErrorCode } from './errors.js';

/** A record Sluice could not process, with everything needed to find, fix and replay it. */
export interface DeadLetter {
  readonly pipeline: string;
  /** Operator that rejected the record, such as `parse-json` or `window`. */
  readonly stage: string;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly partition: string;
  readonly position: Position;
  /** Original bytes: UTF-8 text, or `base64:` followed by the bytes when they are not text. */
  readonly raw: string | undefined;
  /** The record's key at its source (a Kafka key), so `sluice dlq replay` can give it back. */
  readonly key?: string;
  /** Event time when one had been assigned. */
  readonly time?: number;
  /** When the entry was written to the dead-letter output, ISO-8601 (the run's clock). */
  readonly at?: string;
}

/** Where records that leave the stream go. Both are synchronous hand-offs to an output queue. */
export interface Outlets {
  deadLetter(entry: DeadLetter): void;
  late(entry: DeadLetter): void;
}

/**
 * How one operator instance keeps its state across restarts. A stateful operator reads
 * `restored()` once when it starts, and calls `save` with a snapshot (plain data, copied: the
 * operator goes on changing its own) when a checkpoint barrier reaches it, before passing the
 * barrier on.
 */
export interface StateHandle {
  restored(): unknown;
  save(checkpointId: number, state: unknown): void;
}

/** The state handle of a run without checkpoints. */
export const NO_STATE: StateHandle = Object.freeze({ restored: () => undefined, save: () => undefined });

/**
 * A durable memo of what external calls answered (predictions), by a key of the request, kept
 * beside the checkpoints: records processed again after a restart — or in a replay or backfill
 * that opts in — get the answers already paid for instead of calling again. `record` resolves
 * once the entries survive the process being killed.
 */
export interface Journal {
  get(key: string): unknown;
  record(entries: readonly (readonly [string, unknown])[]): Promise<void>;
}

/** Opens journal `name` (one per endpoint); the same promise for the same name. */
export type JournalProvider = (name: string) => Promise<Journal>;

/**
 * What an operator instance knows about the partition it runs in. Time is injected through
 * `scheduler` (never read from `Date`), so virtual-time tests drive it.
 */
export interface PartitionContext {
  readonly pipeline: string;
  readonly partition: string;
  readonly scheduler: SchedulerLike;
  readonly counters: Counters;
  /** This operator instance's checkpointed state. */
  readonly state: StateHandle;
  /** Takes an event out of the stream into the dead-letter output, with a reason. */
  deadLetter(env: Envelope, stage: string, code: ErrorCode, reason: string): void;
  /** Takes a late event out of the stream: counted, and sent to the late output if configured. */
  late(env: Envelope, reason: string): void;
  /** Journals for external calls, when the run keeps them (checkpointed runs of the CLI). */
  readonly journals?: JournalProvider;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Original bytes as dead-letter text: UTF-8 when they decode, otherwise `base64:…`. */
export function rawText(raw: Envelope['raw']): string | undefined {
  if (raw === undefined || typeof raw === 'string') return raw;
  try {
    return utf8.decode(raw);
  } catch {
    return 'base64:' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  }
}

/** Builds the dead-letter entry for an envelope. */
export function deadLetterOf(pipeline: string, env: Envelope, stage: string, code: ErrorCode, reason: string): DeadLetter {
  const entry: DeadLetter = {
    pipeline,
    stage,
    code,
    reason,
    partition: env.partition,
    position: env.position,
    raw: rawText(env.raw),
    ...(typeof env.meta?.key === 'string' ? { key: env.meta.key } : {}),
  };
  return Number.isFinite(env.time) ? { ...entry, time: env.time } : entry;
}

export interface ContextOptions {
  readonly pipeline: string;
  readonly partition: string;
  readonly scheduler: SchedulerLike;
  readonly counters: Counters;
  readonly outlets: Outlets;
  readonly state?: StateHandle;
  readonly journals?: JournalProvider | undefined;
}

/** The context handed to every operator instance of one partition. */
export function createPartitionContext(options: ContextOptions): PartitionContext {
  const { pipeline, partition, scheduler, counters, outlets } = options;
  return {
    pipeline,
    partition,
    scheduler,
    counters,
    state: options.state ?? NO_STATE,
    ...(options.journals === undefined ? {} : { journals: options.journals }),
    deadLetter(env, stage, code, reason) {
      counters.inc('dead_lettered');
      outlets.deadLetter(deadLetterOf(pipeline, env, stage, code, reason));
    },
    late(env, reason) {
      counters.inc('late');
      outlets.late(deadLetterOf(pipeline, env, 'window', 'LATE', reason));
    },
  };
}

/** The same context with another operator's state handle. */
export function withState(ctx: PartitionContext, state: StateHandle): PartitionContext {
  return { ...ctx, state };
}
