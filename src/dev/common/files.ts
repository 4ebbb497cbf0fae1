/**
 * Where the local peers keep things: their installs in `.cache/` beside Sluice's package.json,
 * and each server's data and log in a fresh temp folder that its `stop()` removes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './process.js';

/**
 * `.cache/<name>` beside Sluice's package.json, found by walking up from this file because it
 * runs both from `src/` (tsx, tests) and from `dist/src/` (the built CLI).
 *
 * @example packageCacheDir('kafka') // '/work/main/.cache/kafka'
 */
export function packageCacheDir(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), '.cache', name);
    dir = parent;
  }
  return join(dir, '.cache', name);
}

/**
 * A fresh temp folder `<prefix><pid>-XXXXXX` for one server, after removing the folders of
 * processes that died before their `stop()` could (kill -9 of a test worker).
 *
 * @example const dir = await freshRunDir('sluice-moto-') // '/tmp/sluice-moto-4711-Ab3xYz'
 */
export async function freshRunDir(prefix: string): Promise<string> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  const owner = new RegExp(`^${prefix}(\\d+)-`);
  for (const entry of entries) {
    const pid = owner.exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) {
      await rm(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
  return mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
}
