import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { CompositeAggregate, parseAggSpec } from '../../../../src/windows/aggregates/index.js';

const ACCEPTED = 'use count, sum:F, min:F, max:F, avg:F, distinct:F or pNN:F';

describe('parseAggSpec', () => {
  it('parses every aggregate kind with the documented output names', () => {
    const { map, fields } = parseAggSpec('count,sum:x,min:x,max:x,avg:x,distinct:user,p50:x,p95:x,p99:x,p99.9:x,p5:y,p0.5:y');
    expect(Object.keys(map)).toEqual([
      'count',
      'sum_x',
      'min_x',
      'max_x',
      'avg_x',
      'distinct_user',
      'p50_x',
      'p95_x',
      'p99_x',
      'p99.9_x',
      'p5_y',
      'p0.5_y',
    ]);
    expect(fields).toEqual(['x', 'user', 'y']);
    expect(map['p50_x']!.slot).toBe('sketch:x');
  });

  it('builds working aggregates', () => {
    const { map } = parseAggSpec('count,sum:order.total,avg:order.total,distinct:user,p99.9:ms,p0.5:ms');
    const agg = new CompositeAggregate(map, { needsMerge: false });
    const acc = agg.create();
    for (let i = 0; i < 1000; i++) agg.add(acc, { order: { total: 0.1 }, user: i % 3, ms: i + 1 });
    const result = agg.result(acc);
    expect(result['count']).toBe(1000);
    expect(result['sum_order.total']).toBe(100);
    expect(result['avg_order.total']).toBe(0.1);
    expect(result['distinct_user']).toBe(3);
    expect(Math.abs((result['p99.9_ms'] as number) - 999)).toBeLessThanOrEqual(9.99);
    expect(Math.abs((result['p0.5_ms'] as number) - 5)).toBeLessThanOrEqual(0.05);
  });

  it('ignores spaces around items', () => {
    expect(Object.keys(parseAggSpec(' count , sum: x ').map)).toEqual(['count', 'sum_x']);
  });

  it.each<[string, string]>([
    ['count,median:x', `--agg: unknown aggregate 'median' in 'count,median:x'; ${ACCEPTED}`],
    ['Count', `--agg: unknown aggregate 'Count' in 'Count'; ${ACCEPTED}`],
    ['count,sum', `--agg: 'sum' needs a field in 'count,sum'; ${ACCEPTED}`],
    ['avg:', `--agg: 'avg' needs a field in 'avg:'; ${ACCEPTED}`],
    ['p95', `--agg: 'p95' needs a field in 'p95'; ${ACCEPTED}`],
    ['count:x', `--agg: 'count' takes no field in 'count:x'; ${ACCEPTED}`],
    ['', `--agg: empty aggregate list; ${ACCEPTED}`],
    ['  ', `--agg: empty aggregate list; ${ACCEPTED}`],
    ['count,,sum:x', `--agg: empty item in 'count,,sum:x'; ${ACCEPTED}`],
    ['count,', `--agg: empty item in 'count,'; ${ACCEPTED}`],
    ['sum:x,count,sum:x', `--agg: duplicate output 'sum_x' in 'sum:x,count,sum:x'; list each aggregate of a field once`],
    ['count,count', `--agg: duplicate output 'count' in 'count,count'; list each aggregate of a field once`],
    ['sum:a..b', `--agg: invalid field path 'a..b' in 'sum:a..b'; use a field name or a dotted path such as order.total`],
    ['max:.a', `--agg: invalid field path '.a' in 'max:.a'; use a field name or a dotted path such as order.total`],
    ...['p0', 'p100', 'p150', 'p99.99', 'p05', 'p0.0', 'p9x'].map((p): [string, string] => [
      `${p}:x`,
      `--agg: bad percentile '${p}' in '${p}:x'; use pNN or pNN.N between 0 and 100 exclusive, such as p50, p95 or p99.9`,
    ]),
  ])('rejects %j', (spec, message) => {
    let error: unknown;
    try {
      parseAggSpec(spec);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe(ErrorCode.BAD_OPTION);
    expect((error as UserError).message).toBe(message);
    expect((error as UserError).message).not.toContain('\n');
  });

  it('does not mistake prototype names for aggregates', () => {
    expect(() => parseAggSpec('constructor:x')).toThrow(`unknown aggregate 'constructor'`);
    expect(() => parseAggSpec('toString:x')).toThrow(`unknown aggregate 'toString'`);
  });
});
