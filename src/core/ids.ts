import { createHash } from 'node:crypto';

/**
 * The deterministic id of a window result: the same pipeline, key and window bounds (and, for
 * per-partition results, partition) always give the same id, so sinks that upsert by id turn
 * at-least-once delivery into exactly-once effect. 32 hex characters (128 bits of SHA-256).
 */
export function resultId(pipeline: string, keyString: string, start: number, end: number, partition?: string): string {
  const hash = createHash('sha256');
  hash.update(pipeline);
  hash.update('\u0000');
  if (partition !== undefined) {
    hash.update(partition);
    hash.update('\u0000');
  }
  hash.update(keyString);
  hash.update('\u0000');
  hash.update(String(start));
  hash.update('\u0000');
  hash.update(String(end));
  return hash.digest('hex').slice(0, 32);
}
