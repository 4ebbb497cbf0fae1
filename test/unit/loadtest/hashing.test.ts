import { describe, expect, it } from 'vitest';
import { KeyPlacement, hashKey, keyName, shardOf, shardOfHash, zipfShares } from '../../../src/loadtest/hashing.js';

describe('Kinesis hash-key placement', () => {
  it('hashes a partition key with MD5 into a 128-bit integer', () => {
    expect(hashKey('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(hashKey('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
  });

  it('splits the key space as CreateStream does: shard i starts at ⌊i · 2^128 / n⌋', () => {
    // the starting hash keys of a 3-shard stream, as DescribeStream lists them
    const second = 113427455640312821154458202477256070485n;
    const third = 226854911280625642308916404954512140970n;
    expect(shardOfHash(0n, 3)).toBe(0);
    expect(shardOfHash(second - 1n, 3)).toBe(0);
    expect(shardOfHash(second, 3)).toBe(1);
    expect(shardOfHash(third - 1n, 3)).toBe(1);
    expect(shardOfHash(third, 3)).toBe(2);
    expect(shardOfHash((1n << 128n) - 1n, 3)).toBe(2);
    expect(shardOfHash(1n << 127n, 2)).toBe(1);
    expect(shardOfHash((1n << 127n) - 1n, 2)).toBe(0);
  });

  it("places 'a' (MD5 0x0cc1…) in the first of 4 shards and '' (0xd41d…) in the last", () => {
    expect(shardOf('a', 4)).toBe(0);
    expect(shardOf('', 4)).toBe(3);
  });

  it('the fast placement agrees with the exact rule key by key', () => {
    const placement = new KeyPlacement(500, 0);
    for (const shards of [1, 2, 3, 7, 13, 1000]) {
      const exact = new Array<number>(shards).fill(0);
      for (let i = 0; i < 500; i++) {
        const shard = shardOf(keyName(i), shards);
        exact[shard] = (exact[shard] ?? 0) + 1 / 500;
      }
      const fast = placement.shardShares(shards);
      exact.forEach((share, j) => expect(fast[j]).toBeCloseTo(share, 12));
    }
  });

  it('Zipf shares: skew 0 is uniform, skew 1 halves the second key', () => {
    expect(Array.from(zipfShares(4, 0))).toEqual([0.25, 0.25, 0.25, 0.25]);
    const s = zipfShares(3, 1); // 1 : 1/2 : 1/3 over 11/6
    expect(s[0]).toBeCloseTo(6 / 11, 12);
    expect(s[1]).toBeCloseTo(3 / 11, 12);
    expect(s[2]).toBeCloseTo(2 / 11, 12);
  });
});
