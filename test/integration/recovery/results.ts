/**
 * Helpers for tests that run `sluice` workers against a live source and judge what they wrote:
 * waiting on a condition while the workers run, reading result files without the sentinel
 * events' windows, and the rule that every result id has one content however often it was
 * emitted (re-emissions after a failover are identical).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { sleep, type Running } from './recovery.js';

/**
 * Polls `condition` every 100 ms for up to `seconds`; on timeout fails with the workers' stderr,
 * which is where a stuck worker says why.
 */
export async function waitFor(condition: () => Promise<boolean>, what: string, runs: readonly Running[], seconds = 120): Promise<void> {
  for (let i = 0; i < seconds * 10; i++) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; stderr: ${runs.map((r) => r.stderr()).join('\n---\n')}`);
}

/** The result lines of a file sink (none before it exists), without the windows of keys starting with `zz-end` (sentinels). */
export async function resultLines(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '' && !line.includes('zz-end'));
}

/** Every result id has one content, whoever emitted it and however often. */
export function expectOneContentPerId(lines: readonly string[]): void {
  const byId = new Map<string, Set<string>>();
  for (const line of lines) {
    const id = (JSON.parse(line) as { id: string }).id;
    byId.set(id, (byId.get(id) ?? new Set()).add(line));
  }
  expect([...byId.entries()].filter(([, contents]) => contents.size > 1)).toEqual([]);
}
