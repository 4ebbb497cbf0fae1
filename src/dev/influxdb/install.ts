/**
 * Installs InfluxDB's server on first use: Debian's `influxdb` package (1.6.x, the API behind
 * `/write` and `/query`), with `apt-get`, as root.
 *
 * Parallel test files may all find `influxd` missing at once; they install under one machine-wide
 * lock (apt itself allows one install at a time), and the ones that waited find it installed.
 * The package's maintainer script would start a system-wide InfluxDB on port 8086; while
 * installing, a `policy-rc.d` that refuses service starts is put in place when the machine has
 * none (Debian's documented way to install without starting services), and removed afterwards.
 */
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../../core/errors.js';
import { withInstallLock } from '../common/install.js';
import { run, tail, type RunResult } from '../common/process.js';

/** Where Debian's package puts the server. */
export const INFLUXD_PATH = '/usr/bin/influxd';
/** The Debian package that ships {@link INFLUXD_PATH}. */
export const INFLUXDB_PACKAGE = 'influxdb';
const APT_GET = '/usr/bin/apt-get';
/** Read by invoke-rc.d and deb-systemd-invoke before they start a service; exit 101 = "do not". */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
/** apt-get waits this long for dpkg's own lock (another apt run, unattended upgrades). */
const DPKG_LOCK_TIMEOUT_S = 300;
const TAIL_LINES = 30;

/**
 * Returns the path of `influxd`, installing Debian's `influxdb` package first when it is missing.
 * Rejects with a `UserError` saying what to do when this is not a Debian-like system with
 * apt-get, when not running as root, or when apt-get fails (its output's tail included).
 *
 * @example const influxd = await ensureInfluxd({ log: (line) => process.stderr.write(`${line}\n`) })
 */
export async function ensureInfluxd(options: { log: (line: string) => void }): Promise<string> {
  if (existsSync(INFLUXD_PATH)) return INFLUXD_PATH;
  const manual = `install Debian's '${INFLUXDB_PACKAGE}' package yourself (as root: apt-get install -y ${INFLUXDB_PACKAGE}), which provides ${INFLUXD_PATH}`;
  if (process.platform !== 'linux' || !existsSync(APT_GET)) {
    throw new UserError(ErrorCode.BAD_OPTION, `a local InfluxDB needs ${INFLUXD_PATH}, and this system has no ${APT_GET} to install it with; ${manual}`);
  }
  if (process.getuid?.() !== 0) {
    throw new UserError(ErrorCode.BAD_OPTION, `a local InfluxDB needs ${INFLUXD_PATH}, and installing it with apt-get needs root; run once as root, or ${manual}`);
  }
  await withInstallLock(join(tmpdir(), 'sluice-influxdb-install'), { product: 'InfluxDB', lock: 'InfluxDB', log: options.log }, async () => {
    if (existsSync(INFLUXD_PATH)) return; // installed by the process we waited for
    options.log(`installing Debian's ${INFLUXDB_PACKAGE} package with apt-get (first use only)`);
    await withoutServiceStarts(async () => {
      let result = await aptGet(['install', '-y', '--no-install-recommends', INFLUXDB_PACKAGE]);
      if (result.code !== 0 && /Unable to locate package|has no installation candidate/.test(result.output)) {
        // a fresh machine has no package lists yet
        options.log('apt-get knows no influxdb package yet; running apt-get update');
        const update = await aptGet(['update']);
        if (update.code !== 0) throw aptFailed('apt-get update', update, manual);
        result = await aptGet(['install', '-y', '--no-install-recommends', INFLUXDB_PACKAGE]);
      }
      if (result.code !== 0) throw aptFailed(`apt-get install ${INFLUXDB_PACKAGE}`, result, manual);
    });
  });
  if (!existsSync(INFLUXD_PATH)) throw new UserError(ErrorCode.BAD_OPTION, `apt-get installed ${INFLUXDB_PACKAGE}, but ${INFLUXD_PATH} is still missing; ${manual}`);
  return INFLUXD_PATH;
}

/** Runs `fn` with service starts refused, unless the machine already has its own policy. */
async function withoutServiceStarts(fn: () => Promise<void>): Promise<void> {
  if (existsSync(POLICY_RC_D)) return fn();
  await writeFile(POLICY_RC_D, '#!/bin/sh\n# written by Sluice while installing influxdb; removed right after\nexit 101\n');
  await chmod(POLICY_RC_D, 0o755);
  try {
    await fn();
  } finally {
    await rm(POLICY_RC_D, { force: true });
  }
}

function aptGet(args: readonly string[]): Promise<RunResult> {
  return run(APT_GET, ['-o', `DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S}`, ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function aptFailed(what: string, result: RunResult, manual: string): UserError {
  return new UserError(ErrorCode.BAD_OPTION, `${what} failed (exit code ${result.code}); ${manual}\n${tail(result.output, TAIL_LINES)}`);
}
