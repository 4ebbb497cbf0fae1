/**
 * The Dockerfile's invariants (deploy/image/invariants.ts) hold for the repository's Dockerfile,
 * and each one catches the mistake it is there for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainOf, envPairs, execForm, parseDockerfile, substitute } from '../../../deploy/image/dockerfile.js';
import { NODE_LTS_MAJOR, checkDockerfile } from '../../../deploy/image/invariants.js';
import { HADOLINT, ensurePythonTool, runCommand } from '../../../deploy/tools/python-tool.js';
import { ROOT } from '../cli/cli.js';

const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** The Dockerfile with one exact piece of text replaced (which must be there). */
function mutated(from: string | RegExp, to: string): string {
  const text = DOCKERFILE.replace(from, to);
  expect(text, `the Dockerfile no longer contains ${String(from)}`).not.toBe(DOCKERFILE);
  return text;
}

describe('the Dockerfile', () => {
  it('keeps every invariant', () => {
    expect(checkDockerfile(DOCKERFILE, ROOT)).toEqual([]);
  });

  it('reads as the stages the targets are built from', () => {
    const file = parseDockerfile(DOCKERFILE);
    expect(file.stages.map((s) => s.name)).toEqual(['build', 'base', 'kcl-jars', 'kcl', 'runtime']);
    expect(chainOf(file, 'runtime').map((s) => s.name)).toEqual(['base', 'runtime']);
    expect(chainOf(file, 'kcl').map((s) => s.name)).toEqual(['base', 'kcl']);
    expect(file.stages[0]?.from).toBe(`node:${NODE_LTS_MAJOR}-trixie-slim`);
  });

  it.each([
    ['a base image that is not the LTS line', /ARG NODE_IMAGE=node:\S+/, 'ARG NODE_IMAGE=node:25-trixie-slim', `is Node.js 25, not the current LTS line ${NODE_LTS_MAJOR}`],
    ['a registry host', /ARG NODE_IMAGE=node:\S+/, `ARG NODE_IMAGE=registry.example.com/node:${NODE_LTS_MAJOR}-trixie-slim`, 'names a registry host'],
    ['root at the end', /FROM base AS runtime\n/, 'FROM base AS runtime\nUSER root\n', 'target runtime: runs as root'],
    ['no tini', '["/usr/bin/tini", "--", "/app/bin/sluice"]', '["/app/bin/sluice"]', "ENTRYPOINT starts '/app/bin/sluice', not tini"],
    ['tini not installed', '--no-install-recommends tini', '--no-install-recommends procps', 'ENTRYPOINT runs /usr/bin/tini but no RUN installs tini'],
    ['no health check', /HEALTHCHECK[^\n]*\\\n[^\n]*\n/, '', 'has no HEALTHCHECK'],
    ['dev dependencies', 'RUN npm ci --omit=dev', 'RUN npm ci', 'installs no production tree: RUN npm ci --omit=dev'],
    ['a secret', 'ENV NODE_ENV=production', 'ENV SLUICE_KAFKA_PASSWORD=hunter2 NODE_ENV=production', 'ENV SLUICE_KAFKA_PASSWORD puts a secret into the image'],
    ['a secret build argument', 'ARG NODE_IMAGE=', 'ARG NPM_TOKEN=npm_abc123\nARG NODE_IMAGE=', 'ARG NPM_TOKEN puts a secret into the image'],
    ['a kcl target without a JRE', '--no-install-recommends default-jre-headless', '--no-install-recommends ca-certificates', 'target kcl: installs no JRE'],
    ['an unpinned aws-kcl', 'ARG AWS_KCL_VERSION=2.3.2', 'ARG AWS_KCL_VERSION=latest', 'does not pin aws-kcl'],
    ['a build that misses part of the package', 'COPY samples ./samples\n', '', 'stage build: does not COPY samples, which the build or the package needs'],
    ['the kcl target last', /\n# --- runtime: the default target[^\n]*\nFROM base AS runtime\n/, '\n', "the last stage is 'kcl'"],
  ])('catches %s', (_, from, to, problem) => {
    const problems = checkDockerfile(mutated(from, to), ROOT);
    expect(problems.some((p) => p.includes(problem)), `expected a problem containing "${problem}", got:\n${problems.join('\n')}`).toBe(true);
  });

  it('catches a single-stage Dockerfile', () => {
    const single = `FROM node:${NODE_LTS_MAJOR}-trixie-slim\nRUN npm ci --omit=dev\nUSER 1000\nENTRYPOINT ["/app/bin/sluice"]\n`;
    expect(checkDockerfile(single, ROOT)).toContain('the Dockerfile has one stage; build in a stage of its own and copy the result into the runtime stage (multi-stage)');
  });
});

describe('hadolint, as image:check runs it', () => {
  it('passes the Dockerfile and fails one that installs recommended packages', async () => {
    const hadolint = await ensurePythonTool(HADOLINT, { log: () => undefined });
    const lint = (path: string) => runCommand(hadolint, ['--no-color', '--failure-threshold', 'info', path]);
    const good = await lint(join(ROOT, 'Dockerfile'));
    expect(good.output).toBe('');
    expect(good.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-hadolint-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), mutated('--no-install-recommends tini', 'tini'));
      const bad = await lint(join(dir, 'Dockerfile'));
      expect(bad.code).not.toBe(0);
      expect(bad.output).toContain('DL3015');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('the Dockerfile reader', () => {
  it('joins continuation lines, skips comments inside them, and substitutes global ARGs', () => {
    const file = parseDockerfile('ARG IMG=node:1-slim\n# comment\nFROM ${IMG} AS a\nRUN one \\\n  # inside\n  two\nENV A=1 B="x y"\n');
    expect(file.stages[0]?.from).toBe('node:1-slim');
    expect(file.stages[0]?.instructions.map((i) => [i.keyword, i.args])).toEqual([
      ['RUN', 'one two'],
      ['ENV', 'A=1 B="x y"'],
    ]);
    expect(envPairs('A=1 B="x y"')).toEqual({ A: '1', B: 'x y' });
    expect(envPairs('LEGACY some value')).toEqual({ LEGACY: 'some value' });
    expect(execForm('["a", "b"]')).toEqual(['a', 'b']);
    expect(execForm('a b')).toBeUndefined();
    expect(substitute('${X:-d}/$Y', { Y: 'y' })).toBe('d/y');
  });
});
