import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/core/errors.js';
import { KeyPlacement } from '../../../src/loadtest/hashing.js';
import { DEFAULT_PRICES, checkPrices, loadPrices } from '../../../src/loadtest/prices.js';
import { sizeStream } from '../../../src/loadtest/sizing.js';
import { formatSizing } from '../../../src/loadtest/sizing-text.js';

const cost = (items: readonly { name: string; cost: number }[], start: string): number => items.find((i) => i.name.startsWith(start))?.cost ?? Number.NaN;

describe('sizeStream: the seed example', () => {
  // 3,000 records/s of 1 KB (1,024 B):
  //   records:  3,000 / 1,000 per shard                   = 3 shards
  //   bytes:    3,000 × 1,024 = 3,072,000 B/s / 1,048,576  = 2.93 → 3 shards
  //   read:     one polling consumer, 2.93 MB/s / 2 MB/s   = 1.46 → 2 shards (not binding)
  //   cost:     3 shards × 720 h × $0.015                  = $32.40 a month
  const r = sizeStream({ rate: 3000, recordSize: 1024 });

  it('needs 3 shards, bound by records per second', () => {
    expect(r.shards).toBe(3);
    expect(r.evenShards).toBe(3);
    expect(r.shardCapacity).toEqual({ recordsPerSecond: 1000, binding: 'records in' });
    expect(r.hottest.recordsPerSecond).toBe(1000);
    expect(r.hottest.utilization).toBe(1);
    expect(r.feasible).toBe(true);
  });

  it('costs $32.40 a month in shard-hours', () => {
    expect(r.hoursPerMonth).toBe(720);
    expect(r.cost.provisioned.items[0]).toMatchObject({ quantity: 2160, unit: 'shard-hours', unitPrice: 0.015 });
    expect(cost(r.cost.provisioned.items, 'shards')).toBeCloseTo(32.4, 10);
  });

  it('adds PUT payload units and compares with on-demand', () => {
    // a month of records: 3,000 × 2,592,000 s = 7,776,000,000; a 1 KB record is one 25 KB unit
    // → 7,776 million units × $0.014 = $108.864
    expect(cost(r.cost.provisioned.items, 'PUTs')).toBeCloseTo(108.864, 6);
    expect(r.cost.provisioned.total).toBeCloseTo(32.4 + 108.864, 6);
    // on-demand: 720 h × $0.04 = $28.80; in: 7.776e9 × 1,024 B / 2^30 = 7,415.771 GB × $0.08 = $593.26;
    // read by one polling consumer: 7,415.771 GB × $0.04 = $296.63
    const gb = (7_776_000_000 * 1024) / 2 ** 30;
    expect(cost(r.cost.onDemand.items, 'stream')).toBeCloseTo(28.8, 10);
    expect(cost(r.cost.onDemand.items, 'data in')).toBeCloseTo(gb * 0.08, 6);
    expect(cost(r.cost.onDemand.items, 'data read')).toBeCloseTo(gb * 0.04, 6);
    expect(r.recommendation).toMatchObject({ mode: 'provisioned', shards: 3 });
  });

  it('prints the shards, the mode and $32.40', () => {
    const text = formatSizing(r).join('\n');
    expect(text).toContain('recommended: provisioned, 3 shards');
    expect(text).toMatch(/shards \(3 × 720 h\): 2,160 shard-hours × \$0\.015\s+\$32\.40/);
    expect(text).toContain('us-east-1 as of 2026-11-22');
  });
});

describe('sizeStream: hand-checked cases', () => {
  it('large records are bound by bytes in', () => {
    // 500 records/s × 10 KB = 5,120,000 B/s; a shard takes 1,048,576 B/s = 102.4 records/s of 10,240 B
    // → 500 / 102.4 = 4.88 → 5 shards; 10 KB is one PUT unit
    const r = sizeStream({ rate: 500, recordSize: 10 * 1024 });
    expect(r.shardCapacity.binding).toBe('bytes in');
    expect(r.shardCapacity.recordsPerSecond).toBeCloseTo(102.4, 10);
    expect(r.shards).toBe(5);
    expect(cost(r.cost.provisioned.items, 'shards')).toBeCloseTo(5 * 720 * 0.015, 10); // $54.00
  });

  it('three polling consumers make reads the binding limit', () => {
    // 3,000 × 1,024 B read 3 times = 9,216,000 B/s out; a shard serves 2,097,152 B/s to all readers
    // → per shard 2,097,152 / (3 × 1,024) = 682.67 records/s → 3,000 / 682.67 = 4.39 → 5 shards
    const r = sizeStream({ rate: 3000, recordSize: 1024, consumers: 3 });
    expect(r.shardCapacity.binding).toBe('bytes out');
    expect(r.shards).toBe(5);
    expect(r.getRecordsPerConsumer).toBeCloseTo(5 / 3, 10);
    expect(r.warnings.join(' ')).toContain('enhanced fan-out');
  });

  it('enhanced fan-out lifts the read limit and bills consumer-shard-hours', () => {
    // each of 3 EFO consumers has its own 2 MB/s per shard: back to 3 shards (records bind)
    // consumer-shard-hours: 3 × 3 × 720 = 6,480 × $0.015 = $97.20
    // fan-out GB: 3 × 7.776e9 × 1,024 / 2^30 = 22,247.31 GB × $0.013 = $289.22
    const r = sizeStream({ rate: 3000, recordSize: 1024, consumers: 3, efo: true });
    expect(r.shards).toBe(3);
    expect(r.getRecordsPerConsumer).toBeNull();
    expect(cost(r.cost.provisioned.items, 'fan-out (')).toBeCloseTo(97.2, 8);
    expect(cost(r.cost.provisioned.items, 'fan-out data')).toBeCloseTo(((3 * 7_776_000_000 * 1024) / 2 ** 30) * 0.013, 6);
    expect(cost(r.cost.onDemand.items, 'fan-out data')).toBeCloseTo(((3 * 7_776_000_000 * 1024) / 2 ** 30) * 0.05, 6);
  });

  it('sizes shards for the peak and bills volume on the average', () => {
    // peak 3 × 1,000 = 3,000 records/s → 3 shards; PUT units from the average 1,000/s:
    // 1,000 × 2,592,000 = 2,592 million × $0.014 = $36.288
    const r = sizeStream({ rate: 1000, recordSize: 1024, peakFactor: 3 });
    expect(r.peakRate).toBe(3000);
    expect(r.shards).toBe(3);
    expect(cost(r.cost.provisioned.items, 'PUTs')).toBeCloseTo(36.288, 6);
  });

  it('rounds on-demand records up to 1 KB and PUT units up to 25 KB', () => {
    // 1,025 B bills as 2 KB on demand: 100/s × 2,592,000 × 2,048 B / 2^30 = 494.38 GB × $0.08
    // and 30 KB is two PUT payload units: 100 × 2,592,000 × 2 = 518.4 million × $0.014
    const small = sizeStream({ rate: 100, recordSize: 1025 });
    expect(cost(small.cost.onDemand.items, 'data in')).toBeCloseTo(((100 * 2_592_000 * 2048) / 2 ** 30) * 0.08, 6);
    const big = sizeStream({ rate: 100, recordSize: 30 * 1024 });
    expect(cost(big.cost.provisioned.items, 'PUTs')).toBeCloseTo(518.4 * 0.014, 6);
  });

  it('recommends on-demand when a small, spiky load would pay for peak shards all month', () => {
    // 10 records/s × 100 B, peak ×400 = 4,000/s → 4 shards: 4 × 720 × 0.015 = $43.20 + PUTs $0.36;
    // on-demand: $28.80 + tiny volume
    const r = sizeStream({ rate: 10, recordSize: 100, peakFactor: 400 });
    expect(r.shards).toBe(4);
    expect(r.recommendation.mode).toBe('on-demand');
    expect(r.cost.onDemand.total).toBeLessThan(r.cost.provisioned.total);
  });
});

describe('sizeStream: partition keys', () => {
  it('skewed keys raise the shard count above the even spread', () => {
    const even = sizeStream({ rate: 3000, recordSize: 1024 });
    const skewed = sizeStream({ rate: 3000, recordSize: 1024, keys: 1000, keySkew: 1 });
    expect(skewed.evenShards).toBe(even.shards);
    expect(skewed.shards).toBeGreaterThan(even.shards);
    // the hottest shard is what was sized for, and it fits
    expect(skewed.hottest.recordsPerSecond).toBeLessThanOrEqual(1000);
    expect(skewed.hottest.recordsPerSecond).toBeGreaterThan(skewed.average.recordsPerSecond);
    expect(skewed.shardShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    // the smallest such count: with one shard fewer the hottest shard is over 1,000 records/s
    const fewer = new KeyPlacement(1000, 1).shardShares(skewed.shards - 1);
    expect(Math.max(...fewer) * 3000).toBeGreaterThan(1000);
  });

  it('more skew needs at least as many shards', () => {
    const mild = sizeStream({ rate: 3000, recordSize: 1024, keys: 1000, keySkew: 0.5 });
    const steep = sizeStream({ rate: 3000, recordSize: 1024, keys: 1000, keySkew: 1.2 });
    expect(steep.shards).toBeGreaterThanOrEqual(mild.shards);
    expect(steep.hottestKey?.share).toBeGreaterThan(mild.hottestKey?.share ?? 1);
  });

  it('a key hotter than a shard makes the load infeasible, and says so', () => {
    // Zipf 2 over 10 keys: the top key has 1 / (1 + 1/4 + … + 1/100) = 64.5% → 1,936 records/s > 1,000
    const r = sizeStream({ rate: 3000, recordSize: 1024, keys: 10, keySkew: 2 });
    expect(r.hottestKey?.recordsPerSecond).toBeGreaterThan(1000);
    expect(r.feasible).toBe(false);
    expect(r.warnings[0]).toMatch(/busiest key alone/);
  });
});

describe('sizeStream: bad input names the flag', () => {
  it.each([
    [{ rate: 0, recordSize: 1024 }, '--rate'],
    [{ rate: 100, recordSize: 0 }, '--record-size'],
    [{ rate: 100, recordSize: 2 * 1024 * 1024 }, '--record-size'],
    [{ rate: 100, recordSize: 100, consumers: 0 }, '--consumers'],
    [{ rate: 100, recordSize: 100, consumers: 21, efo: true }, '--consumers'],
    [{ rate: 100, recordSize: 100, peakFactor: 0.5 }, '--peak-factor'],
    [{ rate: 100, recordSize: 100, keys: 0 }, '--keys'],
    [{ rate: 100, recordSize: 100, keySkew: 1 }, '--key-skew'],
  ])('%j', (input, flag) => {
    let error: unknown;
    try {
      sizeStream(input);
    } catch (err) {
      error = err;
    }
    expect(isUserError(error)).toBe(true);
    expect((error as Error).message.startsWith(flag)).toBe(true);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('prices', () => {
  it('the default table is dated, for a region, and prices a shard-hour at $0.015', () => {
    expect(DEFAULT_PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(DEFAULT_PRICES.region).toBe('us-east-1');
    expect(DEFAULT_PRICES.provisioned.shardHour).toBe(0.015);
  });

  it('a --prices file replaces the table, and the JSON output is such a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-prices-'));
    try {
      const file = join(dir, 'eu.json');
      const table = { ...structuredClone(sizeStream({ rate: 1, recordSize: 1 }).prices), region: 'eu-west-1', asOf: '2026-01-01' };
      table.provisioned = { ...table.provisioned, shardHour: 0.02 };
      await writeFile(file, JSON.stringify(table));
      const prices = await loadPrices(file);
      const r = sizeStream({ rate: 3000, recordSize: 1024, prices });
      expect(r.prices.region).toBe('eu-west-1');
      expect(cost(r.cost.provisioned.items, 'shards')).toBeCloseTo(3 * 720 * 0.02, 10); // $43.20
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a table without a price is refused, naming the field', () => {
    const broken = { ...DEFAULT_PRICES, onDemand: { streamHour: 0.04 } };
    expect(() => checkPrices(broken, '--prices x.json')).toThrow("--prices x.json: 'onDemand.gbIngested' must be a price ≥ 0 in USD, got undefined");
    expect(() => checkPrices({ ...DEFAULT_PRICES, asOf: 'last week' }, '--prices x.json')).toThrow(/'asOf' must be a date/);
  });
});
