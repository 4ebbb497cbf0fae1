import { describe, expect, it } from 'vitest';
import { WindowHarness } from '../../support/window-harness.js';
import { session, sliding, tumbling } from '../../../src/windows/assigners.js';

describe('tumbling windows (Flink TumblingEventTimeWindows + EventTimeTrigger)', () => {
  it('fires [start, end) once the watermark reaches end − 1, and not before', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('a', 0).event('a', 9).flush();
    expect(h.watermarkNow).toBe(8);
    expect(h.firings).toEqual([]);
    h.event('a', 10).flush();
    expect(h.watermarkNow).toBe(9);
    expect(h.firings).toEqual(['a [0,10) r=0 n=2 s=2']);
  });

  it('puts an event at end − 1 in the window and an event at end in the next one', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('a', 9).event('a', 10).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [10,20) r=0 n=1 s=1']);
  });

  it('computes the watermark as max seen − out-of-orderness − 1 and never lowers it', () => {
    const h = new WindowHarness({ assigner: tumbling(10), maxOutOfOrderness: 5 });
    h.event('a', 20).flush();
    expect(h.watermarkNow).toBe(14);
    h.event('a', 3).flush();
    expect(h.watermarkNow).toBe(14);
    // [0,10) closed at watermark 14 before the event at 3 arrived: 3 is late
    expect(h.late).toEqual([3]);
    h.end();
    expect(h.firings).toEqual(['a [20,30) r=0 n=1 s=1']);
  });

  it('treats an event whose window max timestamp equals the watermark as late (≤, not <)', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('a', 10).flush(); // watermark 9 = max timestamp of [0,10)
    h.event('a', 9).end();
    expect(h.late).toEqual([9]);
    expect(h.firings).toEqual(['a [10,20) r=0 n=1 s=1']);
  });

  it('accepts out-of-order events within the bound without lateness', () => {
    const h = new WindowHarness({ assigner: tumbling(10), maxOutOfOrderness: 3 });
    h.event('a', 11).event('a', 8).event('a', 12).event('a', 7).end();
    expect(h.late).toEqual([]);
    expect(h.firings).toEqual(['a [0,10) r=0 n=2 s=2', 'a [10,20) r=0 n=2 s=2']);
  });

  it('aligns windows of negative timestamps to the epoch', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('a', -15).event('a', -1).event('a', 0).end();
    expect(h.firings).toEqual(['a [-20,-10) r=0 n=1 s=1', 'a [-10,0) r=0 n=1 s=1', 'a [0,10) r=0 n=1 s=1']);
  });

  it('fires windows due together in key order, then start order', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('b', 1).event('a', 2).event('c', 3).event('b', 12).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'b [0,10) r=0 n=1 s=1', 'c [0,10) r=0 n=1 s=1', 'b [10,20) r=0 n=1 s=1']);
  });

  it('fires every open window at the end of bounded input (final +∞ watermark)', () => {
    const h = new WindowHarness({ assigner: tumbling(10), allowedLateness: 100 });
    h.event('a', 5).event('b', 1_000_000).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'b [1000000,1000010) r=0 n=1 s=1']);
    expect(h.panes).toBe(0);
  });
});

describe('allowed lateness', () => {
  it('re-fires the window for each late event with the accumulated result and revision + 1', () => {
    const h = new WindowHarness({ assigner: tumbling(10), allowedLateness: 5 });
    h.event('a', 1).event('a', 12).flush(); // watermark 11 fires [0,10)
    h.event('a', 2).event('a', 3);
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [0,10) r=1 n=2 s=2', 'a [0,10) r=2 n=3 s=3']);
  });

  it('drops an event once watermark ≥ max timestamp + lateness (cleanup time), counting it late', () => {
    const h = new WindowHarness({ assigner: tumbling(10), allowedLateness: 5 });
    h.event('a', 1).event('a', 14).flush(); // watermark 13 < 9 + 5: still accepted
    h.event('a', 2);
    h.event('a', 15).flush(); // watermark 14 = 9 + 5: window cleaned up
    h.event('a', 3).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [0,10) r=1 n=2 s=2', 'a [10,20) r=0 n=2 s=2']);
    expect(h.late).toEqual([3]);
  });

  it('creates and fires at once a window first seen within its lateness', () => {
    const h = new WindowHarness({ assigner: tumbling(10), allowedLateness: 20 });
    h.event('a', 25).flush(); // watermark 24: [0,10) and [10,20) are past but within lateness
    h.event('b', 5);
    expect(h.firings).toEqual(['b [0,10) r=0 n=1 s=1']);
    h.end();
    expect(h.firings.at(-1)).toBe('a [20,30) r=0 n=1 s=1');
  });
});

describe('sliding windows (Flink SlidingEventTimeWindows)', () => {
  it('puts each event into size / slide windows [k·slide, k·slide + size)', () => {
    const h = new WindowHarness({ assigner: sliding(10, 5) });
    h.event('a', 7).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [5,15) r=0 n=1 s=1']);
  });

  it('handles a size that is not a multiple of the slide', () => {
    const h = new WindowHarness({ assigner: sliding(10, 4) });
    h.event('a', 9).end();
    // windows starting at 8, 4, 0 contain 9 (start > 9 − 10)
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [4,14) r=0 n=1 s=1', 'a [8,18) r=0 n=1 s=1']);
  });

  it('adds an event late for some of its windows to the others, without counting it late', () => {
    const h = new WindowHarness({ assigner: sliding(10, 5) });
    h.event('a', 10).flush(); // watermark 9: [0,10) fired and cleaned
    h.event('a', 7).end(); // [0,10) is gone, [5,15) still open
    expect(h.late).toEqual([]);
    expect(h.firings).toEqual(['a [5,15) r=0 n=2 s=2', 'a [10,20) r=0 n=1 s=1']);
  });

  it('re-fires several windows for one late event, latest start first (Flink assigner order)', () => {
    const h = new WindowHarness({ assigner: sliding(10, 5), allowedLateness: 50 });
    h.event('a', 6).event('a', 30).flush(); // watermark 29: [0,10) and [5,15) fired
    h.event('a', 8);
    expect(h.firings.slice(-2)).toEqual(['a [5,15) r=1 n=2 s=2', 'a [0,10) r=1 n=2 s=2']);
  });

  it('rejects a slide longer than the size, which would lose events between windows', () => {
    expect(() => sliding('1m', '5m')).toThrow(/slide 5m is longer than its size 1m/);
  });
});

describe('session windows (Flink EventTimeSessionWindows + MergingWindowSet)', () => {
  it('keeps events closer than the gap in one session [first, last + gap)', () => {
    const h = new WindowHarness({ assigner: session(10) });
    h.event('a', 0).event('a', 5).event('a', 14).end();
    expect(h.firings).toEqual(['a [0,24) r=0 n=3 s=3']);
  });

  it('merges sessions that only touch: an event exactly gap after the last joins it', () => {
    const h = new WindowHarness({ assigner: session(10) });
    h.event('a', 0).event('a', 10).end();
    expect(h.firings).toEqual(['a [0,20) r=0 n=2 s=2']);
  });

  it('starts a new session one millisecond past the gap', () => {
    const h = new WindowHarness({ assigner: session(10) });
    h.event('a', 0).event('a', 11).end();
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [11,21) r=0 n=1 s=1']);
  });

  it('merges two sessions when an out-of-order event bridges them, before either fired', () => {
    const h = new WindowHarness({ assigner: session(15), maxOutOfOrderness: 100 });
    h.event('a', 0).event('a', 30).event('a', 15).end(); // [15,30) touches [0,15) and [30,45)
    expect(h.firings).toEqual(['a [0,45) r=0 n=3 s=3']);
  });

  it('merges fired sessions bridged by a late event within lateness, firing at once and naming what it supersedes', () => {
    const h = new WindowHarness({ assigner: session(10), allowedLateness: 100 });
    h.event('a', 0).event('a', 15).event('a', 50).flush(); // watermark 49: [0,10) and [15,25) fired
    expect(h.firings).toEqual(['a [0,10) r=0 n=1 s=1', 'a [15,25) r=0 n=1 s=1']);
    h.event('a', 7);
    expect(h.firings.at(-1)).toBe('a [0,25) r=0 n=3 s=3 supersedes=[0,10),[15,25)');
  });

  it('re-fires a fired session with revision + 1 when a late event falls inside it', () => {
    const h = new WindowHarness({ assigner: session(10), allowedLateness: 100 });
    h.event('a', 0).event('a', 5).event('a', 50).flush(); // [0,15) fired
    h.event('a', 3);
    expect(h.firings).toEqual(['a [0,15) r=0 n=2 s=2', 'a [0,15) r=1 n=3 s=3']);
  });

  it('drops an event whose own session would already be past its lateness', () => {
    const h = new WindowHarness({ assigner: session(10) });
    h.event('a', 100).flush(); // watermark 99
    h.event('a', 80).end(); // [80,90): max timestamp 89 ≤ 99
    expect(h.late).toEqual([80]);
  });

  it('lets a late event join a live session it touches even though its own window alone is late', () => {
    const h = new WindowHarness({ assigner: session(30), maxOutOfOrderness: 0 });
    h.event('a', 100).event('a', 111).flush(); // session [100,141), watermark 110
    h.event('a', 70).end(); // [70,100) alone is late (99 ≤ 110) but touches [100,141)
    expect(h.late).toEqual([]);
    expect(h.firings).toEqual(['a [70,141) r=0 n=3 s=3']);
  });

  it('keeps sessions of different keys apart', () => {
    const h = new WindowHarness({ assigner: session(10) });
    h.event('a', 0).event('b', 5).event('a', 8).end();
    expect(h.firings).toEqual(['b [5,15) r=0 n=1 s=1', 'a [0,18) r=0 n=2 s=2']);
  });
});

describe('aggregate checks', () => {
  it('rejects an event whose aggregated field is not a number, before any aggregate sees it', () => {
    const h = new WindowHarness({ assigner: tumbling(10) });
    h.event('a', 1, 2).event('a', 2, 'oops').event('a', 3, null).end();
    expect(h.rejected).toEqual([expect.stringContaining("field 'v' must be a number")]);
    expect(h.firings).toEqual(['a [0,10) r=0 n=2 s=2']);
  });
});
