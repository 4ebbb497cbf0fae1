import type { Command } from 'commander';
import { CONFIG_VARIABLES, loadContainerConfig, type ConfigVariable, type ContainerConfig } from '../config/index.js';
import type { PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError, isUserError } from '../core/errors.js';
import type { CliIo } from './common.js';
import { sinkOpener, sourceFor } from './endpoints.js';
import { execute, type RunFlags } from './execute.js';
import { loadPipeline } from './run-module.js';
import { kclEndpointOf, runKclSupervisor } from '../ingest/kinesis/kcl/supervisor.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `sluice start`: the container's entry point. Runs the pipeline the environment configures
 * (`SLUICE_PIPELINE`, `SLUICE_SOURCE`, `SLUICE_SINKS`, …; see README, Configuration) exactly as
 * `sluice run` runs it with the matching flags. A bad variable stops it before anything opens,
 * with one line naming the variable (exit 2).
 */
export function startCommand(program: Command, io: CliIo): void {
  const width = Math.max(...CONFIG_VARIABLES.map((v) => v.name.length));
  const help = CONFIG_VARIABLES.map((v: ConfigVariable) => `  ${v.name.padEnd(width)}  ${v.secret === true ? '(secret) ' : ''}${v.summary}${v.default === undefined ? '' : ` [${v.default}]`}`);
  program
    .command('start')
    .description('run the pipeline the environment configures (SLUICE_PIPELINE, SLUICE_SOURCE, SLUICE_SINKS, …): the container entry point')
    .addHelpText('after', `\nEnvironment:\n${help.join('\n')}`)
    .action(async () => {
      await startFromEnvironment(process.env, io);
    });
}

/**
 * Checks the environment's configuration, then runs its pipeline as `sluice run` would.
 *
 * @example await startFromEnvironment({ SLUICE_PIPELINE: 'clickstream', SLUICE_SOURCE: 'generator:clickstream?events=1000' }, io)
 */
export async function startFromEnvironment(env: Env, io: CliIo): Promise<void> {
  const config = loadContainerConfig(env);
  const flags = runFlagsOf(config);
  checkRunnable(config);
  const definition = await pipelineOf(config.pipeline);
  if (config.source === undefined && definition.defaults.source === undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, `SLUICE_SOURCE: not set, and pipeline '${definition.name}' names no source of its own; set it to a source URL`);
  }
  // KCL mode (image target kcl): this process supervises the MultiLangDaemon, as `sluice run` does
  const kcl = kclEndpointOf(flags.source ?? definition.defaults.source);
  if (kcl !== undefined) return runKclSupervisor({ module: config.pipeline, definition, flags, endpoint: kcl, report: io.report });
  await execute(definition, flags, io);
}

/**
 * The `sluice run` flags the configuration stands for, with the operations server's address.
 *
 * @example runFlagsOf(config).sink // ['firehose://page-views']
 */
export function runFlagsOf(config: ContainerConfig): RunFlags {
  return {
    source: config.source,
    sink: config.sinks,
    deadLetter: config.deadLetter,
    late: config.late,
    perPartition: config.perPartition,
    batchSize: config.batchSize,
    checkpoint: config.checkpoint,
    checkpointInterval: config.checkpointInterval,
    journal: config.journal,
    shutdownTimeout: config.shutdownTimeout,
    opsPort: config.opsPort,
    opsHost: config.opsHost,
    logFormat: config.logFormat,
  };
}

/**
 * Resolves every URL as the run will (the same functions), so that what the connectors refuse is
 * reported under the variable's name rather than a flag the container never had.
 */
function checkRunnable(config: ContainerConfig): void {
  if (config.source !== undefined) renamed('--source', 'SLUICE_SOURCE', () => sourceFor(config.source as string, { batchSize: config.batchSize }));
  for (const sink of config.sinks ?? []) renamed('--sink', 'SLUICE_SINKS', () => sinkOpener(sink, '--sink'));
  if (config.deadLetter !== undefined) renamed('--dead-letter', 'SLUICE_DEAD_LETTER', () => sinkOpener(config.deadLetter as string, '--dead-letter'));
  if (config.late !== undefined && config.late !== 'drop') renamed('--late', 'SLUICE_LATE', () => sinkOpener(config.late as string, '--late'));
}

function renamed(flag: string, variable: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (isUserError(err) && err.message.startsWith(flag)) {
      throw new UserError(ErrorCode.BAD_OPTION, `${variable}${err.message.slice(flag.length)}`, { cause: err });
    }
    throw err;
  }
}

async function pipelineOf(name: string): Promise<PipelineDefinition> {
  try {
    return await loadPipeline(name);
  } catch (err) {
    // a missing module is a configuration mistake here (exit 2), not unreadable input
    if (isUserError(err) && !err.message.startsWith('SLUICE_')) throw new UserError(ErrorCode.BAD_OPTION, `SLUICE_PIPELINE: ${err.message}`, { cause: err });
    throw err;
  }
}
