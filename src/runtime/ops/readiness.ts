/**
 * What `/readyz` answers: whether this worker has its partitions and they make progress. Pure:
 * a function of a {@link RunView} and the time, so every rule is tested without a server.
 *
 * @module
 */
import type { PartitionView, RunView } from '../run.js';

/** A partition whose fetched input has waited this long for the pipeline is stalled (default). */
export const DEFAULT_STALL_AFTER_MS = 60_000;

/** Where the run is in its life, as the CLI knows it. */
export type RunPhase = 'starting' | 'running' | 'stopping';

export interface ReadinessInput {
  readonly phase: RunPhase;
  /** The run's view; undefined until the run has opened its source. */
  readonly view: RunView | undefined;
  /** Wall clock, epoch ms (the clock readers stamp `waitingSince` with). */
  readonly now: number;
  readonly stallAfterMs?: number;
}

/** One partition as `/readyz` reports it. */
export interface PartitionStatus {
  readonly partition: string;
  readonly eventsIn: number;
  /** Records behind the end of the partition's log; null when the source cannot tell. */
  readonly lag: number | null;
  /** The partition's watermark, ISO-8601; null before its first. */
  readonly watermark: string | null;
  /** How long fetched input has waited for the pipeline, in ms; null when none waits. */
  readonly waitingMs: number | null;
  readonly stalled: boolean;
  readonly ended: boolean;
}

export interface Readiness {
  readonly ready: boolean;
  /** One sentence: why, for people and for the ECS console. */
  readonly reason: string;
  readonly partitions: readonly PartitionStatus[];
}

/**
 * Decides readiness:
 * - 503 while starting (source, sinks and checkpoint store opening) and once shutting down;
 * - 503 while a consumer group has not yet assigned this worker anything, and while partitions
 *   the group assigned are still being taken over (checkpoints loading, the previous owner
 *   releasing them);
 * - 503 when a partition is stalled: input fetched for it has waited longer than `stallAfterMs`
 *   for the pipeline to take it (a stuck sink holds every source back);
 * - 200 otherwise — including a worker the group assigned no partitions (more workers than
 *   partitions): it is a healthy standby that takes partitions over when another worker leaves,
 *   and rolling deployments briefly run more workers than partitions by design.
 *
 * @example readiness({ phase: 'running', view, now: Date.now() }).ready
 * @see DEFAULT_STALL_AFTER_MS
 */
export function readiness(input: ReadinessInput): Readiness {
  const { view, now } = input;
  const stallAfterMs = input.stallAfterMs ?? DEFAULT_STALL_AFTER_MS;
  if (input.phase === 'stopping') return notReady('shutting down: finishing what was read and taking a final checkpoint', view, now, stallAfterMs);
  if (input.phase === 'starting' || view === undefined) return notReady('starting: opening the source, the sinks and the checkpoint store', undefined, now, stallAfterMs);

  const partitions = view.partitions().map((p) => statusOf(p, now, stallAfterMs));
  const membership = view.membership();
  if (membership !== undefined && !membership.joined) return { ready: false, reason: 'waiting for the consumer group to assign partitions', partitions };

  const stalled = partitions.filter((p) => p.stalled);
  if (stalled.length > 0) {
    const worst = stalled.reduce((a, b) => ((b.waitingMs ?? 0) > (a.waitingMs ?? 0) ? b : a));
    const which = stalled.length === 1 ? `partition ${worst.partition} is` : `${stalled.length} partitions are (${worst.partition} longest)`;
    return {
      ready: false,
      reason: `stalled: ${which} not taking input that has waited ${seconds(worst.waitingMs ?? 0)} (more than ${seconds(stallAfterMs)}); a sink may be stuck`,
      partitions,
    };
  }

  if (membership !== undefined) {
    if (membership.assigned > partitions.length) {
      const waiting = membership.assigned - partitions.length;
      return {
        ready: false,
        reason: `taking over ${waiting} of the ${plural(membership.assigned, 'partition')} the group assigned (loading checkpoints, waiting for their previous owner to release them)`,
        partitions,
      };
    }
    if (membership.assigned === 0 && partitions.length === 0) {
      const topic = membership.topicPartitions > 0 ? ` (the topic has ${plural(membership.topicPartitions, 'partition')})` : '';
      return { ready: true, reason: `standby: no partitions assigned to this worker; the group has more workers than partitions${topic}`, partitions };
    }
  }
  if (partitions.length === 0) return { ready: false, reason: 'no partitions to read', partitions };
  if (partitions.every((p) => p.ended)) return { ready: true, reason: `read ${plural(partitions.length, 'partition')} to the end`, partitions };
  return { ready: true, reason: `reading ${plural(partitions.length, 'partition')}`, partitions };
}

function notReady(reason: string, view: RunView | undefined, now: number, stallAfterMs: number): Readiness {
  return { ready: false, reason, partitions: view?.partitions().map((p) => statusOf(p, now, stallAfterMs)) ?? [] };
}

function statusOf(p: PartitionView, now: number, stallAfterMs: number): PartitionStatus {
  const since = p.backlog?.waitingSince;
  const waitingMs = since === undefined ? null : Math.max(0, now - since);
  return {
    partition: p.partition,
    eventsIn: p.eventsIn,
    lag: p.backlog?.records ?? null,
    watermark: iso(p.watermark),
    waitingMs,
    stalled: waitingMs !== null && waitingMs > stallAfterMs && !p.ended,
    ended: p.ended,
  };
}

/** Epoch ms as ISO-8601; null for ±∞ and times a Date cannot hold. */
function iso(time: number): string | null {
  return Number.isFinite(time) && Math.abs(time) <= 8.64e15 ? new Date(time).toISOString() : null;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
