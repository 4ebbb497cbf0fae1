/**
 * Kinesis Data Streams limits the sizing model is built on, each a named constant with where it
 * is written down. The developer guide writes "MB" and "KB" for these limits and means 1,048,576
 * and 1,024 bytes (its consumer pages say MiB; the pricing page spells out "1 KB (1,024 bytes)"),
 * so Sluice does the same.
 *
 * @module
 */

/** 1 KB as Kinesis counts it. */
export const KB = 1024;
/** 1 MB as Kinesis counts it. */
export const MB = 1024 * 1024;
/** 1 GB as AWS bills data volume. */
export const GB = 1024 * 1024 * 1024;

/**
 * A shard takes at most this many records per second (PutRecord/PutRecords).
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const SHARD_WRITE_RECORDS_PER_SECOND = 1000;

/**
 * A shard takes at most this many bytes per second, data blob plus partition key.
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const SHARD_WRITE_BYTES_PER_SECOND = 1 * MB;

/**
 * A shard serves at most this many bytes per second to all polling (GetRecords) consumers together.
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const SHARD_READ_BYTES_PER_SECOND = 2 * MB;

/**
 * GetRecords calls per shard per second, shared by all polling consumers of the shard.
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const SHARD_GET_RECORDS_PER_SECOND = 5;

/**
 * What one enhanced fan-out consumer gets from each shard, its own and not shared.
 * @see https://docs.aws.amazon.com/streams/latest/dev/enhanced-consumers.html
 */
export const EFO_READ_BYTES_PER_SECOND = 2 * MB;

/**
 * Enhanced fan-out consumers one stream may register.
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const EFO_MAX_CONSUMERS = 20;

/**
 * The largest record by default (data blob plus partition key).
 * @see https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 */
export const MAX_RECORD_BYTES = 1 * MB;

/**
 * Provisioned mode bills PUTs in payload units of 25 KB: a record of up to 25 KB is one unit.
 * @see https://aws.amazon.com/kinesis/data-streams/pricing/
 */
export const PUT_PAYLOAD_UNIT_BYTES = 25 * KB;

/**
 * On-demand mode bills data in with every record rounded up to a whole 1 KB.
 * @see https://aws.amazon.com/kinesis/data-streams/pricing/
 */
export const ON_DEMAND_BILLING_ROUND_BYTES = 1 * KB;

/** The month the seed documents price with: 30 days of 24 hours. */
export const HOURS_PER_MONTH = 720;
/** Seconds in {@link HOURS_PER_MONTH}. */
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
