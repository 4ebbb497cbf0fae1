/**
 * Kinesis Data Streams prices the sizing model uses: a small table with the date it was checked
 * and its region, replaceable with `--prices FILE` (a JSON file of the same shape: the `prices`
 * object of `sluice size --json` is one).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';

/**
 * Prices in one region, in USD. Data volumes are in GB of 1,073,741,824 bytes.
 *
 * @example DEFAULT_PRICES.provisioned.shardHour // 0.015
 * @see loadPrices
 */
export interface PriceTable {
  /** The day these prices were read off the pricing page (YYYY-MM-DD). */
  readonly asOf: string;
  readonly region: string;
  /** Where they come from, for the reader of a report. */
  readonly source: string;
  readonly provisioned: {
    readonly shardHour: number;
    /** Per million PUT payload units of 25 KB. */
    readonly putPayloadUnitsPerMillion: number;
    /** Per enhanced fan-out consumer and shard, per hour. */
    readonly efoConsumerShardHour: number;
    /** Per GB an enhanced fan-out consumer reads (polling reads are free in provisioned mode). */
    readonly efoGbRetrieved: number;
  };
  readonly onDemand: {
    readonly streamHour: number;
    /** Per GB written, each record rounded up to 1 KB. */
    readonly gbIngested: number;
    /** Per GB read by polling (shared-throughput) consumers. */
    readonly gbRetrieved: number;
    /** Per GB read by enhanced fan-out consumers. */
    readonly efoGbRetrieved: number;
  };
}

/**
 * US East (N. Virginia) prices, checked on the date in `asOf`: the provisioned shard-hour is the
 * seed documents' $0.015; the others are the pricing page's figures as AWS's price list gives them.
 */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  asOf: '2026-11-22',
  region: 'us-east-1',
  source: "the Kinesis Data Streams pricing page's us-east-1 figures",
  provisioned: Object.freeze({ shardHour: 0.015, putPayloadUnitsPerMillion: 0.014, efoConsumerShardHour: 0.015, efoGbRetrieved: 0.013 }),
  onDemand: Object.freeze({ streamHour: 0.04, gbIngested: 0.08, gbRetrieved: 0.04, efoGbRetrieved: 0.05 }),
});

const PRICE_FIELDS = {
  provisioned: ['shardHour', 'putPayloadUnitsPerMillion', 'efoConsumerShardHour', 'efoGbRetrieved'],
  onDemand: ['streamHour', 'gbIngested', 'gbRetrieved', 'efoGbRetrieved'],
} as const;

/**
 * Reads a price table from a JSON file; a missing file, bad JSON or a missing or negative price
 * is a one-line `UserError` naming `--prices` and the field.
 *
 * @example const prices = await loadPrices('eu-west-1.json')
 * @see checkPrices
 */
export async function loadPrices(file: string): Promise<PriceTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `--prices '${file}' cannot be read: ${messageOf(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `--prices '${file}' is not JSON: ${messageOf(err)}`);
  }
  return checkPrices(data, `--prices '${file}'`);
}

/**
 * Checks that `data` is a complete {@link PriceTable}; `where` starts every message.
 *
 * @example checkPrices(JSON.parse(text), '--prices prices.json')
 */
export function checkPrices(data: unknown, where: string): PriceTable {
  const fail = (why: string): never => {
    throw new UserError(ErrorCode.BAD_OPTION, `${where}: ${why}`);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('must be a JSON object like the "prices" of sluice size --json');
  const table = data as Record<string, unknown>;
  for (const field of ['asOf', 'region'] as const) {
    if (typeof table[field] !== 'string' || table[field] === '') fail(`'${field}' must be a non-empty string`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(table['asOf'] as string)) fail(`'asOf' must be a date YYYY-MM-DD, got '${String(table['asOf'])}'`);
  const section = (name: keyof typeof PRICE_FIELDS): Record<string, number> => {
    const value = table[name];
    if (typeof value !== 'object' || value === null) return fail(`'${name}' must be an object with ${PRICE_FIELDS[name].join(', ')}`);
    const out: Record<string, number> = {};
    for (const field of PRICE_FIELDS[name]) {
      const price = (value as Record<string, unknown>)[field];
      if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) fail(`'${name}.${field}' must be a price ≥ 0 in USD, got ${JSON.stringify(price)}`);
      out[field] = price as number;
    }
    return out;
  };
  const provisioned = section('provisioned');
  const onDemand = section('onDemand');
  return {
    asOf: table['asOf'] as string,
    region: table['region'] as string,
    source: typeof table['source'] === 'string' ? table['source'] : where,
    provisioned: provisioned as unknown as PriceTable['provisioned'],
    onDemand: onDemand as unknown as PriceTable['onDemand'],
  };
}
