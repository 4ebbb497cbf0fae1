import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { isPipelineDefinition, type PipelineDefinition } from '../core/definition.js';
import { ErrorCode, UserError, isUserError, messageOf } from '../core/errors.js';
import { addRunFlags, type CliIo } from './common.js';
import { execute, type RunFlags } from './execute.js';

/** `sluice run MODULE`: runs the pipeline a TypeScript or JavaScript module exports. */
export function runCommand(program: Command, io: CliIo): void {
  const command = program
    .command('run')
    .description('run the pipeline exported by a TypeScript or JavaScript module')
    .argument('<module>', 'file whose default export is definePipeline(…)')
    .option('--source <url>', "where events come from; overrides the pipeline's default");
  addRunFlags(command).action(async (modulePath: string, flags: RunFlags) => {
    const definition = await loadPipeline(modulePath);
    await execute(definition, flags, io.report);
  });
}

/** Imports a pipeline module (TypeScript through tsx) and returns its definition. */
export async function loadPipeline(modulePath: string): Promise<PipelineDefinition> {
  const file = resolve(modulePath);
  if (!existsSync(file)) throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read pipeline module '${modulePath}': no such file`);
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
    throw new UserError(ErrorCode.BAD_DEFINITION, `cannot load pipeline module '${modulePath}': ${messageOf(err).split('\n')[0]}`, { cause: err });
  }
  const candidate = loaded['default'] ?? loaded['pipeline'];
  if (!isPipelineDefinition(candidate)) {
    throw new UserError(
      ErrorCode.BAD_DEFINITION,
      `'${modulePath}' does not export a pipeline; write: export default definePipeline('name', (s) => …)`,
    );
  }
  return candidate;
}
