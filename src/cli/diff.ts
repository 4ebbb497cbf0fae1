import type { Command } from 'commander';
import { diffResults, formatDiff, loadResultSet, type LoadOptions } from '../backfill/diff.js';
import type { CliIo } from './common.js';

/** Set by `sluice diff` when the result sets differ; main turns it into the exit code. */
export class DiffMismatch extends Error {
  constructor() {
    super('result sets differ');
  }
}

/** `sluice diff A B`: compares two result sets by id (highest revision); exit 0 when they match. */
export function diffCommand(program: Command, io: CliIo & { readonly out?: (line: string) => void }): void {
  program
    .command('diff')
    .description('compare two result sets (JSON Lines files, .gz, directories, globs or s3://BUCKET/PREFIX) by result id; exit 0 only when they match')
    .argument('<a>', 'the reference results (e.g. the live run)')
    .argument('<b>', 'the results to check (e.g. the backfill)')
    .option('--examples <n>', 'examples shown of each kind of difference', '3')
    .action(async (a: string, b: string, flags: { examples: string }) => {
      // the S3 client only when a side is in S3: a diff of files loads no AWS SDK
      const options: LoadOptions = [a, b].some((side) => side.startsWith('s3:')) ? { s3: (await import('../ingest/s3/service.js')).s3Service } : {};
      const [left, right] = await Promise.all([loadResultSet(a, options), loadResultSet(b, options)]);
      const report = diffResults(left.results, right.results, [...left.ranges, ...right.ranges]);
      const out = io.out ?? ((line: string) => process.stdout.write(line + '\n'));
      for (const line of formatDiff(report, { examples: Math.max(0, Number(flags.examples) || 0) })) out(line);
      for (const [name, side] of [['A', left], ['B', right]] as const) {
        if (side.conflicts > 0) io.report(`sluice: ${side.conflicts} ids in ${name} have two different results with the same revision`);
      }
      if (!report.matches) throw new DiffMismatch();
    });
}
