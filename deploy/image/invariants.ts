/**
 * What Sluice's image must be, checked on the Dockerfile itself (no Docker engine here): the
 * rules of issue 10 that a linter does not know. Each rule returns the problems it finds, as
 * lines naming the target and what to change.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { argDefaults, chainInstructions, chainOf, envPairs, execForm, optionsOf, parseDockerfile, type Dockerfile, type Instruction, type Stage } from './dockerfile.js';

/**
 * The Node.js line the image runs: 26 ('Lithium') entered Active LTS on 2026-10-28. Move it
 * when the next even line does (Node.js release schedule), with the base image.
 */
export const NODE_LTS_MAJOR = 26;

/** The targets a deployment builds: the default one, and the one with the KCL jars. */
export const TARGETS = { runtime: 'runtime', kcl: 'kcl' } as const;

/** The port the operations server listens on in the image (`SLUICE_OPS_PORT`'s default). */
export const OPS_PORT = 8081;

/** What tini's (or docker-init's) path may be; the entry point runs Sluice under it. */
const INIT = /(^|\/)(tini|tini-static|docker-init)$/;
/** ENV/ARG names that must never carry a value in an image. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|API_KEY)/i;
/** An AWS access key id, whatever the variable is called. */
const AWS_KEY = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/;

function lastOf(instructions: readonly Instruction[], keyword: string): Instruction | undefined {
  return instructions.filter((i) => i.keyword === keyword).at(-1);
}

function isRoot(user: string): boolean {
  const name = user.split(':')[0]?.trim() ?? '';
  return name === '' || name === 'root' || name === '0';
}

/** The image name of a FROM that is not a stage: `node:26-trixie-slim`. */
function externalImages(file: Dockerfile): { stage: Stage; image: string }[] {
  return file.stages.filter((s) => !file.stages.some((other) => other.name === s.from && other.index < s.index)).map((stage) => ({ stage, image: stage.from }));
}

/** Rules that hold for the whole file. */
function fileRules(file: Dockerfile): string[] {
  const problems: string[] = [];
  if (file.stages.length < 2) problems.push('the Dockerfile has one stage; build in a stage of its own and copy the result into the runtime stage (multi-stage)');
  for (const { stage, image } of externalImages(file)) {
    const first = image.split('/')[0] ?? '';
    if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
      problems.push(`stage ${stage.name}: '${image}' names a registry host; use the official image name (node:…)`);
    }
    const node = /^node:(\d+)(?:[.-]|$)/.exec(image);
    if (node === null) problems.push(`stage ${stage.name}: '${image}' is not the official Node.js image; every stage starts from node:${NODE_LTS_MAJOR}-…-slim`);
    else if (Number(node[1]) !== NODE_LTS_MAJOR) problems.push(`stage ${stage.name}: '${image}' is Node.js ${node[1]}, not the current LTS line ${NODE_LTS_MAJOR}`);
    else if (!/-slim$/.test(image)) problems.push(`stage ${stage.name}: '${image}' is not a -slim variant`);
  }
  const secret = (where: string, kind: string, pairs: Readonly<Record<string, string>>): void => {
    for (const [name, value] of Object.entries(pairs)) {
      if ((SECRET_NAME.test(name) && value !== '') || AWS_KEY.test(value)) {
        problems.push(`${where}: ${kind} ${name} puts a secret into the image; secrets come from the environment at run time (ECS from Secrets Manager)`);
      }
    }
  };
  secret('before the first FROM', 'ARG', file.globalArgs);
  for (const stage of file.stages) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword === 'ENV') secret(`line ${instruction.line}`, 'ENV', envPairs(instruction.args));
      if (instruction.keyword === 'ARG') secret(`line ${instruction.line}`, 'ARG', argDefaults(instruction.args));
    }
  }
  return problems;
}

/** Rules for one runnable target (runtime or kcl). */
function targetRules(file: Dockerfile, target: string, root: string): string[] {
  const chain = chainOf(file, target);
  if (chain.length === 0) return [`there is no stage '${target}' (docker build --target ${target})`];
  const all = chainInstructions(chain);
  const problems: string[] = [];
  const say = (text: string): void => void problems.push(`target ${target}: ${text}`);

  // built elsewhere, copied in
  const stageNames = new Set(file.stages.map((s) => s.name));
  const copiedFrom = all.filter((i) => i.keyword === 'COPY').map((i) => optionsOf(i.args).options['from']).filter((from): from is string => from !== undefined && stageNames.has(from));
  const buildStage = copiedFrom.map((name) => file.stages.find((s) => s.name === name)).find((s) => s?.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args)));
  if (buildStage === undefined) say('copies no TypeScript build from a build stage (COPY --from=<stage that runs tsc>)');

  // production dependencies only
  const runs = all.filter((i) => i.keyword === 'RUN');
  if (!runs.some((i) => /\bnpm ci\b[^&;|]*--omit=dev\b/.test(i.args))) say("installs no production tree: RUN npm ci --omit=dev");
  for (const run of runs) {
    if (/\bnpm (install|i|add)\b/.test(run.args)) say(`line ${run.line}: npm install in the image; use npm ci --omit=dev (the lockfile, no dev dependencies)`);
    if (/\bnpm ci\b/.test(run.args) && !/\bnpm ci\b[^&;|]*--omit=dev\b/.test(run.args)) say(`line ${run.line}: npm ci without --omit=dev installs dev dependencies`);
  }

  // not root: the user a container runs as is the chain's last USER
  const user = lastOf(all, 'USER');
  if (user === undefined || isRoot(user.args)) say(`runs as root; end with USER <uid> of an unprivileged user${user === undefined ? '' : ` (line ${user.line} is USER ${user.args})`}`);
  const entrypoint = lastOf(all, 'ENTRYPOINT');

  // tini as PID 1, then bin/sluice
  const argv = entrypoint === undefined ? undefined : execForm(entrypoint.args);
  if (argv === undefined) say('has no ENTRYPOINT in exec form (["/usr/bin/tini", "--", "/app/bin/sluice"])');
  else {
    if (!INIT.test(argv[0] ?? '')) say(`ENTRYPOINT starts '${argv[0]}', not tini: PID 1 must forward SIGTERM to Sluice`);
    const sluice = argv.findIndex((a) => /(^|\/)bin\/sluice$/.test(a));
    if (sluice < 0) say('ENTRYPOINT does not run bin/sluice');
    else if (argv.indexOf('--') < 0 || argv.indexOf('--') > sluice) say("ENTRYPOINT passes no '--' between tini and bin/sluice");
    if (INIT.test(argv[0] ?? '') && (argv[0] ?? '').includes('tini') && !runs.some((i) => /apt-get install\b.*\btini\b/.test(i.args))) {
      say(`ENTRYPOINT runs ${argv[0]} but no RUN installs tini`);
    }
  }
  const cmd = lastOf(all, 'CMD');
  if (cmd === undefined || JSON.stringify(execForm(cmd.args)) !== JSON.stringify(['start'])) say('CMD is not ["start"]: the container runs the pipeline its environment configures');
  const stopSignal = lastOf(all, 'STOPSIGNAL');
  if (stopSignal !== undefined && stopSignal.args !== 'SIGTERM') say(`STOPSIGNAL ${stopSignal.args}: ECS stops tasks with SIGTERM, which Sluice handles`);

  // health check on the operations port
  const health = lastOf(all, 'HEALTHCHECK');
  if (health === undefined || /^NONE\b/i.test(health.args)) say('has no HEALTHCHECK');
  else {
    const { rest } = optionsOf(health.args);
    const command = /^CMD\s+(.*)$/i.exec(rest)?.[1] ?? '';
    const argvHealth = execForm(command) ?? command.split(/\s+/);
    const script = argvHealth.find((a) => a.endsWith('.mjs') || a.endsWith('.js'));
    const copied = script === undefined ? undefined : all.find((i) => i.keyword === 'COPY' && optionsOf(i.args).options['from'] === undefined && i.args.trim().endsWith(script));
    const source = copied === undefined ? undefined : optionsOf(copied.args).rest.split(/\s+/)[0];
    const text = source !== undefined && existsSync(join(root, source)) ? readFileSync(join(root, source), 'utf8') : command;
    if (!text.includes('/healthz')) say('HEALTHCHECK does not ask /healthz');
    if (!text.includes('SLUICE_OPS_PORT')) say('HEALTHCHECK does not follow SLUICE_OPS_PORT');
  }
  const env = Object.assign({}, ...all.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args))) as Record<string, string>;
  if (env['SLUICE_OPS_PORT'] !== String(OPS_PORT)) say(`ENV SLUICE_OPS_PORT is ${env['SLUICE_OPS_PORT'] ?? 'unset'}, not ${OPS_PORT}`);
  if (!all.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes(String(OPS_PORT)))) say(`does not EXPOSE the operations port ${OPS_PORT}`);

  // the KCL target, and only it, carries a JRE and the KCL jars
  const jre = runs.some((i) => /apt-get install\b.*\b(default-jre-headless|openjdk-\d+-jre(-headless)?)\b/.test(i.args));
  if (target === TARGETS.kcl) {
    if (!jre) say('installs no JRE (default-jre-headless) for the KCL MultiLangDaemon');
    const jarStage = copiedFrom.map((name) => file.stages.find((s) => s.name === name)).find((s) => s?.instructions.some((i) => i.keyword === 'RUN' && /mvn\b.*dependency:copy-dependencies/.test(i.args)));
    if (jarStage === undefined) say('copies no KCL jars from a stage that resolves them with Maven (mvn dependency:copy-dependencies)');
    else {
      const pin = jarStage.instructions.filter((i) => i.keyword === 'ARG').map((i) => /AWS_KCL_VERSION=(\S+)/.exec(i.args)?.[1]).find((v) => v !== undefined);
      if (pin === undefined || !/^\d+\.\d+\.\d+$/.test(pin)) say(`stage ${jarStage.name} does not pin aws-kcl: ARG AWS_KCL_VERSION=X.Y.Z`);
      if (!jarStage.instructions.some((i) => i.keyword === 'RUN' && /aws-kcl@\$\{?AWS_KCL_VERSION\}?/.test(i.args))) say(`stage ${jarStage.name} does not take the pom from aws-kcl@\${AWS_KCL_VERSION}`);
    }
    if (env['SLUICE_KCL_JARS'] === undefined) say('does not say where the KCL jars are (ENV SLUICE_KCL_JARS)');
  } else if (jre) {
    say('installs a JRE; only the kcl target needs one');
  }
  return problems;
}

/**
 * The build stage must copy what the build reads and the package holds: tsconfig.build.json's
 * `include`, package.json's `files` (but the dist/ it builds), and the lockfile; and the
 * .dockerignore must not leave any of it out of the context.
 */
function buildContextRules(file: Dockerfile, root: string): string[] {
  const build = file.stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args)));
  if (build === undefined) return [];
  const readJson = (name: string): Record<string, unknown> => (existsSync(join(root, name)) ? (JSON.parse(readFileSync(join(root, name), 'utf8')) as Record<string, unknown>) : {});
  const top = (path: string): string => path.replace(/^\.\//, '').split('/')[0] as string;
  const needed = new Set([
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    ...((readJson('tsconfig.build.json')['include'] as string[] | undefined) ?? []).map(top),
    ...((readJson('package.json')['files'] as string[] | undefined) ?? []).map(top),
  ]);
  needed.delete('dist');
  const copied = new Set(
    build.instructions
      .filter((i) => i.keyword === 'COPY' && optionsOf(i.args).options['from'] === undefined)
      .flatMap((i) => (execForm(optionsOf(i.args).rest) ?? optionsOf(i.args).rest.split(/\s+/)).slice(0, -1).map(top)),
  );
  const ignored = existsSync(join(root, '.dockerignore'))
    ? readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('!'))
    : [];
  const problems: string[] = [];
  for (const path of [...needed].sort()) {
    if (!copied.has(path)) problems.push(`stage ${build.name}: does not COPY ${path}, which the build or the package needs`);
    if (ignored.includes(path) || ignored.includes(`${path}/`) || ignored.includes(`/${path}`)) problems.push(`.dockerignore leaves ${path} out of the build context`);
  }
  return problems;
}

/**
 * Every problem of the Dockerfile text, empty when the image is as it must be. `root` is where
 * the files it copies live (for the health check script).
 *
 * @example checkDockerfile(readFileSync('Dockerfile', 'utf8'), '.') // []
 */
export function checkDockerfile(text: string, root: string): string[] {
  const file = parseDockerfile(text);
  const problems = [...fileRules(file), ...buildContextRules(file, root)];
  for (const target of Object.values(TARGETS)) problems.push(...targetRules(file, target, root));
  const last = file.stages.at(-1);
  if (last !== undefined && !chainOf(file, last.name).some((s) => s.name === TARGETS.runtime)) {
    problems.push(`the last stage is '${last.name}': docker build without --target must give the runtime image, so end with the runtime stage`);
  }
  return problems;
}
