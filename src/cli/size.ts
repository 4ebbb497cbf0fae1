import type { Command } from 'commander';
import { loadPrices } from '../loadtest/prices.js';
import { sizeStream, type SizingResult } from '../loadtest/sizing.js';
import { formatSizing } from '../loadtest/sizing-text.js';
import { parseByteSize, parseNumber } from '../loadtest/units.js';
import type { CliIo } from './common.js';

/** Flags of `sluice size`, as commander gives them. */
export interface SizeFlags {
  readonly rate: string;
  readonly recordSize: string;
  readonly consumers?: string | undefined;
  readonly efo?: boolean | undefined;
  readonly peakFactor?: string | undefined;
  readonly keys?: string | undefined;
  readonly keySkew?: string | undefined;
  readonly prices?: string | undefined;
  readonly json?: boolean | undefined;
}

/** `sluice size`: shards and monthly cost of a Kinesis stream for a load. */
export function sizeCommand(program: Command, _io: CliIo): void {
  program
    .command('size')
    .description('Kinesis shards and monthly cost (provisioned vs on-demand) for a load, from the per-shard limits and the partition-key spread')
    .requiredOption('--rate <records/s>', 'average records per second')
    .requiredOption('--record-size <bytes>', 'bytes per record as Kinesis counts them, data plus partition key: 1024, 1KB, 512B (KB = 1,024 B)')
    .option('--consumers <n>', 'applications reading the stream (default 1)')
    .option('--efo', 'consumers use enhanced fan-out (their own 2 MB/s per shard each) instead of polling')
    .option('--peak-factor <f>', 'peak rate ÷ average rate; shards are sized for the peak (default 1)')
    .option('--keys <n>', 'distinct partition keys (default: so many that they spread evenly)')
    .option('--key-skew <z>', 'Zipf exponent of key popularity over --keys (default 0: all keys equally busy)')
    .option('--prices <file>', "a JSON price table for another region or date (the shape of --json's \"prices\")")
    .option('--json', 'print the whole model as JSON')
    .action(async (flags: SizeFlags) => {
      process.stdout.write((await runSize(flags)).text);
    });
}

/**
 * Checks the flags (one-line errors naming the flag), sizes the stream, and returns the result
 * with the text to print (a table, or JSON with `--json`).
 *
 * @example (await runSize({ rate: '3000', recordSize: '1KB' })).result.shards // 3
 */
export async function runSize(flags: SizeFlags): Promise<{ readonly result: SizingResult; readonly text: string }> {
  const rate = parseNumber(flags.rate, '--rate', { min: 0, above: true, what: 'a number of records per second' });
  const recordSize = parseByteSize(flags.recordSize, '--record-size');
  const consumers = flags.consumers === undefined ? undefined : parseNumber(flags.consumers, '--consumers', { min: 1, integer: true });
  const peakFactor = flags.peakFactor === undefined ? undefined : parseNumber(flags.peakFactor, '--peak-factor', { min: 1 });
  const keys = flags.keys === undefined ? undefined : parseNumber(flags.keys, '--keys', { min: 1, integer: true });
  const keySkew = flags.keySkew === undefined ? undefined : parseNumber(flags.keySkew, '--key-skew', { min: 0 });
  const prices = flags.prices === undefined ? undefined : await loadPrices(flags.prices);
  const result = sizeStream({ rate, recordSize, consumers, efo: flags.efo, peakFactor, keys, keySkew, prices });
  const text = flags.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatSizing(result).join('\n')}\n`;
  return { result, text };
}
