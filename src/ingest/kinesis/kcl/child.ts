/**
 * `sluice kcl-processor --spec FILE` (hidden): one Sluice record processor, started by the KCL
 * MultiLangDaemon for one shard lease. Runs the pipeline of the spec the supervisor wrote, with
 * a {@link kclShardSource} as its source, the protocol on stdin/stdout and every Sluice line on
 * stderr (which the daemon drains into its log and the supervisor's stderr).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ErrorCode, UserError, messageOf } from '../../../core/errors.js';
import { execute } from '../../../cli/execute.js';
import { loadPipeline } from '../../../cli/run-module.js';
import { parseKinesisUrl } from '../../../kinesis/endpoint.js';
import { kclShardSource } from './processor.js';
import { startKclProtocol } from './service.js';
import { checkKclRun, type KclProcessorSpec } from './supervisor.js';

/**
 * Registers the hidden `kcl-processor` command.
 *
 * @example kclProcessorCommand(program, io)
 */
export function kclProcessorCommand(program: Command, io: { readonly report: (line: string) => void }): void {
  program
    .command('kcl-processor', { hidden: true })
    .description('run as the KCL MultiLangDaemon record processor of one shard (started by sluice run in KCL mode)')
    .requiredOption('--spec <file>', 'the run the supervisor described')
    .action(async (options: { spec: string }) => {
      await runKclProcessor(options.spec, io);
    });
}

/** Runs one record processor until the daemon closes its stdin or a signal stops it. */
export async function runKclProcessor(specFile: string, io: { readonly report: (line: string) => void }): Promise<void> {
  let spec: KclProcessorSpec;
  try {
    spec = JSON.parse(await readFile(specFile, 'utf8')) as KclProcessorSpec;
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot read the KCL processor spec ${specFile}: ${messageOf(err)}`, { cause: err });
  }
  const definition = await loadPipeline(spec.module);
  checkKclRun(definition, spec.flags);
  const endpoint = parseKinesisUrl(spec.flags.source ?? '', 'source');
  const source = kclShardSource(endpoint, {
    // the daemon is done with this lease: a graceful stop, as on SIGTERM (execute handles it)
    stop: () => process.kill(process.pid, 'SIGTERM'),
    log: io.report,
  });
  startKclProtocol(source, {
    fail: (err) => {
      // the daemon waits for a status that will not come: die, so it restarts the lease elsewhere
      io.report(`sluice: KCL record processor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  });
  await execute(definition, spec.flags, io, { source });
}
