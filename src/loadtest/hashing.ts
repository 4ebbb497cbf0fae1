/**
 * How Kinesis places partition keys on shards, and a Zipf-skewed key population to place: the
 * MD5 of the key's UTF-8 bytes read as a 128-bit unsigned integer, and a stream created with `n`
 * shards splits [0, 2^128) into `n` hash-key ranges, shard `i` starting at ⌊i · 2^128 / n⌋.
 *
 * @module
 */
import { createHash } from 'node:crypto';

const TWO_128 = 1n << 128n;
/** 2^-128 as a double, to turn a hash key into a fraction of the key space. */
const INV_TWO_128 = 2 ** -128;
/** Within this of a range boundary the double product is not trusted; the exact one decides. */
const BOUNDARY_EPSILON = 1e-9;

/**
 * The 128-bit hash key Kinesis derives from a partition key.
 *
 * @example hashKey('') // 0xd41d8cd98f00b204e9800998ecf8427en (MD5 of nothing)
 * @see shardOf
 */
export function hashKey(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * The shard (0-based, in hash-key order) of a hash key in a stream of `shards` evenly split
 * shards: the largest `i` with ⌊i · 2^128 / shards⌋ ≤ key, i.e. ⌊((key + 1) · shards − 1) / 2^128⌋.
 *
 * @example shardOfHash(1n << 127n, 2) // 1: the second half starts at 2^127
 * @see shardOf
 */
export function shardOfHash(key: bigint, shards: number): number {
  return Number(((key + 1n) * BigInt(shards) - 1n) / TWO_128);
}

/**
 * The shard of a partition key in a stream of `shards` evenly split shards.
 *
 * @example shardOf('user-42', 4) // 0 … 3
 * @see hashKey
 */
export function shardOf(partitionKey: string, shards: number): number {
  return shardOfHash(hashKey(partitionKey), shards);
}

/**
 * The share of records each of `keys` keys carries when key popularity follows Zipf's law with
 * exponent `skew`: the key of rank r (1-based) has weight r^-skew. Skew 0 is uniform; 1 is the
 * classic "the second key is half as popular as the first".
 *
 * @example zipfShares(3, 1) // [0.545…, 0.272…, 0.181…]
 */
export function zipfShares(keys: number, skew: number): Float64Array {
  const shares = new Float64Array(keys);
  let total = 0;
  for (let r = 0; r < keys; r++) total += shares[r] = (r + 1) ** -skew;
  for (let r = 0; r < keys; r++) shares[r] = (shares[r] as number) / total;
  return shares;
}

/**
 * A key population placed on shards: the keys `key-0`, `key-1`, … (most popular first) with their
 * Zipf shares, hashed once; {@link KeyPlacement.shardShares} places them on any shard count.
 *
 * @example new KeyPlacement(1000, 1.1).shardShares(4) // Float64Array(4) of shares summing to 1
 */
export class KeyPlacement {
  readonly shares: Float64Array;
  private readonly hashes: bigint[];
  /** Each hash key as a fraction of the key space, for the fast path. */
  private readonly fractions: Float64Array;

  constructor(
    readonly keys: number,
    readonly skew: number,
  ) {
    this.shares = zipfShares(keys, skew);
    this.hashes = new Array<bigint>(keys);
    this.fractions = new Float64Array(keys);
    for (let i = 0; i < keys; i++) {
      const h = hashKey(keyName(i));
      this.hashes[i] = h;
      this.fractions[i] = Number(h) * INV_TWO_128;
    }
  }

  /** The share of all records that lands on each of `shards` shards. */
  shardShares(shards: number): Float64Array {
    const out = new Float64Array(shards);
    const { fractions, shares, hashes } = this;
    for (let i = 0; i < this.keys; i++) {
      const x = (fractions[i] as number) * shards;
      let shard = Math.floor(x);
      // doubles carry 53 of the 128 bits: near a boundary, ask the exact rule
      if (x - shard < BOUNDARY_EPSILON || shard + 1 - x < BOUNDARY_EPSILON || shard >= shards) shard = shardOfHash(hashes[i] as bigint, shards);
      out[shard] = (out[shard] as number) + (shares[i] as number);
    }
    return out;
  }
}

/**
 * The name of the key of popularity rank `index` (0-based) in a {@link KeyPlacement}.
 *
 * @example keyName(0) // 'key-0'
 */
export function keyName(index: number): string {
  return `key-${index}`;
}
