import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { isPipelineDefinition, type PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError, isUserError, messageOf } from '../core/errors.js';
import { addRunFlags, type CliIo } from './common.js';
import { BUILTIN_PIPELINES } from '../pipelines/index.js';
import { execute, type RunFlags } from './execute.js';
import { kclEndpointOf, runKclSupervisor } from '../ingest/kinesis/kcl/supervisor.js';

/** `sluice run MODULE`: runs the pipeline a TypeScript or JavaScript module exports. */
export function runCommand(program: Command, io: CliIo): void {
  const command = program
    .command('run')
    .description('run the pipeline exported by a TypeScript or JavaScript module')
    .argument('<module>', 'file whose default export is definePipeline(…), or a built-in pipeline name')
    .option('--source <url>', "where events come from; overrides the pipeline's default");
  addRunFlags(command).action(async (modulePath: string, flags: RunFlags) => {
    const definition = await loadPipeline(modulePath);
    // KCL mode: this process supervises the MultiLangDaemon, which runs the pipeline per shard
    const kcl = kclEndpointOf(flags.source ?? definition.defaults.source);
    if (kcl !== undefined) return runKclSupervisor({ module: modulePath, definition, flags, endpoint: kcl, report: io.report });
    await execute(definition, flags, io);
  });
}

/** Imports a pipeline module (TypeScript through tsx) and returns its definition. */
export async function loadPipeline(modulePath: string): Promise<PipelineDefinition> {
  const file = resolve(modulePath);
  if (!existsSync(file)) {
    const builtin = BUILTIN_PIPELINES[modulePath as keyof typeof BUILTIN_PIPELINES];
    if (builtin !== undefined) return builtin;
    throw new UserError(
      ErrorCode.UNREADABLE_INPUT,
      `cannot read pipeline module '${modulePath}': no such file (built-in pipelines: ${Object.keys(BUILTIN_PIPELINES).join(', ')})`,
    );
  }
  let loaded: Record<string, unknown>;
  try {
    if (/\.[cm]?tsx?$/.test(file)) {
      const { tsImport } = await import('tsx/esm/api');
      loaded = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
    } else {
      loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    }
  } catch (err) {
    if (isUserError(err)) throw err;
    // keep the lines that say what and where (esbuild puts the location on the second line)
    const detail = messageOf(err)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('at '))
      .slice(0, 2)
      .join(' ');
    throw new UserError(ErrorCode.BAD_DEFINITION, `cannot load pipeline module '${modulePath}': ${detail}`, { cause: err });
  }
  // a module compiled to CommonJS (no "type": "module") arrives as { default: { default: … } }
  const inner = loaded['default'] as Record<string, unknown> | undefined;
  const candidate = [loaded['default'], loaded['pipeline'], inner?.['default'], inner?.['pipeline']].find(isPipelineDefinition);
  if (candidate === undefined) {
    throw new UserError(
      ErrorCode.BAD_DEFINITION,
      `'${modulePath}' does not export a pipeline; write: export default definePipeline('name', (s) => …)`,
    );
  }
  return candidate;
}
