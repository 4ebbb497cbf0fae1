/**
 * cfn-lint (PyPI, installed on first use into .cache/cfn-lint-venv) finds nothing in the
 * templates of the example deployments, and does find a broken one: the check can fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, exampleConfigs } from '../../../deploy/app.js';
import { loadDeployConfig } from '../../../deploy/config.js';
import { CFN_LINT, ensurePythonTool, runCommand } from '../../../deploy/tools/python-tool.js';

let outdir: string;
let cfnLint: string;
const templates = new Map<string, string>();

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'sluice-cfn-lint-'));
  const { app, stacks } = buildApp(exampleConfigs().map(loadDeployConfig), { outdir });
  const assembly = app.synth();
  for (const stack of stacks) templates.set(stack.stackName, join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile));
  // first use: a virtualenv and pip (a minute at most); afterwards the marker short-cuts it
  cfnLint = await ensurePythonTool(CFN_LINT, { log: () => undefined });
}, 600_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cfn-lint', () => {
  it('finds nothing in any example deployment', async () => {
    expect([...templates.keys()].sort()).toEqual(['Sluice-clickstream-purchases', 'Sluice-page-views', 'Sluice-page-views-kinesis', 'Sluice-telemetry-anomalies']);
    const result = await runCommand(cfnLint, ['--format', 'parseable', ...templates.values()]);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('finds a Fargate task size that does not exist', async () => {
    const path = templates.get('Sluice-page-views') as string;
    const template = JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const task = Object.values(template.Resources).find((r) => r.Type === 'AWS::ECS::TaskDefinition');
    if (task === undefined) throw new Error('no task definition');
    task.Properties['Cpu'] = 'lots';
    const broken = join(outdir, 'broken.template.json');
    writeFileSync(broken, JSON.stringify(template));
    const result = await runCommand(cfnLint, ['--format', 'parseable', broken]);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Cpu');
  }, 120_000);
});
