import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { definePipeline } from '../../../src/pipeline.js';
import type { PipelineDefinition } from '../../../src/core/definition.js';
import { batchOperator, readsOnly, type Operator } from '../../../src/core/operator.js';
import { parseJson, parseJsonBuilds } from '../../../src/operators/parse-json.js';
import { session, tumbling } from '../../../src/windows/assigners.js';
import { avg, count, distinct, max, min, p95, reduce, sum } from '../../../src/windows/aggregates/index.js';
import { runMemory } from '../../support/run-memory.js';

// Projection pushdown: parseJson builds only the fields a windowed pipeline reads. It must change
// nothing anyone sees — results, late events, dead letters — only the work done.

/** The same definition with its parseJson put back to the plain one: values parsed whole. */
function unprojected(definition: PipelineDefinition): PipelineDefinition {
  return { ...definition, before: definition.before.map((op) => (parseJsonBuilds(op) === undefined ? op : (parseJson() as Operator<unknown, unknown>))) };
}

describe('projection pushdown into parseJson', () => {
  it('applies only when everything after parseJson reads declared fields and a window makes the output', () => {
    const windowed = definePipeline('p', (s) =>
      s.parseJson().withWatermarks({ time: 'ts' }).keyBy(['page', 'device.id']).window({ assign: tumbling('1m'), aggregate: { n: count(), s: sum('v'), lo: min('v'), hi: max('v'), a: avg('v'), d: distinct('u'), p: p95('ms') } }),
    );
    expect(parseJsonBuilds(windowed.before[0])).toEqual(['ts', 'page', 'device', 'v', 'u', 'ms']);
    const few = definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 'at' }).window({ assign: tumbling(10), aggregate: { n: count() } }));
    expect(parseJsonBuilds(few.before[0])).toEqual(['at']);
    // a user's operator that declares its reads keeps the projection, and adds its fields
    const own = readsOnly(batchOperator(() => (events) => events), ['region.name']);
    const declared = definePipeline('p', (s) => s.parseJson().pipe(own).withWatermarks({ time: 'at' }).window({ assign: tumbling(10), aggregate: { n: count() } }));
    expect(parseJsonBuilds(declared.before[0])).toEqual(['region', 'at']);
    const undeclared = definePipeline('p', (s) => s.parseJson().pipe(batchOperator(() => (events) => events)).withWatermarks({ time: 'at' }).window({ assign: tumbling(10), aggregate: { n: count() } }));
    expect(parseJsonBuilds(undeclared.before[0])).toBe('whole');

    const whole: Record<string, PipelineDefinition> = {
      'a map after parseJson': definePipeline('p', (s) => s.parseJson<{ ts: number }>().map((v) => v).withWatermarks({ time: 'ts' }).window({ assign: tumbling(10), aggregate: { n: count() } })),
      'a key function': definePipeline('p', (s) => s.parseJson<{ ts: number }>().withWatermarks({ time: 'ts' }).keyBy((v) => v.ts).window({ assign: tumbling(10), aggregate: { n: count() } })),
      'a time function': definePipeline('p', (s) => s.parseJson<{ ts: number }>().withWatermarks({ time: (v) => v.ts }).window({ assign: tumbling(10), aggregate: { n: count() } })),
      'a reduce aggregate': definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 'ts' }).window({ assign: tumbling(10), aggregate: { r: reduce({ create: () => 0, add: (a: number) => a + 1, result: (a: number) => a }) } })),
      'an aggregate spread from count() with its own add': definePipeline('p', (s) =>
        s.parseJson().withWatermarks({ time: 'ts' }).window({ assign: tumbling(10), aggregate: { w: { ...count(), add: (n: number, e: unknown) => n + Number((e as { w: number }).w) } } }),
      ),
      'a field named __proto__': definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 'ts' }).keyBy('__proto__').window({ assign: tumbling(10), aggregate: { n: count() } })),
      'no window (values are the output)': definePipeline('p', (s) => s.parseJson().withWatermarks({ time: 'ts' }).keyBy('k')),
    };
    for (const [name, definition] of Object.entries(whole)) expect(parseJsonBuilds(definition.before[0]), name).toBe('whole');
  });

  it('gives byte-identical results, late events and dead letters to parsing whole values', async () => {
    const record = fc.record(
      {
        ts: fc.integer({ min: -20, max: 400 }),
        page: fc.constantFrom('/a', '/b', '/ü', 'q"uote'),
        device: fc.record({ id: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', null)) }, { requiredKeys: [] }),
        v: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), fc.constantFrom('7', null, true)),
        other: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: ['ts'] },
    );
    const line = fc.oneof(
      { weight: 20, arbitrary: record.map((r) => JSON.stringify(r)) },
      { weight: 2, arbitrary: record.map((r) => JSON.stringify(r, null, 1)) },
      { weight: 1, arbitrary: fc.constantFrom('{not json', '[1,2]', '42', '"s"', '{"ts":1,"page":"/a",}', '{"ts":01}', '{"ts":5,"page":"/a","ts":"late"}', '\u00ef\u00bb\u00bf{"ts":3,"page":"/a"}', '{"ts":3,"page":"\\u002fa"}') },
    );
    const definitions = [
      definePipeline('fixed', (s) =>
        s.parseJson().withWatermarks({ time: 'ts', maxOutOfOrderness: 5 }).keyBy(['page', 'device.id']).window({ assign: tumbling(25), aggregate: { n: count(), s: sum('v'), hi: max('v'), d: distinct('v'), p: p95('v') }, allowedLateness: 10 }),
      ),
      definePipeline('sessions', (s) => s.parseJson().withWatermarks({ time: 'ts' }).keyBy('page').window({ assign: session(7), aggregate: { n: count(), lo: min('v'), a: avg('v') } })),
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 60 }), fc.constantFrom(...definitions), async (lines, definition) => {
        const projected = await runMemory(definition, { p0: lines }, { bytes: true });
        const whole = await runMemory(unprojected(definition), { p0: lines }, { bytes: true });
        expect(projected.results).toEqual(whole.results);
        expect(projected.late.map(({ at: _, ...rest }) => rest)).toEqual(whole.late.map(({ at: _, ...rest }) => rest));
        expect(projected.deadLetters.map(({ at: _, ...rest }) => rest)).toEqual(whole.deadLetters.map(({ at: _, ...rest }) => rest));
      }),
      { numRuns: 150 },
    );
  });
});
