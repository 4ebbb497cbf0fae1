/**
 * The MultiLangDaemon's jars: `SLUICE_KCL_JARS` when set (the container image's `kcl` target
 * sets it), else `.cache/kcl-jars/jars`, installed on first use with Maven from the pom.xml that
 * the `aws-kcl` package ships — the same steps as the Dockerfile's `kcl-jars` stage.
 *
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ErrorCode, UserError, messageOf } from '../../../core/errors.js';
import { installOnce, isInstalled, requireMaven } from '../../../dev/common/install.js';
import { packageCacheDir } from '../../../dev/common/files.js';
import { run, tail } from '../../../dev/common/process.js';

/** Environment variable naming a folder that holds the daemon's jars. */
export const KCL_JARS_ENV = 'SLUICE_KCL_JARS';

/** The class the daemon starts with. */
export const MULTILANG_DAEMON_CLASS = 'software.amazon.kinesis.multilang.MultiLangDaemon';

/** aws-kcl's pom has no coordinates of its own; Maven needs some to read it. */
const COORDINATES = '<groupId>sluice</groupId><artifactId>kcl-jars</artifactId><version>0</version><packaging>pom</packaging>';

/**
 * The pom.xml of the installed `aws-kcl` package with the coordinates Maven needs added after
 * `<modelVersion>` (exactly the Dockerfile's sed).
 *
 * @example withCoordinates('<modelVersion>4.0.0</modelVersion>') // '<modelVersion>4.0.0</modelVersion><groupId>sluice</groupId>…'
 */
export function withCoordinates(pom: string): string {
  const marker = '<modelVersion>4.0.0</modelVersion>';
  if (!pom.includes(marker)) throw new Error("aws-kcl's pom.xml has no <modelVersion>4.0.0</modelVersion>");
  if (pom.includes('<artifactId>kcl-jars</artifactId>')) return pom;
  return pom.replace(marker, marker + COORDINATES);
}

/** Where the daemon's jars are, from the environment, without installing anything. */
export function configuredJars(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[KCL_JARS_ENV];
  if (dir === undefined || dir === '') return undefined;
  if (!hasDaemonJar(dir)) {
    throw new UserError(ErrorCode.BAD_OPTION, `${KCL_JARS_ENV}=${dir} holds no amazon-kinesis-client-multilang jar; unset it to install the jars into .cache/kcl-jars`);
  }
  return dir;
}

/**
 * The folder with the daemon's jars: `SLUICE_KCL_JARS`, else the cache, installed on first use
 * (under the install lock, so parallel runs install once). A `UserError` when Maven is missing
 * or fails.
 *
 * @example const jars = await kclJars({ log: (line) => process.stderr.write(line + '\n') })
 */
export async function kclJars(options: { readonly log: (line: string) => void; readonly cacheDir?: string; readonly env?: NodeJS.ProcessEnv }): Promise<string> {
  const configured = configuredJars(options.env);
  if (configured !== undefined) return configured;
  const dir = options.cacheDir ?? packageCacheDir('kcl-jars');
  const jars = join(dir, 'jars');
  if (isInstalled(dir) && hasDaemonJar(jars)) return jars;
  await requireMaven(`KCL mode needs the MultiLangDaemon's jars: install Maven (mvn) to fetch them on first use, or set ${KCL_JARS_ENV} to a folder holding them`);
  const pomPath = awsKclPom();
  try {
    await installOnce(dir, { product: 'the KCL MultiLangDaemon jars', lock: 'KCL jars', log: options.log, announce: 'sluice: installing the KCL MultiLangDaemon jars with Maven (first use only)…' }, async (part) => {
      const pom = join(part, 'pom.xml');
      await writeFile(pom, withCoordinates(await readFile(pomPath, 'utf8')));
      const args = ['-B', '-q', '-f', pom, 'dependency:copy-dependencies', '-DexcludeTransitive=true', `-DoutputDirectory=${join(part, 'jars')}`];
      const result = await run('mvn', args);
      if (result.code !== 0) throw new Error(`mvn ${args.join(' ')} exited with code ${result.code}:\n${tail(result.output)}`);
      await copyFile(pom, join(part, 'jars', 'aws-kcl-pom.xml'));
    });
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `cannot install the KCL MultiLangDaemon jars into ${dir}: ${messageOf(err)}`, { cause: err });
  }
  return jars;
}

/** The pom.xml inside the installed aws-kcl package. */
export function awsKclPom(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('aws-kcl');
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `KCL mode needs the aws-kcl package: ${messageOf(err)}`, { cause: err });
  }
  const pom = join(dirname(main), 'pom.xml');
  if (!existsSync(pom)) throw new UserError(ErrorCode.BAD_OPTION, `the aws-kcl package has no pom.xml at ${pom}`);
  return pom;
}

function hasDaemonJar(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name.startsWith('amazon-kinesis-client-multilang-') && name.endsWith('.jar'));
  } catch {
    return false;
  }
}
