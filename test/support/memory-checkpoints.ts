import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/codec.js';
import type { Checkpoint, CheckpointStore } from '../../src/checkpoint/store.js';

/**
 * A checkpoint store in memory that still takes every checkpoint through the real codec, so a
 * test fails if a snapshot is not plain data or does not survive encoding.
 */
export class MemoryCheckpoints implements CheckpointStore {
  readonly description = 'memory:';
  readonly saved: string[] = [];

  async load(): Promise<Checkpoint | undefined> {
    const last = this.saved.at(-1);
    return last === undefined ? undefined : decodeCheckpoint(last, 'memory');
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.saved.push(encodeCheckpoint(checkpoint));
  }

  async close(): Promise<void> {}

  get last(): Checkpoint | undefined {
    const last = this.saved.at(-1);
    return last === undefined ? undefined : decodeCheckpoint(last, 'memory');
  }
}
