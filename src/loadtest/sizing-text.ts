/**
 * `sluice size`'s text output: the load, the average and hottest shard against the limits, the
 * recommendation, and a month's cost in both modes side by side.
 *
 * @module
 */
import { EFO_READ_BYTES_PER_SECOND, MB, SHARD_READ_BYTES_PER_SECOND, SHARD_WRITE_BYTES_PER_SECOND, SHARD_WRITE_RECORDS_PER_SECOND } from './limits.js';
import { fmt, money, type CostItem, type ShardLoad, type SizingResult } from './sizing.js';

/**
 * The lines `sluice size` prints.
 *
 * @example formatSizing(sizeStream({ rate: 3000, recordSize: 1024 })).join('\n')
 * @see sizeStream
 */
export function formatSizing(r: SizingResult): string[] {
  const { input } = r;
  const readers = `${input.consumers} ${input.efo ? 'enhanced fan-out' : 'polling'} ${input.consumers === 1 ? 'consumer' : 'consumers'}`;
  const keys = input.keys === null ? 'keys spread evenly' : `${fmt(input.keys, 0)} keys, Zipf skew ${input.keySkew ?? 0}`;
  const peak = input.peakFactor === 1 ? '' : `, peak ×${input.peakFactor} = ${fmt(r.peakRate, 0)} records/s`;
  const lines: string[] = [];
  lines.push(`Kinesis sizing: ${fmt(input.rate, 0)} records/s × ${fmt(input.recordSize, 0)} B${peak}; ${readers}; ${keys}`);
  lines.push('');
  const row = (name: string, records: string, bytesIn: string, bytesOut: string, share: string): string =>
    `  ${name.padEnd(9)}${records.padStart(12)}${bytesIn.padStart(10)}${bytesOut.padStart(12)}${share.padStart(10)}`;
  const outLimit = input.efo ? `${fmt(EFO_READ_BYTES_PER_SECOND / MB, 2)} each` : fmt(SHARD_READ_BYTES_PER_SECOND / MB, 2);
  lines.push(row('per shard', 'records/s', 'MB/s in', 'MB/s out', 'of limit'));
  lines.push(row('limit', fmt(SHARD_WRITE_RECORDS_PER_SECOND, 0), fmt(SHARD_WRITE_BYTES_PER_SECOND / MB, 2), outLimit, ''));
  const loadRow = (name: string, load: ShardLoad): string =>
    row(name, fmt(load.recordsPerSecond, 0), fmt(load.bytesInPerSecond / MB, 2), fmt(load.bytesOutPerSecond / MB, 2), `${fmt(load.utilization * 100, 0)}%`);
  lines.push(loadRow('average', r.average));
  lines.push(loadRow('hottest', r.hottest));
  lines.push(`  binding limit: ${r.shardCapacity.binding} (one shard takes ${fmt(r.shardCapacity.recordsPerSecond, 0)} records/s of ${fmt(input.recordSize, 0)} B)`);
  if (r.hottestKey !== null) {
    lines.push(`  hottest key carries ${fmt(r.hottestKey.share * 100, 1)}% (${fmt(r.hottestKey.recordsPerSecond, 0)} records/s); evenly spread the peak would need ${r.evenShards} ${r.evenShards === 1 ? 'shard' : 'shards'}`);
  }
  lines.push('');
  const shards = `${r.recommendation.shards} ${r.recommendation.shards === 1 ? 'shard' : 'shards'}`;
  lines.push(`recommended: ${r.recommendation.mode}, ${shards}${r.feasible ? '' : ' (the hottest shard still exceeds its limits, see below)'}: ${r.recommendation.reason}`);
  lines.push('');
  lines.push(...costTable(r));
  lines.push('');
  lines.push(`prices: ${r.prices.region} as of ${r.prices.asOf}, from ${r.prices.source}; a month = ${r.hoursPerMonth} h; replace them with --prices FILE`);
  for (const warning of r.warnings) lines.push(`note: ${warning}`);
  return lines.map((line) => line.trimEnd());
}

function costTable(r: SizingResult): string[] {
  const NAME = 72;
  const COL = 13;
  const line = (name: string, provisioned: string, onDemand: string): string => `  ${name.padEnd(NAME)}${provisioned.padStart(COL)}${onDemand.padStart(COL)}`;
  const describe = (i: CostItem): string => `${i.name}: ${fmt(i.quantity, i.quantity < 100 ? 2 : 0)} ${i.unit} × ${money4(i.unitPrice)}`;
  const lines = [line(`monthly cost`, 'provisioned', 'on-demand')];
  for (const i of r.cost.provisioned.items) lines.push(line(describe(i), money(i.cost), ''));
  for (const i of r.cost.onDemand.items) lines.push(line(describe(i), '', money(i.cost)));
  lines.push(line('total', money(r.cost.provisioned.total), money(r.cost.onDemand.total)));
  return lines;
}

/** A unit price: cents and as many decimals as it has, up to 4 ($0.015, $0.04). */
function money4(usd: number): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;
}
