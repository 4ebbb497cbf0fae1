/**
 * Installs moto's server from the Python package index into a virtualenv in the cache on first
 * use (`.cache/moto-venv`).
 *
 * A virtualenv cannot be moved once made (its scripts name their interpreter by absolute path),
 * so it is not built beside and renamed as the Kafka jars are: it is built in place, and the
 * `ready` marker, holding the exact requirement, is written last. A killed install leaves no
 * marker and is redone; a marker naming another version means the pin changed and the venv is
 * rebuilt. The install runs under the install lock (../common/install.ts) so parallel test files
 * do not install at once; the one that waited finds the marker and reuses the venv.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { withInstallLock } from '../common/install.js';
import { run, runOrThrow, tail, type RunResult } from '../common/process.js';

/** The moto release the local AWS peer runs (5.2.x: Firehose → S3, Timestream write, S3). */
export const MOTO_VERSION = '5.2.5';
/** What pip installs: moto with its server (Flask) and every service's dependencies. */
export const MOTO_REQUIREMENT = `moto[server]==${MOTO_VERSION}`;
/** moto 5.2 supports Python 3.9 and newer. */
const MIN_PYTHON: readonly [number, number] = [3, 9];
const READY = 'ready';

/** The `moto_server` script inside a virtualenv. */
export function motoServerPath(venvDir: string): string {
  return join(venvDir, 'bin', 'moto_server');
}

/** True when `venvDir` holds a finished install of {@link MOTO_REQUIREMENT}. */
export function isMotoInstalled(venvDir: string): boolean {
  const marker = join(venvDir, READY);
  if (!existsSync(marker) || !existsSync(motoServerPath(venvDir))) return false;
  return readFileSync(marker, 'utf8').split('\n')[0] === MOTO_REQUIREMENT;
}

/**
 * Returns the path of `moto_server`, creating the virtualenv `venvDir` with `python3 -m venv` and
 * installing {@link MOTO_REQUIREMENT} into it first if that was never done. Rejects with a
 * UserError when Python 3.9+ or its venv module is missing, and with pip's output when the
 * install fails.
 */
export async function ensureMoto(options: { venvDir: string; log: (line: string) => void }): Promise<string> {
  const { venvDir, log } = options;
  if (isMotoInstalled(venvDir)) return motoServerPath(venvDir);
  await requirePython();
  await mkdir(dirname(venvDir), { recursive: true });
  return withInstallLock(venvDir, { product: 'moto', lock: 'moto', log }, async () => {
    if (isMotoInstalled(venvDir)) return motoServerPath(venvDir); // installed by the process we waited for
    log(`installing ${MOTO_REQUIREMENT} with pip into ${venvDir} (first use only)`);
    await rm(venvDir, { recursive: true, force: true });
    await runOrThrow('python3', ['-m', 'venv', venvDir], 'python3 -m venv could not create a virtualenv (on Debian and Ubuntu, install python3-venv)');
    const python = join(venvDir, 'bin', 'python');
    const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', MOTO_REQUIREMENT];
    await runOrThrow(python, pip, `pip could not install ${MOTO_REQUIREMENT} (the Python package index must be reachable on first use)`);
    if (!existsSync(motoServerPath(venvDir))) throw new Error(`pip installed ${MOTO_REQUIREMENT} but ${motoServerPath(venvDir)} is missing`);
    await writeFile(join(venvDir, READY), `${MOTO_REQUIREMENT}\n${new Date().toISOString()}\n`);
    return motoServerPath(venvDir);
  });
}

/** Rejects with a UserError unless `python3 --version` runs and reports {@link MIN_PYTHON} or newer. */
async function requirePython(): Promise<void> {
  const need = `Python ${MIN_PYTHON.join('.')} or newer`;
  const advice = `install ${need} with its venv module (on Debian and Ubuntu: python3 and python3-venv)`;
  let result: RunResult;
  try {
    result = await run('python3', ['--version']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs python3 on the PATH to install the local moto server on first use; ${advice}`, { cause: err });
  }
  const m = /Python (\d+)\.(\d+)/.exec(result.output);
  if (result.code !== 0 || m === null) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs python3 on the PATH to install the local moto server, but 'python3 --version' failed; ${advice}\n${tail(result.output)}`);
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs ${need} to run moto ${MOTO_VERSION}, but 'python3' on the PATH is Python ${major}.${minor}; ${advice}`);
  }
}
