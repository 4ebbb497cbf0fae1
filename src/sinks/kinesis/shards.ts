import { createHash } from 'node:crypto';
import type { ShardOf } from './aggregate.js';
import type { ShardRange } from './service.js';

/**
 * The shard Kinesis sends a partition key to: the open shard whose hash key range holds the MD5 of
 * the key's UTF-8 bytes, read as a 128-bit unsigned integer (Kinesis API reference, PutRecords).
 * A key that falls in no known range (the map is out of date) groups by itself, which is always
 * safe for aggregation.
 *
 * @example shardOf(await service.listShards())('user-7') // 'shardId-000000000001'
 * @see toKinesisRecords
 */
export function shardOf(shards: readonly ShardRange[]): ShardOf {
  const sorted = [...shards].sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : a.startingHashKey > b.startingHashKey ? 1 : 0));
  return (partitionKey) => {
    const hash = hashKey(partitionKey);
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const shard = sorted[mid] as ShardRange;
      if (hash < shard.startingHashKey) hi = mid - 1;
      else if (hash > shard.endingHashKey) lo = mid + 1;
      else return shard.shardId;
    }
    return `key:${partitionKey}`;
  };
}

/**
 * The 128-bit hash key Kinesis computes for a partition key.
 *
 * @example hashKey('a') // 0x0cc175b9c0f1b6a831c399e269772661n
 */
export function hashKey(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}
