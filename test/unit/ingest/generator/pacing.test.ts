import { asyncScheduler, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { generatorSource } from '../../../../src/ingest/generator/index.js';
import { Pacer } from '../../../../src/ingest/generator/pacer.js';
import { idle, readAt } from './helpers.js';

// Virtual time throughout: a VirtualTimeScheduler (what TestScheduler builds on, without its
// 750-frame limit) is the generator's clock, and each read flushes it.

describe('generator pacing (virtual time)', () => {
  it('delivers N events at rate R in N/R seconds, one batch per batch interval', async () => {
    const scheduler = new VirtualTimeScheduler();
    const [reader] = await generatorSource({ workload: 'telemetry', events: 1000, batchSize: 50, rate: 100, scheduler }).open();
    const times: number[] = [];
    for (let read = await readAt(reader!, scheduler); read.batch !== null; read = await readAt(reader!, scheduler)) {
      expect(read.batch).toHaveLength(50);
      times.push(read.at);
    }
    expect(times).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 500));
  });

  it('splits the rate over the partitions, so all of them finish together', async () => {
    const scheduler = new VirtualTimeScheduler();
    const readers = await generatorSource({ workload: 'clickstream', partitions: 4, events: 800, batchSize: 25, rate: 200, scheduler }).open();
    const last = readers.map(() => 0);
    // read every partition at once, as the runtime does
    for (let open = readers.length; open > 0; ) {
      const reads = readers.map((reader, i) =>
        reader.read().then((batch) => {
          if (batch === null) open--;
          else last[i] = scheduler.now();
        }),
      );
      scheduler.flush();
      await Promise.all(reads);
    }
    // 800 events at 200/s: 4 s, whichever partition
    expect(last).toEqual([4000, 4000, 4000, 4000]);
  });

  it('never bursts more than one batch ahead after a pause', async () => {
    const scheduler = new VirtualTimeScheduler();
    const [reader] = await generatorSource({ workload: 'telemetry', batchSize: 10, rate: 20, scheduler }).open();
    expect((await readAt(reader!, scheduler)).at).toBe(500);
    idle(scheduler, 10_000); // held back for 10 s: 200 events' worth of credit, but the bucket holds 10
    expect((await readAt(reader!, scheduler)).at).toBe(10_500);
    expect((await readAt(reader!, scheduler)).at).toBe(11_000);
    expect((await readAt(reader!, scheduler)).at).toBe(11_500);
    await reader!.close();
  });

  it('does not drift with rates that do not divide a millisecond', async () => {
    const scheduler = new VirtualTimeScheduler();
    const [reader] = await generatorSource({ workload: 'telemetry', events: 30, batchSize: 1, rate: 3, scheduler }).open();
    let at = 0;
    for (let read = await readAt(reader!, scheduler); read.batch !== null; read = await readAt(reader!, scheduler)) {
      expect(read.at - at).toBeGreaterThanOrEqual(333);
      at = read.at;
    }
    expect(at).toBeGreaterThanOrEqual(10_000);
    expect(at).toBeLessThanOrEqual(10_001);
  });

  it('ends a pending read with null on close, and cancels its timer', async () => {
    const scheduler = new VirtualTimeScheduler();
    const source = generatorSource({ workload: 'clickstream', batchSize: 100, rate: 1, scheduler });
    const [reader] = await source.open();
    const pending = reader!.read();
    expect(scheduler.actions).toHaveLength(1);
    await source.close();
    await expect(pending).resolves.toBeNull();
    expect(scheduler.actions).toHaveLength(0);
    expect(await reader!.read()).toBeNull();
  });

  it('ends a pending read promptly on the real clock too', async () => {
    // 1000 events at 1 event/s would take 1000 s: only close() can end this read in time
    const [reader] = await generatorSource({ workload: 'telemetry', batchSize: 1000, rate: 1, scheduler: asyncScheduler }).open();
    const pending = reader!.read();
    await reader!.close();
    await expect(pending).resolves.toBeNull();
  });
});

describe('Pacer', () => {
  it('releases at once whatever the bucket already holds, then waits for the rest', async () => {
    const scheduler = new VirtualTimeScheduler();
    const pacer = new Pacer({ scheduler, eventsPerSecond: 10, capacity: 5 });
    idle(scheduler, 300); // 3 events earned
    await expect(pacer.take(3)).resolves.toBe(true);
    expect(scheduler.now()).toBe(300);
    const next = pacer.take(5);
    scheduler.flush();
    await expect(next).resolves.toBe(true);
    expect(scheduler.now()).toBe(800);
  });
});
