import { asyncScheduler, from, lastValueFrom, toArray, type SchedulerLike } from 'rxjs';
import { createPartitionContext, type DeadLetter, type PartitionContext } from '../../../src/core/context.js';
import type { Element } from '../../../src/core/elements.js';
import { envelope, type Envelope, type Position, type Raw } from '../../../src/core/envelope.js';
import { Counters } from '../../../src/core/metrics.js';
import type { Operator } from '../../../src/core/operator.js';

/** One partition's context with capturing outlets, as the runtime would build it. */
export interface Harness {
  readonly ctx: PartitionContext;
  readonly counters: Counters;
  readonly deadLetters: DeadLetter[];
  readonly late: DeadLetter[];
  /** Feeds `elements` through a fresh instance of `op` and collects everything it emits. */
  run<I, O>(op: Operator<I, O>, elements: readonly Element<I>[]): Promise<Element<O>[]>;
}

export function harness(options: { partition?: string; scheduler?: SchedulerLike } = {}): Harness {
  const deadLetters: DeadLetter[] = [];
  const late: DeadLetter[] = [];
  const counters = new Counters();
  const ctx = createPartitionContext({
    pipeline: 'test',
    partition: options.partition ?? 'p0',
    scheduler: options.scheduler ?? asyncScheduler,
    counters,
    outlets: { deadLetter: (entry) => deadLetters.push(entry), late: (entry) => late.push(entry) },
  });
  return {
    ctx,
    counters,
    deadLetters,
    late,
    run: (op, elements) => lastValueFrom(from(elements).pipe(op(ctx), toArray())),
  };
}

/** An envelope as a source makes it, at `{ file: 'in.jsonl', line }` of partition `p0`. */
export function env<T>(value: T, line = 1, options: { raw?: Raw; time?: number; key?: string; keyValue?: unknown; partition?: string; position?: Position } = {}): Envelope<T> {
  const raw = 'raw' in options ? options.raw : typeof value === 'string' ? value : JSON.stringify(value);
  const e = envelope<T>(value, options.partition ?? 'p0', options.position ?? { file: 'in.jsonl', line }, raw);
  if (options.time !== undefined) e.time = options.time;
  if (options.key !== undefined) e.key = options.key;
  if (options.keyValue !== undefined) e.keyValue = options.keyValue;
  return e;
}

/** Envelopes for values, numbered from line 1. */
export function envs<T>(values: readonly T[]): Envelope<T>[] {
  return values.map((value, i) => env(value, i + 1));
}

/**
 * The output in a comparable form: a batch becomes `{ batch: [values] }`, control elements stay
 * as they are, so order and kind of every element are asserted at once.
 */
export function shape<T>(elements: readonly Element<T>[]): unknown[] {
  return elements.map((element) => (element.kind === 'batch' ? { batch: element.events.map((e) => e.value) } : element));
}

/** All event values, in output order. */
export function values<T>(elements: readonly Element<T>[]): T[] {
  return elements.flatMap((element) => (element.kind === 'batch' ? element.events.map((e) => e.value) : []));
}

/** All events, in output order. */
export function events<T>(elements: readonly Element<T>[]): Envelope<T>[] {
  return elements.flatMap((element) => (element.kind === 'batch' ? element.events : []));
}

/** A promise with its settle functions, for driving async lookups in a chosen order. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Lets pending promise callbacks and I/O turns run until `condition` holds; fails (rather than
 * hangs) when it never does. Counts turns of the event loop, never time.
 */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}
