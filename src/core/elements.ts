import type { Envelope } from './envelope.js';

/** Events read together (a file chunk, a Kafka fetch, a GetRecords page): the unit RxJS moves. */
export interface Batch<T> {
  readonly kind: 'batch';
  readonly events: Envelope<T>[];
}

/** Event time has reached `time` on this partition: no further on-time event is older. */
export interface Watermark {
  readonly kind: 'watermark';
  readonly time: number;
}

/** Checkpoint barrier: everything before it belongs to checkpoint `checkpointId`. */
export interface Barrier {
  readonly kind: 'barrier';
  readonly checkpointId: number;
}

/** The partition has no more input; acts as a final watermark of +∞. */
export interface EndOfPartition {
  readonly kind: 'end';
}

export type Control = Watermark | Barrier | EndOfPartition;

/** What flows through a partition's operator chain, in order: data batches and control elements. */
export type Element<T> = Batch<T> | Control;

export function batch<T>(events: Envelope<T>[]): Batch<T> {
  return { kind: 'batch', events };
}

export function watermark(time: number): Watermark {
  return { kind: 'watermark', time };
}

export const END: EndOfPartition = Object.freeze({ kind: 'end' });
