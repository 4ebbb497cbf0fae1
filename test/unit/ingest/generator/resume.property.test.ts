import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import type { Position } from '../../../../src/core/envelope.js';
import { generatorConfig, type GeneratorOptions } from '../../../../src/ingest/generator/config.js';
import { generatorSource, PartitionGenerator, SNAPSHOT_EVERY } from '../../../../src/ingest/generator/index.js';
import { generate, readSource, valuesOf } from './helpers.js';

const N = 700; // crosses two snapshot boundaries (256, 512)

const optionsArb: fc.Arbitrary<GeneratorOptions> = fc.record({
  workload: fc.constantFrom('clickstream' as const, 'telemetry' as const),
  seed: fc.integer({ min: 0, max: 2 ** 40 }),
  outOfOrderFraction: fc.constantFrom(0, 0.05, 0.3),
  lateFraction: fc.constantFrom(0, 0.01, 0.2),
  maxDelay: fc.constantFrom(0, 2000, 60_000),
  anomalyRate: fc.constantFrom(0, 0.002, 0.1),
});

describe('generator: resume from a position (property)', () => {
  it('continues after every k-th position exactly as the uninterrupted run, lines and positions', () => {
    fc.assert(
      fc.property(optionsArb, fc.integer({ min: 23, max: 150 }), fc.integer({ min: 0, max: 3 }), (options, k, partition) => {
        const whole = generate(options, N, partition);
        const config = generatorConfig(options);
        for (let seq = k; seq < N; seq += k) {
          const resumed = PartitionGenerator.resume(config, partition, whole.positions[seq - 1] as Position);
          expect(resumed.count).toBe(seq);
          const tail = Array.from({ length: N - seq }, () => resumed.next());
          expect(tail.map((e) => e.line)).toEqual(whole.lines.slice(seq));
          expect(tail.map((e) => e.position)).toEqual(whole.positions.slice(seq));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('resumes through the source: each partition right after its position, others from the start', async () => {
    const options: GeneratorOptions = { workload: 'clickstream', partitions: 3, events: 3000, batchSize: 128 };
    const whole = await readSource(generatorSource(options));
    const at = (id: string, seq: number): Position => whole.get(id)?.[seq - 1]?.position as Position;
    const resume = new Map([
      ['gen-0', at('gen-0', SNAPSHOT_EVERY)],
      ['gen-1', at('gen-1', 999)],
    ]);
    const resumed = await readSource(generatorSource(options), resume);
    expect(valuesOf(resumed.get('gen-0'))).toEqual(valuesOf(whole.get('gen-0')).slice(SNAPSHOT_EVERY));
    expect(valuesOf(resumed.get('gen-1'))).toEqual(valuesOf(whole.get('gen-1')).slice(999));
    expect(valuesOf(resumed.get('gen-2'))).toEqual(valuesOf(whole.get('gen-2')));
    // after the last event of a bounded partition, there is nothing left
    const done = await readSource(generatorSource(options), new Map([['gen-2', at('gen-2', 1000)]]));
    expect(done.get('gen-2')).toEqual([]);
  });

  it('refuses positions it did not write, naming the partition and the reason', async () => {
    const { positions } = generate({ workload: 'telemetry', seed: 5 }, 300);
    const position = positions[299] as Position;
    const open = (options: GeneratorOptions, pos: Position, id = 'gen-0') => generatorSource(options).open(new Map([[id, pos]]));
    const refused = (why: string, id = 'gen-0') => new UserError(ErrorCode.BAD_OPTION, `cannot resume generator partition '${id}': ${why}`);

    await expect(open({ workload: 'telemetry', seed: 5 }, position, 'gen-3')).rejects.toThrow(
      new UserError(ErrorCode.BAD_OPTION, "cannot resume generator partition 'gen-3': this generator has 1 (gen-0 … gen-0)"),
    );
    await expect(open({ workload: 'telemetry', seed: 6 }, position)).rejects.toThrow(
      refused('its position was written with other settings (workload, seed, start time, delays or anomaly rate)'),
    );
    await expect(open({ workload: 'telemetry', seed: 5 }, { file: 'a.jsonl', line: 3 })).rejects.toThrow(refused('its position has no { seq, state } from this generator'));
    await expect(open({ workload: 'telemetry', seed: 5 }, { seq: 300, state: '{oops' })).rejects.toThrow(/^cannot resume generator partition 'gen-0': its position state is not JSON/);
    // a state from another block: replaying from it would give other events
    await expect(open({ workload: 'telemetry', seed: 5 }, { seq: 1000, state: position['state'] as string })).rejects.toThrow(
      refused('its position state does not belong to event 1000'),
    );
    const damaged = JSON.stringify({ ...(JSON.parse(position['state'] as string) as object), rng: [1, 2] });
    await expect(open({ workload: 'telemetry', seed: 5 }, { seq: 300, state: damaged })).rejects.toThrow(
      refused('its position state is damaged (random state must be four 32-bit words)'),
    );
  });

  it('keeps positions small: one shared snapshot string per block of events', () => {
    const { positions } = generate({ workload: 'telemetry' }, 2 * SNAPSHOT_EVERY);
    const states = new Set(positions.map((p) => p['state']));
    expect(states.size).toBe(2);
    for (const state of states) expect((state as string).length).toBeLessThan(10_000);
  });
});
