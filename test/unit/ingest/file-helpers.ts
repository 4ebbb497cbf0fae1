import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartitionReader, Source } from '../../../src/core/connectors.js';
import type { Envelope, Raw } from '../../../src/core/envelope.js';
import { fileSource } from '../../../src/ingest/file/index.js';

/** A fresh directory under the OS temp dir, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-ingest-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every batch a reader returns until `null`. */
export async function batchesOf(reader: PartitionReader): Promise<Envelope<Raw>[][]> {
  const batches: Envelope<Raw>[][] = [];
  for (let batch = await reader.read(); batch !== null; batch = await reader.read()) batches.push(batch);
  return batches;
}

/** Opens a source and reads every partition whole: partition id -> envelopes. */
export async function readAll(source: Source): Promise<Map<string, Envelope<Raw>[]>> {
  const out = new Map<string, Envelope<Raw>[]>();
  for (const reader of await source.open()) out.set(reader.partition, (await batchesOf(reader)).flat());
  await source.close();
  return out;
}

/** `[value, line]` pairs, the shape most assertions compare. */
export function linesOf(envelopes: readonly Envelope<Raw>[] | undefined): [Raw, number | string | undefined][] {
  return (envelopes ?? []).map((env) => [env.value, env.position['line']]);
}

/** Writes `content` to `dir/name` and reads it back through the file source as [raw, line] pairs. */
export async function readBack(dir: string, name: string, content: string | Uint8Array, options: { batchSize?: number; chunkBytes?: number } = {}) {
  const path = join(dir, name);
  await writeFile(path, content);
  const read = await readAll(fileSource({ path, ...options }));
  return linesOf(read.get(path));
}
