import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { generatorSource } from '../../../../src/ingest/generator/index.js';
import { WORKLOADS } from '../../../../src/ingest/generator/config.js';
import { generate, readAt, readSource, valuesOf } from './helpers.js';

describe.each(WORKLOADS)('generator %s: reproducible events', (workload) => {
  it('gives byte-identical lines for the same seed, and different lines for another', () => {
    const a = generate({ workload, seed: 42 }, 2000).lines;
    expect(generate({ workload, seed: 42 }, 2000).lines).toEqual(a);
    const other = generate({ workload, seed: 43 }, 2000).lines;
    // every field after the id differs somewhere; compare whole lines minus the eventId
    const body = (line: string) => line.replace(/^\{"eventId":"[^"]*",/, '');
    expect(other.filter((line, i) => body(line) === body(a[i] as string)).length).toBeLessThan(20);
  });

  it('gives each partition its own stream, the same however many partitions there are', () => {
    const [p0, p1] = [generate({ workload }, 500, 0).lines, generate({ workload }, 500, 1).lines];
    expect(p1).not.toEqual(p0);
    expect(generate({ workload, partitions: 5 }, 500, 1).lines).toEqual(p1);
  });

  it('does not change a byte with the batch size', async () => {
    const whole = await readSource(generatorSource({ workload, partitions: 2, events: 3001, batchSize: 3001 }));
    for (const batchSize of [1, 7, 500]) {
      const read = await readSource(generatorSource({ workload, partitions: 2, events: 3001, batchSize }));
      expect([...read.keys()]).toEqual(['gen-0', 'gen-1']);
      for (const id of ['gen-0', 'gen-1']) {
        expect(valuesOf(read.get(id))).toEqual(valuesOf(whole.get(id)));
        expect(read.get(id)?.map((env) => env.position)).toEqual(whole.get(id)?.map((env) => env.position));
      }
    }
    expect(valuesOf(whole.get('gen-0'))).toHaveLength(1501);
    expect(valuesOf(whole.get('gen-1'))).toHaveLength(1500);
  });

  it('does not change a byte with the rate', async () => {
    const unpaced = await readSource(generatorSource({ workload, events: 1000, batchSize: 64 }));
    const scheduler = new VirtualTimeScheduler();
    const [reader] = await generatorSource({ workload, events: 1000, batchSize: 64, rate: 250, scheduler }).open();
    const paced: string[] = [];
    for (let read = await readAt(reader!, scheduler); read.batch !== null; read = await readAt(reader!, scheduler)) {
      paced.push(...valuesOf(read.batch));
    }
    expect(paced).toEqual(valuesOf(unpaced.get('gen-0')));
    // the rate changed when the events came, not their event times
    expect(scheduler.now()).toBe(4000);
  });

  it('writes JSON lines whose value and raw are the same string, with 1-based seq positions', async () => {
    const read = await readSource(generatorSource({ workload, events: 3, startTime: Date.parse('2030-01-01T00:00:00Z') }));
    const events = read.get('gen-0') ?? [];
    expect(events.map((env) => [env.partition, env.position['seq'], typeof env.position['state']])).toEqual([
      ['gen-0', 1, 'string'],
      ['gen-0', 2, 'string'],
      ['gen-0', 3, 'string'],
    ]);
    for (const env of events) {
      expect(env.raw).toBe(env.value);
      const event = JSON.parse(env.value as string) as { eventId: string; ts: string };
      expect(event.eventId).toBe(`gen-0:${env.position['seq']}`);
      expect(event.ts).toMatch(/^2030-01-01T00:00:0\d\.\d{3}Z$/);
    }
  });
});

describe('generator source: unbounded', () => {
  it('never ends on its own, and ends with null once closed', async () => {
    const source = generatorSource({ workload: 'telemetry', batchSize: 100 });
    const [reader] = await source.open();
    for (let i = 0; i < 5; i++) expect(await reader!.read()).toHaveLength(100);
    await source.close();
    expect(await reader!.read()).toBeNull();
  });

  it('ends a bounded partition with no events at once', async () => {
    const read = await readSource(generatorSource({ workload: 'clickstream', partitions: 3, events: 2 }));
    expect([...read.values()].map((events) => events.length)).toEqual([1, 1, 0]);
  });
});
