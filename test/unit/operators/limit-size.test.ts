import { describe, expect, it } from 'vitest';
import { lastValueFrom, of, toArray } from 'rxjs';
import { limitSize } from '../../../src/operators/limit-size.js';
import { batch, type Element } from '../../../src/core/elements.js';
import { envelope, type Raw } from '../../../src/core/envelope.js';
import { createPartitionContext, type DeadLetter } from '../../../src/core/context.js';
import { Counters } from '../../../src/core/metrics.js';
import { asyncScheduler } from 'rxjs';

describe('limitSize', () => {
  it('dead-letters records over the limit, by UTF-8 bytes, and passes the rest', async () => {
    const dead: DeadLetter[] = [];
    const ctx = createPartitionContext({
      pipeline: 'p',
      partition: 'x',
      scheduler: asyncScheduler,
      counters: new Counters(),
      outlets: { deadLetter: (e) => dead.push(e), late: () => undefined },
    });
    const small = envelope<Raw>('{"a":1}', 'x', { line: 1 }, '{"a":1}');
    const wide = 'é'.repeat(6); // 6 characters, 12 bytes
    const big = envelope<Raw>(wide, 'x', { line: 2 }, wide);
    const bytes = envelope<Raw>(new Uint8Array(11), 'x', { line: 3 }, new Uint8Array(11));
    const out = (await lastValueFrom(of<Element<Raw>>(batch([small, big, bytes])).pipe(limitSize(10)(ctx), toArray()))) as Element<Raw>[];
    const first = out[0];
    expect(first?.kind === 'batch' ? first.events.map((e) => e.position['line']) : []).toEqual([1]);
    expect(dead.map((d) => [d.code, d.position['line'], d.reason])).toEqual([
      ['RECORD_TOO_LARGE', 2, 'record is 12 bytes, over the 10-byte limit (--max-record-size)'],
      ['RECORD_TOO_LARGE', 3, 'record is 11 bytes, over the 10-byte limit (--max-record-size)'],
    ]);
  });
});
