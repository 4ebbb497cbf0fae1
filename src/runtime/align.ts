import type { Element } from '../core/elements.js';

/**
 * Aligns checkpoint barriers across partitions, as Flink's aligned checkpoints do: once a
 * partition has delivered barrier N, its later elements wait until every other expected
 * partition has delivered N too (or ended), so the snapshot taken at alignment covers exactly
 * the elements before the barrier on every partition. Waiting elements are not released, so a
 * partition ahead of the others is held back by backpressure, not buffered without bound.
 */
export class Aligner {
  private pending: { readonly id: number; readonly waiting: Set<string> } | undefined;
  private held = new Map<string, Element<unknown>[]>();

  constructor(
    private readonly process: (partition: string, element: Element<unknown>) => void,
    private readonly onAligned: (checkpointId: number) => void,
  ) {}

  /** Checkpoint `id`'s barrier was sent into `partitions`; alignment waits for each of them. */
  expect(id: number, partitions: Iterable<string>): void {
    this.pending = { id, waiting: new Set(partitions) };
    this.complete();
  }

  /** Takes the next element of a partition. */
  offer(partition: string, element: Element<unknown>): void {
    const held = this.held.get(partition);
    if (held !== undefined) {
      held.push(element);
      return;
    }
    if (element.kind === 'barrier') {
      if (this.pending === undefined || element.checkpointId !== this.pending.id) {
        throw new Error(`barrier ${element.checkpointId} from ${partition} while ${this.pending?.id ?? 'no checkpoint'} is pending`);
      }
      this.pending.waiting.delete(partition);
      this.held.set(partition, []);
      this.complete();
      return;
    }
    this.process(partition, element);
    // an ended partition sends no more barriers
    if (element.kind === 'end' && this.pending?.waiting.delete(partition)) this.complete();
  }

  /** A partition left (revoked) before delivering the pending barrier. */
  forget(partition: string): void {
    if (this.pending?.waiting.delete(partition)) this.complete();
  }

  private complete(): void {
    const pending = this.pending;
    if (pending === undefined || pending.waiting.size > 0) return;
    this.pending = undefined;
    this.onAligned(pending.id);
    const held = this.held;
    this.held = new Map();
    for (const [partition, elements] of held) for (const element of elements) this.offer(partition, element);
  }
}
