/**
 * The CDK app: one Sluice stack per deployment configuration.
 *
 *   npm run deploy:synth                                   # every deploy/examples/*.json → deploy/cdk.out
 *   SLUICE_DEPLOY_CONFIG=deploy/my-pipeline.json npm run deploy:synth
 *   SLUICE_DEPLOY_CONFIG=deploy/my-pipeline.json npx -p aws-cdk@2 cdk deploy --app 'npx tsx deploy/app.ts'
 *
 * Synthesis is offline: every account, region, VPC and ARN comes from the configuration, so no
 * AWS credentials and no lookups are needed.
 *
 * @module
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { DeployConfigError, loadDeployConfig, type DeployConfig } from './config.js';
import { SluiceStack } from './stack.js';

const DEPLOY_DIR = dirname(fileURLToPath(import.meta.url));

/** The example configurations, synthesized by default. */
export function exampleConfigs(): string[] {
  const dir = join(DEPLOY_DIR, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** The stack id of a deployment: `Sluice-<name>`. */
export function stackId(config: DeployConfig): string {
  return `Sluice-${config.name}`;
}

/**
 * Builds the app's stacks from checked configurations (nothing is written until `app.synth()`).
 *
 * @example const app = buildApp([loadDeployConfig('deploy/examples/msk-iam.json')], { outdir });
 */
export function buildApp(configs: readonly DeployConfig[], options: { outdir?: string } = {}): { app: App; stacks: SluiceStack[] } {
  // the CDK CLI says where it wants the assembly (CDK_OUTDIR); alone, deploy/cdk.out
  const app = new App(process.env['CDK_OUTDIR'] === undefined ? { outdir: options.outdir ?? join(DEPLOY_DIR, 'cdk.out') } : {});
  const stacks = configs.map((config) => new SluiceStack(app, stackId(config), { config }));
  return { app, stacks };
}

/** Synthesizes the configurations named by SLUICE_DEPLOY_CONFIG (comma-separated), or the examples. */
function main(): number {
  const named = process.env['SLUICE_DEPLOY_CONFIG'];
  const paths = named === undefined || named.trim() === '' ? exampleConfigs() : named.split(',').map((p) => resolve(p.trim()));
  let configs: DeployConfig[];
  try {
    configs = paths.map(loadDeployConfig);
  } catch (err) {
    if (!(err instanceof DeployConfigError)) throw err;
    process.stderr.write(`deploy: ${err.message}\n`);
    return 2;
  }
  const { app, stacks } = buildApp(configs);
  const assembly = app.synth();
  for (const stack of stacks) {
    const artifact = assembly.getStackByName(stack.stackName);
    for (const message of artifact.messages) process.stderr.write(`deploy: ${stack.stackName}: ${message.level}: ${String(message.entry.data)}\n`);
    process.stderr.write(`deploy: ${stack.stackName} → ${join(assembly.directory, artifact.templateFile)}\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main();
}
