/**
 * Seeded randomness for the generator. Reproducibility is the whole point of a generator that
 * feeds determinism tests and load tests, so nothing here reads `Math.random` or the clock: every
 * draw comes from a small PRNG whose state is four 32-bit words that a checkpoint position can
 * carry, and per-entity decisions that must not depend on history use a stateless hash.
 *
 * @module
 */

const TWO_32 = 4_294_967_296;

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes
 * PractRand, and its state is plain numbers, so it survives JSON exactly.
 *
 * @example const rng = Rng.forStream(1, 0); rng.next() // 0.58…, the same on every machine
 * @see hash32
 */
export class Rng {
  private constructor(
    private a: number,
    private b: number,
    private c: number,
    private d: number,
  ) {}

  /**
   * The stream of one partition: independent streams for each `(seed, stream)` pair, derived
   * with splitmix32 so that neighbouring seeds or partitions do not give correlated streams.
   */
  static forStream(seed: number, stream: number): Rng {
    let s = hash32(seed % TWO_32, Math.floor(seed / TWO_32), stream, 0x5eed);
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    const rng = new Rng(next(), next(), next(), 1);
    // sfc32's counter word starts at 1; the first outputs are discarded as its author advises.
    for (let i = 0; i < 12; i++) rng.u32();
    return rng;
  }

  /** Rebuilds a generator from {@link Rng.state}; throws on anything that is not four words. */
  static restore(state: unknown): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32)) {
      throw new Error('random state must be four 32-bit words');
    }
    return new Rng(state[0] as number, state[1] as number, state[2] as number, state[3] as number);
  }

  /** The four state words, for a checkpoint. */
  state(): [number, number, number, number] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / TWO_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box–Muller; the second value is dropped so the state stays four words). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Exponential with the given mean: the gaps of a Poisson process. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}

/**
 * A stateless 32-bit hash of up to four integers (murmur3's mixing steps). Used where a decision
 * must be a pure function of an entity (is user 17 online in hour 5?), so no state has to be
 * kept or checkpointed for it.
 *
 * @example hash32(1, 17, 5) === hash32(1, 17, 5) // always
 * @see unitHash
 */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = mix(mix(mix(mix(0x2545f491, a), b), c), d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mix(h: number, part: number): number {
  let k = Math.imul(part | 0, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}

/**
 * {@link hash32} scaled to [0, 1).
 *
 * @example unitHash(seed, user, hour) < 0.5 // user online that hour, half of the time
 * @see hash32
 */
export function unitHash(a: number, b = 0, c = 0, d = 0): number {
  return hash32(a, b, c, d) / TWO_32;
}

/**
 * A Zipf distribution over ranks `0 … n-1` (rank r has weight 1 / (r + 1)^s): a few pages and
 * users get most of the traffic, a long tail gets the rest, as in real clickstreams.
 *
 * @example new Zipf(200, 1).sample(rng) // 0 most often
 * @see Rng
 */
export class Zipf {
  private readonly cdf: Float64Array;

  constructor(n: number, exponent: number) {
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let r = 0; r < n; r++) this.cdf[r] = total += 1 / Math.pow(r + 1, exponent);
    for (let r = 0; r < n; r++) this.cdf[r] = (this.cdf[r] as number) / total;
  }

  /** A rank, by binary search for the first cumulative weight above a uniform draw. */
  sample(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
