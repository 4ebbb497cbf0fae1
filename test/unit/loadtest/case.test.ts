import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkLoadCase, readLoadCase } from '../../../src/loadtest/case.js';

const CASES = 'test/load/cases';

describe('load cases', () => {
  it('every shipped case reads, with a load, generator settings, a pipeline and a budget', async () => {
    const names = await readdir(CASES);
    expect(names.length).toBeGreaterThanOrEqual(2);
    for (const name of names) {
      const c = await readLoadCase(`${CASES}/${name}`);
      expect(c.name).toBe(name);
      expect(c.load.rates.length).toBeGreaterThan(0);
      expect(c.pipeline).toBeDefined();
      expect(c.budget).not.toBeNull();
    }
  });

  it('the smoke case is small enough for the integration test', async () => {
    const c = await readLoadCase(`${CASES}/clickstream-smoke`);
    expect(c.load).toEqual({ rates: [300, 900], duration: '3s', targetRate: 900 });
    expect(c.generator).toEqual({ workload: 'clickstream', seed: 7, recordSize: 512, key: 'page' });
  });

  const minimal = { load: { rate: 100, duration: '2s' }, generator: { workload: 'telemetry' } };

  it('fills in defaults and resolves a module path against the case folder', () => {
    const c = checkLoadCase({ ...minimal, pipeline: { run: 'pipeline.ts' } }, '/cases/x', '--case x');
    expect(c.load.rates).toEqual([100]);
    expect(c.generator).toEqual({ workload: 'telemetry', seed: 1, recordSize: 0, key: undefined });
    expect(c.pipeline).toEqual({ run: '/cases/x/pipeline.ts' });
    expect(checkLoadCase({ ...minimal, pipeline: { run: 'telemetry' } }, '/cases/x', '--case x').pipeline).toEqual({ run: 'telemetry' });
  });

  it.each([
    [{ ...minimal, loads: {} }, "--case x: unknown field 'loads'; a case has description, load, generator, pipeline, budget"],
    [{ ...minimal, load: { rate: [100, -1], duration: '2s' } }, "--case x: 'load.rate[1]' must be a number > 0, got -1"],
    [{ ...minimal, generator: { workload: 'logs' } }, "--case x: 'generator.workload' must be clickstream or telemetry, got 'logs'"],
    [{ ...minimal, budget: { p99: 5 } }, "--case x: unknown field 'budget.p99'; 'budget' has p99LatencyMs, cpuCores, rssMb"],
    [{ ...minimal, pipeline: { run: 'a', aggregate: {} } }, "--case x: 'pipeline' must have either 'run'"],
    [{ ...minimal, pipeline: { aggregate: { key: 'k', time: 't' } } }, "--case x: 'pipeline.aggregate.window' must be a non-empty string"],
  ])('%j is refused with one line', (data, message) => {
    expect(() => checkLoadCase(data, '/cases/x', '--case x')).toThrow(message);
  });
});
