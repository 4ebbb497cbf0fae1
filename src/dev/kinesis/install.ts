/**
 * Installs the Kinesis and DynamoDB peers' npm packages into the cache on first use:
 * `kinesis-local` (kinesis-mock compiled to JavaScript) and `dynalite`, pinned, with the npm that
 * came with this Node, into `.cache/kinesis-peers/<kinesis-local version>-<dynalite version>`.
 *
 * They are not Sluice dependencies: only the tests and `sluice dev kinesis` run them, and
 * kinesis-local alone is 9 MB of JavaScript. npm runs under the install lock
 * (../common/install.ts), so parallel test files do not install at once; the ones that waited
 * find the `ready` marker and reuse the install.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { installOnce, isInstalled, removeOtherInstalls } from '../common/install.js';
import { run, tail, type RunResult } from '../common/process.js';

/** The kinesis-local release (kinesis-mock 0.6.x: ListShards, resharding, SubscribeToShard over h2c). */
export const KINESIS_LOCAL_VERSION = '0.6.2';
/** The dynalite release (in-memory DynamoDB for lease tables; needs Node 20 or newer). */
export const DYNALITE_VERSION = '4.0.0';
/** dynalite 4 declares `engines.node >=20`. */
const MIN_NODE_MAJOR = 20;

/** Where the installed peers' entry points are. */
export interface KinesisPeersInstall {
  /** kinesis-local's `main.js`, run with this Node. */
  readonly kinesisMain: string;
  /** The self-signed certificate bundle kinesis-local's TLS port needs (`KINESIS_MOCK_CERT_PATH`). */
  readonly kinesisCert: string;
  /** dynalite's `cli.js`, run with this Node. */
  readonly dynaliteCli: string;
}

/** The entry points inside an install folder. */
export function kinesisPeersIn(dir: string): KinesisPeersInstall {
  const modules = join(dir, 'node_modules');
  return {
    kinesisMain: join(modules, 'kinesis-local', 'main.js'),
    kinesisCert: join(modules, 'kinesis-local', 'server.json'),
    dynaliteCli: join(modules, 'dynalite', 'cli.js'),
  };
}

/**
 * Returns the peers' entry points, installing both packages into `cacheDir` first if these
 * versions never were. Rejects with a UserError when Node is older than 20 or npm fails (its
 * output's tail included).
 *
 * @example const { kinesisMain } = await ensureKinesisPeers({ cacheDir: packageCacheDir('kinesis-peers'), log })
 */
export async function ensureKinesisPeers(options: { cacheDir: string; log: (line: string) => void }): Promise<KinesisPeersInstall> {
  requireNode();
  const name = `${KINESIS_LOCAL_VERSION}-${DYNALITE_VERSION}`;
  const dir = join(options.cacheDir, name);
  if (isInstalled(dir)) return kinesisPeersIn(dir);
  const packages = [`kinesis-local@${KINESIS_LOCAL_VERSION}`, `dynalite@${DYNALITE_VERSION}`];
  const announce = `installing ${packages.join(' and ')} with npm into ${dir} (first use only)`;
  await installOnce(dir, { product: 'kinesis-local and dynalite', lock: 'kinesis-peers', log: options.log, announce }, async (part) => {
    const npm = npmCommand();
    let result: RunResult;
    try {
      // cwd = the fresh folder, so npm sees no package.json or workspace around it
      result = await run(npm, ['install', '--prefix', part, '--no-save', '--no-audit', '--no-fund', '--no-update-notifier', ...packages], { cwd: part });
    } catch (err) {
      throw new UserError(ErrorCode.BAD_OPTION, `needs npm to install ${packages.join(' and ')} on first use, but '${npm}' could not be run; install npm with Node`, { cause: err });
    }
    if (result.code !== 0) {
      throw new UserError(ErrorCode.BAD_OPTION, `npm could not install ${packages.join(' and ')} (exit code ${result.code}; the npm registry must be reachable on first use):\n${tail(result.output)}`);
    }
    const installed = kinesisPeersIn(part);
    const missing = Object.values(installed).filter((path) => !existsSync(path));
    if (missing.length > 0) throw new Error(`npm installed ${packages.join(' and ')}, but ${missing.join(', ')} is missing`);
  });
  // an earlier pin's packages are dead weight once this one is installed
  await removeOtherInstalls(options.cacheDir, name, /^\d+\.\d+\.\d+-\d+\.\d+\.\d+$/);
  return kinesisPeersIn(dir);
}

/** The npm beside this Node (a PATH may lead to another Node's), else the one on the PATH. */
function npmCommand(): string {
  const beside = join(dirname(process.execPath), process.platform === 'win32' ? 'npm.cmd' : 'npm');
  return existsSync(beside) ? beside : 'npm';
}

function requireNode(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    throw new UserError(ErrorCode.BAD_OPTION, `the local DynamoDB (dynalite ${DYNALITE_VERSION}) needs Node ${MIN_NODE_MAJOR} or newer, but this is Node ${process.versions.node}`);
  }
}
