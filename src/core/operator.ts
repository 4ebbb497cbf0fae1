import { concatMap, from, map, of, type OperatorFunction } from 'rxjs';
import { batch, type Element } from './elements.js';
import type { Envelope } from './envelope.js';
import type { PartitionContext } from './context.js';
import { messageOf, type ErrorCode } from './errors.js';

/**
 * A per-partition operator: called once per partition with that partition's context, it returns
 * the RxJS operator that carries the partition's elements. State lives in the closure, so every
 * partition has its own.
 */
export type Operator<I, O> = (ctx: PartitionContext) => OperatorFunction<Element<I>, Element<O>>;

const READS: unique symbol = Symbol('sluice.reads');

/**
 * Declares that `operator` reads nothing of each event's value but the fields at `paths` (dotted
 * paths), and passes the value on unchanged. A pipeline whose operators after `parseJson` all
 * say so (and whose window aggregates do) has only those fields parsed: see `projectParse`.
 *
 * @example readsOnly(batchOperator(...), ['device.id'])
 */
export function readsOnly<I, O>(operator: Operator<I, O>, paths: readonly string[]): Operator<I, O> {
  return Object.assign(operator, { [READS]: [...paths] });
}

/** The field paths an operator declared with {@link readsOnly}; undefined: it may read anything. */
export function fieldsRead(operator: Operator<unknown, unknown>): readonly string[] | undefined {
  return (operator as { [READS]?: readonly string[] })[READS];
}

/** Transforms the events of one batch; runs once per batch, loops over the events itself. */
export type BatchTransform<I, O> = (events: Envelope<I>[]) => Envelope<O>[];

/**
 * Builds an operator from a synchronous batch transform. Control elements pass through in order;
 * every batch in gives exactly one batch out (possibly empty), which keeps in-flight accounting
 * simple.
 */
export function batchOperator<I, O>(setup: (ctx: PartitionContext) => BatchTransform<I, O>): Operator<I, O> {
  return (ctx) => {
    const transform = setup(ctx);
    return map((element: Element<I>): Element<O> => (element.kind === 'batch' ? batch(transform(element.events)) : element));
  };
}

/** What a stateful batch operator provides: its transform and a snapshot of its state. */
export interface StatefulTransform<I, O> {
  readonly transform: BatchTransform<I, O>;
  /** Plain-data copy of the state, taken when a checkpoint barrier reaches the operator. */
  snapshot(): unknown;
}

/**
 * Builds a stateful operator: `setup` receives the state restored from the last checkpoint
 * (`undefined` on a fresh start) and returns the transform plus a snapshot function, which runs
 * when a barrier passes, after every batch before the barrier and before any after it.
 */
export function statefulBatchOperator<I, O>(setup: (ctx: PartitionContext, restored: unknown) => StatefulTransform<I, O>): Operator<I, O> {
  return (ctx) => {
    const { transform, snapshot } = setup(ctx, ctx.state.restored());
    return map((element: Element<I>): Element<O> => {
      if (element.kind === 'batch') return batch(transform(element.events));
      if (element.kind === 'barrier') ctx.state.save(element.checkpointId, snapshot());
      return element;
    });
  };
}

/**
 * Builds an operator from an asynchronous batch transform. Batches are processed one at a time
 * in arrival order, and control elements wait behind the batches before them, so order holds.
 */
export function asyncBatchOperator<I, O>(
  setup: (ctx: PartitionContext) => (events: Envelope<I>[]) => Promise<Envelope<O>[]>,
): Operator<I, O> {
  return (ctx) => {
    const transform = setup(ctx);
    return concatMap((element: Element<I>) =>
      element.kind === 'batch' ? from(transform(element.events).then((events) => batch(events))) : of(element),
    );
  };
}

/** Marks a record that a guarded call rejected (and already dead-lettered). */
export const REJECTED: unique symbol = Symbol('rejected');

/**
 * Runs user code for one event; if it throws, the event goes to the dead-letter output with the
 * message, and the stream goes on. The one place operators turn exceptions into dead letters.
 */
export function guarded<T>(
  ctx: PartitionContext,
  env: Envelope,
  stage: string,
  code: ErrorCode,
  call: () => T,
): T | typeof REJECTED {
  try {
    return call();
  } catch (err) {
    ctx.deadLetter(env, stage, code, `${stage} failed: ${messageOf(err)}`);
    return REJECTED;
  }
}

/** Async twin of {@link guarded}. */
export async function guardedAsync<T>(
  ctx: PartitionContext,
  env: Envelope,
  stage: string,
  code: ErrorCode,
  call: () => Promise<T> | T,
): Promise<T | typeof REJECTED> {
  try {
    return await call();
  } catch (err) {
    ctx.deadLetter(env, stage, code, `${stage} failed: ${messageOf(err)}`);
    return REJECTED;
  }
}
