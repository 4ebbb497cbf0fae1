/**
 * `npm run image:check` passes: hadolint and the Dockerfile's invariants find nothing, and the
 * production tree the image holds starts from its environment, answers the image's health check
 * and stops on SIGTERM within the deadline with a final checkpoint. (Run as its script, without
 * the `ensure` step the suite's command has already done.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli.js';

beforeAll(() => ensureBuilt());

function imageCheck(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'scripts', 'image-check.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

describe('npm run image:check', () => {
  it('lints the Dockerfile and runs the production tree through start, health check and SIGTERM', async () => {
    const { code, output } = await imageCheck();
    expect(output).not.toContain('FAIL');
    for (const step of [
      /^image:check: ok {3}hadolint [\d.]+ \(threshold info\)$/m,
      /^image:check: ok {3}Dockerfile invariants/m,
      /^image:check: ok {3}production tree: npm package \+ npm ci --omit=dev, no dev dependencies$/m,
      /^image:check: ok {3}sluice start from the environment \(as .*\) reads and checkpoints$/m,
      /^image:check: ok {3}the image's HEALTHCHECK \(deploy\/image\/healthcheck\.mjs\) gets 200 from \/healthz on SLUICE_OPS_PORT \d+$/m,
      /^image:check: ok {3}SIGTERM: exit 0 within --shutdown-timeout 10s \(took \d+ ms\) with a final checkpoint \(\d+\)$/m,
      /^image:check: ok {3}the HEALTHCHECK fails once Sluice is gone$/m,
      /^image:check: all checks passed$/m,
    ]) {
      expect(output).toMatch(step);
    }
    expect(code, output).toBe(0);
  }, 180_000);
});
