import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installOnce, isInstalled, withInstallLock } from '../../../../src/dev/common/install.js';

// The first-use install of every local peer: one install at a time per machine, a waiting process
// reusing the result, a killed installer's lock taken over, and no half install ever looking done.

let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'sluice-install-test-'));
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const names = (log: (line: string) => void) => ({ product: 'Apache Kafka', lock: 'Kafka', log });

describe('installOnce', () => {
  it('installs once when two processes ask at the same time; the second waits and says so', async () => {
    const dir = join(cache, '1.0.0');
    const lines: string[] = [];
    let installs = 0;
    const install = async (part: string): Promise<void> => {
      installs++;
      await new Promise((resolve) => setTimeout(resolve, 300));
      await writeFile(join(part, 'payload'), 'jars');
    };
    await Promise.all([
      installOnce(dir, { ...names((line) => lines.push(line)), announce: 'installing' }, install),
      installOnce(dir, { ...names((line) => lines.push(line)), announce: 'installing' }, install),
    ]);
    expect(installs).toBe(1);
    expect(isInstalled(dir)).toBe(true);
    expect(existsSync(join(dir, 'payload'))).toBe(true);
    // in either order: which of the two logs first is up to the scheduler
    expect(lines.sort()).toEqual(['installing', `waiting for another process that is installing Apache Kafka (${dir}.lock)`]);
    // the lock is released, and nothing but the install is left beside it
    expect((await readdir(cache)).sort()).toEqual(['1.0.0']);
  });

  it('leaves no trace of a failed install, so the next attempt starts afresh', async () => {
    const dir = join(cache, '1.0.0');
    const failing = installOnce(dir, { ...names(() => undefined), announce: 'installing' }, async (part) => {
      await writeFile(join(part, 'payload'), 'half');
      throw new Error('Maven could not download');
    });
    await expect(failing).rejects.toThrow('Maven could not download');
    expect(isInstalled(dir)).toBe(false);
    expect(await readdir(cache)).toEqual([]);
  });
});

describe('withInstallLock', () => {
  it('takes over the lock of an installer that was killed', async () => {
    const target = join(cache, 'venv');
    // a lock its owner stopped refreshing a minute ago
    await mkdir(`${target}.lock`);
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${target}.lock`, aMinuteAgo, aMinuteAgo);
    const lines: string[] = [];
    expect(await withInstallLock(target, names((line) => lines.push(line)), async () => 'installed')).toBe('installed');
    expect(lines).toEqual([]);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });
});
