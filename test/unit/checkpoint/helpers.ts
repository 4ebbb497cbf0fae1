import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CHECKPOINT_ADVICE } from '../../../src/checkpoint/codec.js';
import type { Checkpoint } from '../../../src/checkpoint/store.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';

/** A fresh directory under the OS temp dir, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-checkpoint-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A checkpoint shaped like the runtime's, with the special numbers a watermark starts at. */
export function sample(checkpointId: number, pipeline = 'clicks'): Checkpoint {
  return {
    pipeline,
    checkpointId,
    createdAt: '2025-01-02T03:04:05.000Z',
    partitions: {
      p0: { position: { file: 'in/a.jsonl', line: 42 }, ended: false, operators: { 'before.0': { wm: -Infinity, seen: ['a', 'b'] } } },
      'in/b.jsonl': { position: null, ended: true, operators: {} },
    },
    shared: { combiner: { sum: NaN, max: Infinity, min: -Infinity, nested: [{ x: [1, null, true] }] } },
  };
}

/** The JSON form of `sample(id)`'s data, as the format spec says it is written. */
export function sampleData(checkpointId = 1): Record<string, unknown> {
  return JSON.parse(JSON.stringify(sample(checkpointId), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v))) as Record<string, unknown>;
}

/**
 * A checkpoint document around `data` with a correct checksum, written from the format spec
 * rather than with the codec, so that tests can reach the field checks behind the checksum.
 */
export function forge(data: unknown, envelope: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: 'sluice-checkpoint', version: 1, checksum: `sha256:${sha256(canonicalJson(data))}`, data, ...envelope });
}

/** Canonical JSON per the spec: keys sorted by UTF-16 code units, no spaces. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Asserts that `run` throws (or rejects with) a BAD_CHECKPOINT UserError with exactly `message` + the advice. */
export async function expectBadCheckpoint(run: () => unknown, message: string): Promise<void> {
  let thrown: unknown;
  try {
    await run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(UserError);
  expect(thrown).toMatchObject({ code: ErrorCode.BAD_CHECKPOINT, message: `${message}${CHECKPOINT_ADVICE}` });
}
