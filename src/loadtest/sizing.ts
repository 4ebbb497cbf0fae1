/**
 * The Kinesis sizing model behind `sluice size` and the cost chart of load-test reports: how many
 * shards a load needs under the per-shard limits (the hottest shard's load, not only the
 * average, when partition keys are skewed), and what a month costs in provisioned and in
 * on-demand mode.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { KeyPlacement, keyName } from './hashing.js';
import {
  EFO_MAX_CONSUMERS,
  GB,
  HOURS_PER_MONTH,
  MAX_RECORD_BYTES,
  ON_DEMAND_BILLING_ROUND_BYTES,
  PUT_PAYLOAD_UNIT_BYTES,
  SECONDS_PER_MONTH,
  SHARD_GET_RECORDS_PER_SECOND,
  SHARD_READ_BYTES_PER_SECOND,
  SHARD_WRITE_BYTES_PER_SECOND,
  SHARD_WRITE_RECORDS_PER_SECOND,
} from './limits.js';
import { DEFAULT_PRICES, type PriceTable } from './prices.js';

/** The most keys the model hashes (`--keys`). */
export const MAX_KEYS = 1_000_000;
/** The model looks for a shard count up to this; beyond it, it reports the load as infeasible. */
export const MAX_SHARDS = 10_000;
/** New on-demand streams start with this write throughput (developer guide, quotas). */
const ON_DEMAND_INITIAL_WRITE_BYTES = 4 * 1024 * 1024;

/**
 * What to size for. Rates are records per second; sizes are bytes as Kinesis counts them
 * (data blob plus partition key).
 *
 * @example { rate: 3000, recordSize: 1024 } // the seed documents' example
 * @see sizeStream
 */
export interface SizingInput {
  /** Average records per second. */
  readonly rate: number;
  readonly recordSize: number;
  /** Applications reading the stream (default 1). */
  readonly consumers?: number | undefined;
  /** The consumers use enhanced fan-out (each its own 2 MB/s per shard) instead of polling. */
  readonly efo?: boolean | undefined;
  /** Peak rate ÷ average rate (default 1): shards are sized for the peak, volume billed on the average. */
  readonly peakFactor?: number | undefined;
  /** Distinct partition keys; undefined: so many that they spread evenly. */
  readonly keys?: number | undefined;
  /** Zipf exponent of key popularity (default 0: all keys equally busy); needs `keys`. */
  readonly keySkew?: number | undefined;
  readonly prices?: PriceTable | undefined;
}

/** One shard's load. */
export interface ShardLoad {
  readonly recordsPerSecond: number;
  readonly bytesInPerSecond: number;
  /** What all consumers together read from it. */
  readonly bytesOutPerSecond: number;
  /** Share of what the shard can take under the binding limit (1 = full). */
  readonly utilization: number;
}

/** One line of a cost breakdown. */
export interface CostItem {
  readonly name: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice: number;
  readonly cost: number;
}

/** A month's cost in one capacity mode. */
export interface CostBreakdown {
  readonly items: readonly CostItem[];
  readonly total: number;
}

/** The binding per-shard limit. */
export type BindingLimit = 'records in' | 'bytes in' | 'bytes out';

/**
 * What {@link sizeStream} finds; `sluice size --json` prints it.
 *
 * @see formatSizing
 */
export interface SizingResult {
  readonly input: {
    readonly rate: number;
    readonly recordSize: number;
    readonly consumers: number;
    readonly efo: boolean;
    readonly peakFactor: number;
    readonly keys: number | null;
    readonly keySkew: number | null;
  };
  readonly peakRate: number;
  /** Records per second one shard takes under every limit, and which limit that is. */
  readonly shardCapacity: { readonly recordsPerSecond: number; readonly binding: BindingLimit };
  /** Shards the peak needs if it spread evenly. */
  readonly evenShards: number;
  /** Shards recommended for provisioned mode: the hottest shard within its limits. */
  readonly shards: number;
  /** False when no shard count keeps the hottest shard within limits (one key is too hot). */
  readonly feasible: boolean;
  readonly average: ShardLoad;
  readonly hottest: ShardLoad;
  /** Each shard's share of the records at {@link SizingResult.shards} shards. */
  readonly shardShares: readonly number[];
  /** The busiest key (only with `keys`). */
  readonly hottestKey: { readonly key: string; readonly share: number; readonly recordsPerSecond: number } | null;
  /** GetRecords calls per second each polling consumer may make on each shard. */
  readonly getRecordsPerConsumer: number | null;
  readonly hoursPerMonth: number;
  readonly cost: { readonly provisioned: CostBreakdown; readonly onDemand: CostBreakdown };
  readonly recommendation: { readonly mode: 'provisioned' | 'on-demand'; readonly shards: number; readonly reason: string };
  readonly warnings: readonly string[];
  readonly prices: PriceTable;
}

/**
 * Sizes a Kinesis stream for a load. Bad input is a `UserError(BAD_OPTION)` naming the flag.
 *
 * Shards: the peak spread evenly needs ⌈peak ÷ shard capacity⌉, where a shard takes 1,000
 * records/s, 1 MB/s in, and (polling) 2 MB/s out shared by all consumers. With `keys`, the
 * keys are hashed onto shards as Kinesis does and the count grows until the hottest shard fits.
 *
 * @example sizeStream({ rate: 3000, recordSize: 1024 }).shards // 3
 * @see formatSizing
 */
export function sizeStream(input: SizingInput): SizingResult {
  const checked = checkInput(input);
  const { rate, recordSize, consumers, efo, peakFactor, keys, keySkew } = checked;
  const prices = input.prices ?? DEFAULT_PRICES;
  const peakRate = rate * peakFactor;
  const warnings: string[] = [];

  // records/s one shard takes under each limit; the smallest binds
  const limits: [BindingLimit, number][] = [
    ['records in', SHARD_WRITE_RECORDS_PER_SECOND],
    ['bytes in', SHARD_WRITE_BYTES_PER_SECOND / recordSize],
  ];
  if (!efo) limits.push(['bytes out', SHARD_READ_BYTES_PER_SECOND / (consumers * recordSize)]);
  const [binding, capacity] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  const evenShards = Math.max(1, ceil(peakRate / capacity));

  let shards = evenShards;
  let shares: Float64Array = new Float64Array(evenShards).fill(1 / evenShards);
  let feasible = true;
  let hottestKey: SizingResult['hottestKey'] = null;
  if (keys !== null) {
    const placement = new KeyPlacement(keys, keySkew ?? 0);
    const top = placement.shares[0] as number;
    hottestKey = { key: keyName(0), share: top, recordsPerSecond: top * peakRate };
    if (fits(top * peakRate, capacity)) {
      shards = evenShards;
      shares = placement.shardShares(shards);
      while (!fits(max(shares) * peakRate, capacity) && shards < MAX_SHARDS) shares = placement.shardShares(++shards);
      feasible = fits(max(shares) * peakRate, capacity);
    } else {
      feasible = false;
    }
    if (!feasible) {
      shards = evenShards;
      shares = placement.shardShares(shards);
      const hot = top * peakRate;
      warnings.push(
        fits(hot, capacity)
          ? `no count up to ${MAX_SHARDS} shards keeps the hottest shard within its limits; spread the busiest keys (add a suffix to them)`
          : `the busiest key alone needs ${fmt(hot, 0)} records/s at peak, more than one shard takes (${fmt(capacity, 0)}/s, ${binding}): no shard count helps; spread that key over several (a random suffix) or drop it as the partition key`,
      );
    }
  }

  const load = (share: number): ShardLoad => {
    const records = share * peakRate;
    return { recordsPerSecond: records, bytesInPerSecond: records * recordSize, bytesOutPerSecond: records * recordSize * consumers, utilization: records / capacity };
  };
  const average = load(1 / shards);
  const hottest = load(max(shares));

  if (!efo && consumers > 2) {
    warnings.push(
      `${consumers} polling consumers share each shard's 2 MB/s and ${SHARD_GET_RECORDS_PER_SECOND} GetRecords calls/s (${fmt(SHARD_GET_RECORDS_PER_SECOND / consumers, 2)} each, about ${consumers * 200} ms between reads); enhanced fan-out (--efo) gives each its own 2 MB/s`,
    );
  }
  if (peakRate * recordSize > ON_DEMAND_INITIAL_WRITE_BYTES) {
    warnings.push(`on-demand: a new stream starts at 4 MB/s of writes and adapts to twice its peak of the last 30 days; a first peak of ${fmt((peakRate * recordSize) / (1024 * 1024), 1)} MB/s would be throttled until it scales (or create it with provisioned shards, then switch)`);
  }

  const provisioned = provisionedCost({ rate, recordSize, consumers, efo, shards, prices });
  const onDemand = onDemandCost({ rate, recordSize, consumers, efo, prices });
  const recommendation = recommend(provisioned.total, onDemand.total, shards, peakFactor);

  return {
    input: { rate, recordSize, consumers, efo, peakFactor, keys, keySkew },
    peakRate,
    shardCapacity: { recordsPerSecond: capacity, binding },
    evenShards,
    shards,
    feasible,
    average,
    hottest,
    shardShares: Array.from(shares),
    hottestKey,
    getRecordsPerConsumer: efo ? null : SHARD_GET_RECORDS_PER_SECOND / consumers,
    hoursPerMonth: HOURS_PER_MONTH,
    cost: { provisioned, onDemand },
    recommendation,
    warnings,
    prices,
  };
}

interface CostInput {
  readonly rate: number;
  readonly recordSize: number;
  readonly consumers: number;
  readonly efo: boolean;
  readonly prices: PriceTable;
}

/** Shard-hours and PUT payload units, plus consumer-shard-hours and GB read with enhanced fan-out. */
function provisionedCost({ rate, recordSize, consumers, efo, shards, prices }: CostInput & { readonly shards: number }): CostBreakdown {
  const p = prices.provisioned;
  const records = rate * SECONDS_PER_MONTH;
  const units = records * Math.ceil(recordSize / PUT_PAYLOAD_UNIT_BYTES);
  const items: CostItem[] = [
    item(`shards (${shards} × ${HOURS_PER_MONTH} h)`, shards * HOURS_PER_MONTH, 'shard-hours', p.shardHour),
    item('PUTs in 25 KB payload units', units / 1e6, 'million units', p.putPayloadUnitsPerMillion),
  ];
  if (efo) {
    items.push(item(`fan-out (${consumers} × ${shards} × ${HOURS_PER_MONTH} h)`, consumers * shards * HOURS_PER_MONTH, 'consumer-shard-hours', p.efoConsumerShardHour));
    items.push(item('fan-out data read', (consumers * records * recordSize) / GB, 'GB', p.efoGbRetrieved));
  }
  return breakdown(items);
}

/** Stream-hours, GB in (records rounded up to 1 KB), GB read (polling or enhanced fan-out). */
function onDemandCost({ rate, recordSize, consumers, efo, prices }: CostInput): CostBreakdown {
  const p = prices.onDemand;
  const records = rate * SECONDS_PER_MONTH;
  const billedSize = Math.ceil(recordSize / ON_DEMAND_BILLING_ROUND_BYTES) * ON_DEMAND_BILLING_ROUND_BYTES;
  const read = (consumers * records * recordSize) / GB;
  return breakdown([
    item('stream', HOURS_PER_MONTH, 'stream-hours', p.streamHour),
    item('data in (records rounded up to 1 KB)', (records * billedSize) / GB, 'GB', p.gbIngested),
    efo ? item('fan-out data read', read, 'GB', p.efoGbRetrieved) : item('data read', read, 'GB', p.gbRetrieved),
  ]);
}

function recommend(provisioned: number, onDemand: number, shards: number, peakFactor: number): SizingResult['recommendation'] {
  const saving = Math.abs(provisioned - onDemand);
  if (provisioned <= onDemand) {
    return { mode: 'provisioned', shards, reason: `provisioned is ${money(saving)} a month cheaper at this load (${shards} ${shards === 1 ? 'shard' : 'shards'} sized for the peak)` };
  }
  const why = peakFactor > 1 ? `; provisioned pays for the peak (×${peakFactor}) all month` : '';
  return { mode: 'on-demand', shards, reason: `on-demand is ${money(saving)} a month cheaper at this load${why}` };
}

function item(name: string, quantity: number, unit: string, unitPrice: number): CostItem {
  return { name, quantity, unit, unitPrice, cost: quantity * unitPrice };
}

function breakdown(items: CostItem[]): CostBreakdown {
  return { items, total: items.reduce((sum, i) => sum + i.cost, 0) };
}

/** Checked input with defaults; messages name the `sluice size` flags. */
function checkInput(input: SizingInput): SizingResult['input'] {
  const fail = (message: string): never => {
    throw new UserError(ErrorCode.BAD_OPTION, message);
  };
  const { rate, recordSize } = input;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) fail(`--rate must be a number of records per second > 0, got ${String(rate)}`);
  if (!Number.isSafeInteger(recordSize) || recordSize < 1 || recordSize > MAX_RECORD_BYTES) {
    fail(`--record-size must be from 1 B to 1 MB (1048576 B), got ${String(recordSize)}`);
  }
  const consumers = input.consumers ?? 1;
  if (!Number.isSafeInteger(consumers) || consumers < 1) fail(`--consumers must be a whole number ≥ 1, got ${String(consumers)}`);
  const efo = input.efo === true;
  if (efo && consumers > EFO_MAX_CONSUMERS) fail(`--consumers: a stream registers at most ${EFO_MAX_CONSUMERS} enhanced fan-out consumers, got ${consumers}`);
  const peakFactor = input.peakFactor ?? 1;
  if (typeof peakFactor !== 'number' || !Number.isFinite(peakFactor) || peakFactor < 1) fail(`--peak-factor must be a number ≥ 1 (peak ÷ average), got ${String(peakFactor)}`);
  const keys = input.keys ?? null;
  if (keys !== null && (!Number.isSafeInteger(keys) || keys < 1 || keys > MAX_KEYS)) fail(`--keys must be a whole number from 1 to ${MAX_KEYS}, got ${String(keys)}`);
  const keySkew = input.keySkew ?? null;
  if (keySkew !== null) {
    if (keys === null) fail('--key-skew needs --keys (how many distinct partition keys the skew is over)');
    if (typeof keySkew !== 'number' || !Number.isFinite(keySkew) || keySkew < 0 || keySkew > 10) fail(`--key-skew must be a Zipf exponent from 0 to 10, got ${String(keySkew)}`);
  }
  return { rate, recordSize, consumers, efo, peakFactor, keys, keySkew: keys === null ? null : (keySkew ?? 0) };
}

/** ⌈x⌉, forgiving the last bits of floating-point error (3000 ÷ 1000 stays 3). */
function ceil(x: number): number {
  return Math.ceil(x * (1 - 1e-12));
}

function fits(recordsPerSecond: number, capacity: number): boolean {
  return recordsPerSecond <= capacity * (1 + 1e-12);
}

function max(values: Float64Array): number {
  let m = 0;
  for (const v of values) if (v > m) m = v;
  return m;
}

/**
 * Dollars with cents and thousands separators.
 *
 * @example money(32.4) // '$32.40'
 */
export function money(usd: number): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * A number with `digits` decimals and thousands separators.
 *
 * @example fmt(1234.5, 1) // '1,234.5'
 */
export function fmt(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
