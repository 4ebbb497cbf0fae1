import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { batch, END, watermark, type Element } from '../../../src/core/elements.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { enrich } from '../../../src/operators/enrich.js';
import { deferred, env, envs, harness, shape, until, type Deferred } from './harness.js';

interface Click {
  readonly user: string;
}
interface User {
  readonly plan: string;
}

const users = new Map<string, User>([
  ['u1', { plan: 'free' }],
  ['u2', { plan: 'pro' }],
]);
const merge = (c: Click, u: User) => ({ ...c, plan: u.plan });

/** Async lookups that stay pending until the test settles them, in any order. */
class Lookups {
  readonly pending = new Map<string, Deferred<User | undefined>>();
  readonly started: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  readonly lookup = (c: Click): Promise<User | undefined> => {
    const d = deferred<User | undefined>();
    this.pending.set(c.user, d);
    this.started.push(c.user);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return d.promise.finally(() => this.inFlight--);
  };

  resolve(user: string, found: User | undefined = { plan: `plan-${user}` }): void {
    const d = this.pending.get(user);
    if (d === undefined) throw new Error(`no pending lookup for ${user}`);
    this.pending.delete(user);
    d.resolve(found);
  }

  reject(user: string, reason: unknown): void {
    const d = this.pending.get(user);
    if (d === undefined) throw new Error(`no pending lookup for ${user}`);
    this.pending.delete(user);
    d.reject(reason);
  }
}

describe('enrich', () => {
  it('merges what a synchronous lookup finds', async () => {
    const h = harness();
    const out = await h.run(enrich({ lookup: (c: Click) => users.get(c.user), merge }), [batch(envs<Click>([{ user: 'u1' }, { user: 'u2' }]))]);
    expect(shape(out)).toEqual([{ batch: [{ user: 'u1', plan: 'free' }, { user: 'u2', plan: 'pro' }] }]);
  });

  it('passes control elements through in order', async () => {
    const h = harness();
    const out = await h.run(enrich({ lookup: (c: Click) => users.get(c.user), merge }), [
      watermark(1),
      batch(envs<Click>([{ user: 'u1' }])),
      watermark(2),
      { kind: 'barrier', checkpointId: 3 },
      END,
    ]);
    expect(shape(out)).toEqual([watermark(1), { batch: [{ user: 'u1', plan: 'free' }] }, watermark(2), { kind: 'barrier', checkpointId: 3 }, END]);
  });

  it('keeps input order when async lookups finish out of order, with at most `concurrency` in flight', async () => {
    const h = harness();
    const lookups = new Lookups();
    const names = ['a', 'b', 'c', 'd', 'e'];
    const result = lastValueFrom(
      from<Element<Click>[]>([batch(envs(names.map((user) => ({ user })))), END]).pipe(enrich({ lookup: lookups.lookup, merge, concurrency: 2 })(h.ctx), toArray()),
    );

    await until(() => lookups.started.length === 2, 'two lookups started');
    expect(lookups.started).toEqual(['a', 'b']);
    lookups.resolve('b');
    await until(() => lookups.started.length === 3, 'a third lookup started');
    expect(lookups.started).toEqual(['a', 'b', 'c']);
    lookups.resolve('c');
    await until(() => lookups.started.length === 4, 'a fourth lookup started');
    lookups.resolve('d');
    await until(() => lookups.started.length === 5, 'the last lookup started');
    lookups.resolve('e');
    // 'a', the first, finishes last
    lookups.resolve('a');

    const out = await result;
    expect(shape(out)).toEqual([{ batch: names.map((user) => ({ user, plan: `plan-${user}` })) }, END]);
    expect(lookups.maxInFlight).toBe(2);
  });

  it('finishes one batch before starting the lookups of the next, and holds control elements behind it', async () => {
    const h = harness();
    const lookups = new Lookups();
    const seen: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      from<Element<Click>[]>([batch(envs([{ user: 'a' }])), watermark(10), batch(envs([{ user: 'b' }])), END])
        .pipe(enrich({ lookup: lookups.lookup, merge, concurrency: 4 })(h.ctx))
        .subscribe({ next: (element) => seen.push(...shape([element])), error: reject, complete: resolve });
    });
    await until(() => lookups.started.length === 1, 'first batch lookup started');
    // let any further work run: nothing of batch two may start while batch one is pending
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(lookups.started).toEqual(['a']);
    expect(seen).toEqual([]);
    lookups.resolve('a');
    await until(() => lookups.started.length === 2, 'second batch lookup started');
    expect(seen).toEqual([{ batch: [{ user: 'a', plan: 'plan-a' }] }, watermark(10)]);
    lookups.resolve('b');
    await done;
    expect(seen).toEqual([{ batch: [{ user: 'a', plan: 'plan-a' }] }, watermark(10), { batch: [{ user: 'b', plan: 'plan-b' }] }, END]);
  });

  it('dead-letters events whose lookup rejects or throws, with LOOKUP_FAILED and the message; the rest go on', async () => {
    const h = harness();
    const lookup = (c: Click): User | Promise<User> => {
      if (c.user === 'throws') throw new Error('table offline');
      if (c.user === 'rejects') return Promise.reject(new Error('timeout after 3 tries'));
      return Promise.resolve({ plan: 'p' });
    };
    const out = await h.run(enrich({ lookup, merge }), [
      batch([env<Click>({ user: 'ok1' }, 1), env<Click>({ user: 'throws' }, 2), env<Click>({ user: 'rejects' }, 3, { time: 99 }), env<Click>({ user: 'ok2' }, 4)]),
    ]);
    expect(shape(out)).toEqual([{ batch: [{ user: 'ok1', plan: 'p' }, { user: 'ok2', plan: 'p' }] }]);
    expect(h.deadLetters).toEqual([
      expect.objectContaining({ stage: 'enrich', code: ErrorCode.LOOKUP_FAILED, reason: 'enrich failed: table offline', position: { file: 'in.jsonl', line: 2 }, raw: '{"user":"throws"}' }),
      expect.objectContaining({ stage: 'enrich', code: ErrorCode.LOOKUP_FAILED, reason: 'enrich failed: timeout after 3 tries', position: { file: 'in.jsonl', line: 3 }, time: 99 }),
    ]);
  });

  it('a rejection among concurrent lookups dead-letters only its own event', async () => {
    const h = harness();
    const lookups = new Lookups();
    const result = lastValueFrom(
      from<Element<Click>[]>([batch(envs([{ user: 'a' }, { user: 'b' }, { user: 'c' }]))]).pipe(enrich({ lookup: lookups.lookup, merge, concurrency: 3 })(h.ctx), toArray()),
    );
    await until(() => lookups.started.length === 3, 'all lookups started');
    lookups.reject('b', new Error('boom'));
    lookups.resolve('c');
    lookups.resolve('a');
    expect(shape(await result)).toEqual([{ batch: [{ user: 'a', plan: 'plan-a' }, { user: 'c', plan: 'plan-c' }] }]);
    expect(h.deadLetters.map((d) => [d.code, d.reason, d.position['line']])).toEqual([[ErrorCode.LOOKUP_FAILED, 'enrich failed: boom', 2]]);
  });

  it('keeps events the lookup finds nothing for unchanged by default (onMissing: pass)', async () => {
    const h = harness();
    const out = await h.run(enrich({ lookup: (c: Click) => users.get(c.user), merge }), [batch(envs<Click>([{ user: 'u1' }, { user: 'nobody' }]))]);
    expect(shape(out)).toEqual([{ batch: [{ user: 'u1', plan: 'free' }, { user: 'nobody' }] }]);
    expect(h.deadLetters).toEqual([]);
  });

  it('dead-letters events the lookup finds nothing for with onMissing: dead-letter', async () => {
    const h = harness();
    const out = await h.run(enrich({ lookup: (async (c: Click) => users.get(c.user) ?? null) as (c: Click) => Promise<User | undefined>, merge, onMissing: 'dead-letter' }), [
      batch(envs<Click>([{ user: 'nobody' }, { user: 'u2' }])),
    ]);
    expect(shape(out)).toEqual([{ batch: [{ user: 'u2', plan: 'pro' }] }]);
    expect(h.deadLetters).toEqual([
      {
        pipeline: 'test',
        stage: 'enrich',
        code: ErrorCode.LOOKUP_FAILED,
        reason: 'lookup found nothing',
        partition: 'p0',
        position: { file: 'in.jsonl', line: 1 },
        raw: '{"user":"nobody"}',
      },
    ]);
  });

  it('dead-letters events whose merge throws', async () => {
    const h = harness();
    const out = await h.run(
      enrich({
        lookup: (c: Click) => users.get(c.user),
        merge: (c: Click, u: User) => {
          if (u.plan === 'pro') throw new Error('pro users are merged elsewhere');
          return { ...c, plan: u.plan };
        },
      }),
      [batch(envs<Click>([{ user: 'u2' }, { user: 'u1' }]))],
    );
    expect(shape(out)).toEqual([{ batch: [{ user: 'u1', plan: 'free' }] }]);
    expect(h.deadLetters.map((d) => [d.stage, d.code, d.reason])).toEqual([['enrich', ErrorCode.OPERATOR_FAILED, 'enrich failed: pro users are merged elsewhere']]);
  });

  it('rejects a concurrency that is not a positive integer', () => {
    for (const concurrency of [0, -1, 1.5]) {
      expect(() => enrich({ lookup: () => undefined, merge: (a: unknown) => a, concurrency })).toThrow(UserError);
    }
  });
});
