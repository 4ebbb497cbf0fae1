import { asyncBatchOperator, guarded, guardedAsync, REJECTED, type Operator } from '../core/operator.js';
import type { Envelope } from '../core/envelope.js';
import { ErrorCode, UserError } from '../core/errors.js';

/** Options for {@link enrich}. */
export interface EnrichOptions<I, R, O> {
  /** Looks up extra data for one event; may be synchronous or return a Promise. */
  readonly lookup: (value: I, env: Envelope<I>) => R | undefined | Promise<R | undefined>;
  /** Combines the event with what was found. */
  readonly merge: (value: I, found: R) => O;
  /** What to do when the lookup finds nothing: keep the event unchanged (`pass`, the default
   * when `O` can hold it) or send it to the dead-letter output. */
  readonly onMissing?: 'pass' | 'dead-letter';
  /** Lookups in flight at once within a batch (default 16). */
  readonly concurrency?: number;
}

/**
 * Adds data from a lookup (a table, a cache, a service) to each event. Lookups of one batch run
 * concurrently up to `concurrency`; output order is input order. A lookup that throws or
 * rejects dead-letters its event with the reason.
 *
 * @example s.enrich({ lookup: (c) => users.get(c.userId), merge: (c, u) => ({ ...c, plan: u.plan }) })
 * @see map
 */
export function enrich<I, R, O>(options: EnrichOptions<I, R, O>): Operator<I, O> {
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `enrich concurrency must be a positive integer, got ${concurrency}`);
  }
  const onMissing = options.onMissing ?? 'pass';
  return asyncBatchOperator((ctx) => async (events) => {
    const found: unknown[] = new Array(events.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < events.length) {
        const i = next++;
        const env = events[i] as Envelope<I>;
        found[i] = await guardedAsync(ctx, env, 'enrich', ErrorCode.LOOKUP_FAILED, () => options.lookup(env.value, env));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));

    const out: Envelope<O>[] = [];
    for (let i = 0; i < events.length; i++) {
      const env = events[i] as Envelope<I>;
      const result = found[i];
      if (result === REJECTED) continue;
      if (result === undefined || result === null) {
        if (onMissing === 'dead-letter') {
          ctx.deadLetter(env, 'enrich', ErrorCode.LOOKUP_FAILED, 'lookup found nothing');
          continue;
        }
        out.push(env as unknown as Envelope<O>);
        continue;
      }
      const merged = guarded(ctx, env, 'enrich', ErrorCode.OPERATOR_FAILED, () => options.merge(env.value, result as R));
      if (merged === REJECTED) continue;
      (env as unknown as Envelope<O>).value = merged;
      out.push(env as unknown as Envelope<O>);
    }
    return out;
  });
}
