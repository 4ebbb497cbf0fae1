/**
 * Chromium for browser tests: Debian's `chromium` package, installed with apt-get on first use,
 * the way src/dev/influxdb/install.ts installs InfluxDB: under one machine-wide lock (parallel
 * test files may all find it missing; the ones that waited find it installed), with service
 * starts refused by a temporary `policy-rc.d` when the machine has none, `apt-get update` only
 * when apt knows no such package yet. Driven with playwright-core, which downloads no browser.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/** Where Debian's package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
const PACKAGE = 'chromium';
/** The flags REFERENCE.md gives for headless runs as root in a container. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** First use downloads the package (~100 MB): allow for a slow mirror. */
export const CHROMIUM_INSTALL_TIMEOUT_MS = 15 * 60_000;

const APT_GET = '/usr/bin/apt-get';
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const LOCK_WAIT_MS = 15 * 60_000;
const LOCK_STALE_MS = 30_000;
const DPKG_LOCK_TIMEOUT_S = 300;

/**
 * Returns the path of Debian's chromium, installing the package first when it is missing.
 * Rejects with what to do when apt-get is missing, this is not root, or apt-get fails.
 *
 * @example const executablePath = await ensureChromium({ log: (line) => console.error(line) })
 */
export async function ensureChromium(options: { readonly log: (line: string) => void }): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const manual = `install Debian's '${PACKAGE}' package yourself (as root: apt-get install -y ${PACKAGE}), which provides ${CHROMIUM_PATH}`;
  if (process.platform !== 'linux' || !existsSync(APT_GET)) throw new Error(`the browser test needs ${CHROMIUM_PATH}, and this system has no ${APT_GET}; ${manual}`);
  if (process.getuid?.() !== 0) throw new Error(`the browser test needs ${CHROMIUM_PATH}, and installing it with apt-get needs root; ${manual}`);
  const unlock = await lockfile.lock(join(tmpdir(), 'sluice-chromium-install'), {
    realpath: false,
    stale: LOCK_STALE_MS,
    retries: { retries: Math.ceil(LOCK_WAIT_MS / 500), factor: 1, minTimeout: 500, maxTimeout: 500 },
    onCompromised: () => undefined,
  });
  try {
    if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH; // installed by the process we waited for
    options.log(`installing Debian's ${PACKAGE} package with apt-get (first use only)`);
    await withoutServiceStarts(async () => {
      let result = await aptGet(['install', '-y', '--no-install-recommends', PACKAGE]);
      if (result.code !== 0 && /Unable to locate package|has no installation candidate/.test(result.output)) {
        options.log(`apt-get knows no ${PACKAGE} package yet; running apt-get update`);
        const update = await aptGet(['update']);
        if (update.code !== 0) throw aptFailed('apt-get update', update, manual);
        result = await aptGet(['install', '-y', '--no-install-recommends', PACKAGE]);
      }
      if (result.code !== 0) throw aptFailed(`apt-get install ${PACKAGE}`, result, manual);
    });
  } finally {
    await unlock().catch(() => undefined);
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed ${PACKAGE}, but ${CHROMIUM_PATH} is still missing; ${manual}`);
  return CHROMIUM_PATH;
}

/** Runs `fn` with service starts refused, unless the machine already has its own policy. */
async function withoutServiceStarts(fn: () => Promise<void>): Promise<void> {
  if (existsSync(POLICY_RC_D)) return fn();
  await writeFile(POLICY_RC_D, '#!/bin/sh\n# written by Sluice while installing chromium; removed right after\nexit 101\n');
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

function aptFailed(what: string, result: AptResult, manual: string): Error {
  const tail = result.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-30)
    .map((line) => `  ${line}`)
    .join('\n');
  return new Error(`${what} failed (exit code ${result.code}); ${manual}\n${tail}`);
}
