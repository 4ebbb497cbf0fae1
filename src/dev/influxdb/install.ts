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
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, UserError } from '../../core/errors.js';

/** Where Debian's package puts the server. */
export const INFLUXD_PATH = '/usr/bin/influxd';
/** The Debian package that ships {@link INFLUXD_PATH}. */
export const INFLUXDB_PACKAGE = 'influxdb';
const APT_GET = '/usr/bin/apt-get';
/** Read by invoke-rc.d and deb-systemd-invoke before they start a service; exit 101 = "do not". */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
/** How long a process waits for another one's install (apt may be slow on a cold mirror). */
const LOCK_WAIT_MS = 15 * 60_000;
/** A lock not refreshed for this long belongs to a process that died while installing. */
const LOCK_STALE_MS = 30_000;
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
  const lockPath = join(tmpdir(), 'sluice-influxdb-install');
  const unlock = await lockfile.lock(lockPath, {
    realpath: false,
    stale: LOCK_STALE_MS,
    retries: { retries: Math.ceil(LOCK_WAIT_MS / 500), factor: 1, minTimeout: 500, maxTimeout: 500 },
    onCompromised: () => undefined,
  });
  try {
    if (existsSync(INFLUXD_PATH)) return INFLUXD_PATH; // installed by the process we waited for
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
  } finally {
    await unlock().catch(() => undefined);
  }
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

interface AptResult {
  readonly code: number | null;
  readonly output: string;
}

function aptGet(args: readonly string[]): Promise<AptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(APT_GET, ['-o', `DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

function aptFailed(what: string, result: AptResult, manual: string): UserError {
  const tail = result.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-TAIL_LINES)
    .map((line) => `  ${line}`)
    .join('\n');
  return new UserError(ErrorCode.BAD_OPTION, `${what} failed (exit code ${result.code}); ${manual}\n${tail}`);
}
