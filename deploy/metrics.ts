/**
 * The CloudWatch metrics the stack scales and alarms on. Sluice publishes its own through the
 * Embedded Metric Format on ECS (src/runtime/ops/emf.ts: namespace `Sluice`, dimension
 * `Pipeline`); a test checks that every name here is one it publishes.
 *
 * @module
 */

/** Sluice's EMF namespace and its one dimension. */
export const SLUICE_NAMESPACE = 'Sluice';
export const PIPELINE_DIMENSION = 'Pipeline';

/** Sluice's metrics, as the EMF publisher names them. */
export const SLUICE_METRICS = {
  /** Records behind the newest offsets, summed over one worker's partitions: Sum over workers = the group's lag. */
  lag: 'Lag',
  /** The partition furthest behind, in records. */
  maxPartitionLag: 'MaxPartitionLag',
  /** Entries written to the dead-letter output since the previous flush. */
  deadLettered: 'DeadLettered',
} as const;

/** Problem lines of the task logs (warn and above, and the line of an error that ended a run), counted by metric filters into `Sluice/<deployment>`. */
export const ERRORS_METRIC = 'Errors';

/** Kinesis: how far behind the stream's newest record a polling consumer reads (AWS/Kinesis). */
export const KINESIS_ITERATOR_AGE = 'GetRecords.IteratorAgeMilliseconds';
/** Kinesis enhanced fan-out: the same for SubscribeToShard consumers. */
export const KINESIS_EFO_BEHIND = 'SubscribeToShardEvent.MillisBehindLatest';
