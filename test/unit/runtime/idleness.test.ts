import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import type { Observable } from 'rxjs';
import { batch, watermark, END, type Element } from '../../../src/core/elements.js';
import type { Envelope } from '../../../src/core/envelope.js';
import { canonicalKey } from '../../../src/core/keys.js';
import { createPartitionContext, type PartitionContext } from '../../../src/core/context.js';
import { Counters } from '../../../src/core/metrics.js';
import { WindowStage } from '../../../src/windows/window-stage.js';
import { CompositeAggregate } from '../../../src/windows/aggregates/composite.js';
import { count } from '../../../src/windows/aggregates/index.js';
import { tumbling } from '../../../src/windows/assigners.js';
import { windowed } from '../../../src/runtime/windowed.js';

// Idleness is the one wall-clock input to event time. These tests drive it in virtual time.

function event(partition: string, key: string, time: number, wm: number): Envelope {
  return { value: { k: key }, time, wm, key: canonicalKey(key), keyValue: { k: key }, partition, position: {}, raw: undefined };
}

type Tagged = readonly [string, Element<unknown>];

/** What the stage emits, readable in marbles: `r:k@start=n` for results, `w:T` for watermarks. */
function describe_(element: Element<unknown>): string {
  if (element.kind === 'watermark') return `w:${element.time}`;
  if (element.kind !== 'batch') return element.kind;
  return element.events.map((e) => {
    const r = e.value as { key: { k: string }; windowStart: number; n: number; revision: number };
    return `r:${r.key.k}@${r.windowStart}=${r.n}/${r.revision}`;
  }).join(',');
}

function stageFor(scheduler: TestScheduler, partitions: string[], idleTimeout: number | undefined, onLate: (time: number) => void = () => undefined): WindowStage {
  const contexts = new Map<string, PartitionContext>();
  const counters = new Counters();
  for (const p of partitions) {
    contexts.set(p, createPartitionContext({ pipeline: 't', partition: p, scheduler, counters, outlets: { deadLetter: () => undefined, late: (entry) => onLate(entry.time ?? Number.NaN) } }));
  }
  return new WindowStage({
    pipeline: 't',
    assigner: tumbling(10),
    aggregate: new CompositeAggregate({ n: count() }, { needsMerge: true }),
    allowedLateness: 0,
    idleTimeout,
    results: 'combined',
    partitions: contexts,
    now: () => scheduler.now(),
  });
}

describe('idle partitions (virtual time)', () => {
  it('holds combined results while a silent partition is not yet idle, then releases them with its data', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const stage = stageFor(scheduler, ['p1', 'p2'], 40);
      // p2 reports one event at t=7 and then falls silent; p1 moves on to t=100 at frame 5
      const input = cold<Tagged>('(aA) 3ms (bB)', {
        a: ['p2', batch([event('p2', 'x', 7, Number.NEGATIVE_INFINITY)])],
        A: ['p2', watermark(6)],
        b: ['p1', batch([event('p1', 'x', 3, Number.NEGATIVE_INFINITY), event('p1', 'x', 100, 2)])],
        B: ['p1', watermark(99)],
      });
      const out = windowed({ stage, input: input as Observable<Tagged>, release: () => undefined, scheduler, idleTimeout: 40 });
      // At frame 7 the minimum moves per event: to p1's 2 (stamped on its second event), then to
      // p2's 6. p2 was last heard at frame 0: idle from frame 40 (checks every 10 ms). Then the
      // minimum is p1's 99; p2 follows it, its window [0,10) fires, and the combined count is 2.
      expectObservable(out.pipe(mapDescribe()), '^ 100ms !').toBe('7ms (yx) 29ms (rw)', { y: 'w:2', x: 'w:6', r: 'r:x@0=2/0', w: 'w:99' });
    });
  });

  it('never advances time when every remaining partition is idle (Flink holds the watermark)', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const stage = stageFor(scheduler, ['p1'], 20);
      const input = cold<Tagged>('a', { a: ['p1', batch([event('p1', 'x', 5, Number.NEGATIVE_INFINITY)])] });
      const out = windowed({ stage, input: input as Observable<Tagged>, release: () => undefined, scheduler, idleTimeout: 20 });
      expectObservable(out.pipe(mapDescribe()), '^ 200ms !').toBe('');
    });
  });

  it('takes a partition back into the minimum when it speaks again, and treats its old events as late', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const late: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const stage = stageFor(scheduler, ['p1', 'p2'], 20, (t) => late.push(t));
      const input = cold<Tagged>('(aA) (bB) 30ms (cC) d', {
        a: ['p2', batch([event('p2', 'x', 1, Number.NEGATIVE_INFINITY)])],
        A: ['p2', watermark(0)],
        b: ['p1', batch([event('p1', 'x', 2, Number.NEGATIVE_INFINITY), event('p1', 'x', 25, 1)])],
        B: ['p1', watermark(24)],
        // p2 was idle from frame 20 and followed the minimum to 24: its event at t=5 is late now
        c: ['p2', batch([event('p2', 'x', 5, 0), event('p2', 'x', 40, 4)])],
        C: ['p2', watermark(39)],
        d: ['p1', END],
      });
      const out = windowed({ stage, input: input as Observable<Tagged>, release: () => undefined, scheduler, idleTimeout: 20 });
      // p1, silent after frame 4, is idle from frame 24; so at frame 38 p2's watermark 39 is the
      // minimum, p1 follows it and its window [20,30) fires. p1's end at frame 42 changes nothing.
      expectObservable(out.pipe(mapDescribe()), '^ 100ms !').toBe('4ms x 15ms (rw) 14ms (sv)', {
        x: 'w:0',
        r: 'r:x@0=2/0',
        w: 'w:24',
        s: 'r:x@20=1/0',
        v: 'w:39',
      });
    });
    expect(late).toEqual([5]);
  });

  it('keeps a single partition byte-for-byte independent of idleness settings', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const stage = stageFor(scheduler, ['p1'], 5);
      const input = cold<Tagged>('(aA) 50ms b', {
        a: ['p1', batch([event('p1', 'x', 1, Number.NEGATIVE_INFINITY), event('p1', 'x', 12, 0)])],
        A: ['p1', watermark(11)],
        b: ['p1', watermark(30)],
      });
      const out = windowed({ stage, input: input as Observable<Tagged>, release: () => undefined, scheduler, idleTimeout: 5 });
      // idle from frame 5 on, but alone: time stands still until it speaks at frame 54
      expectObservable(out.pipe(mapDescribe()), '^ 100ms !').toBe('(xrw) 49ms (sv)', {
        x: 'w:0',
        r: 'r:x@0=1/0',
        w: 'w:11',
        s: 'r:x@10=1/0',
        v: 'w:30',
      });
    });
  });
});

import { map } from 'rxjs';
function mapDescribe() {
  return map((element: Element<unknown>) => describe_(element));
}
