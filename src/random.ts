/**
 * The one seeded pseudo-random generator of the project: xorshift32 (Marsaglia 2003). The core
 * uses it where it must be reproducible (the fault injector, seeded read chunking); tests, hw
 * and bench use it for data and fault schedules. Not for secrets: ISNs use HalfSipHash with a
 * key from the host's random source.
 */
export class Xorshift32 {
  /**
   * The last value as a signed 32-bit word, never 0. Kept signed (`| 0`): a field that V8 first
   * saw holding `>>> 0` results boxed every store (16 octets per step); an int32 field does not.
   */
  private state: number;

  /** A zero seed (or one that is 0 as a 32-bit word) becomes 1, the generator's only bad state. */
  constructor(seed: number) {
    this.state = seed | 0 || 1;
  }

  /** Starts over from `seed`, as a new generator would (seeds map as in the constructor). */
  reset(seed: number): void {
    this.state = seed | 0 || 1;
  }

  // The step (x ^= x << 13; x ^= x >>> 17; x ^= x << 5) is written out in each method rather than
  // shared: a value returned across a call that V8 does not inline is boxed when it leaves the
  // small-integer range, so `below` and the fills must not get theirs from `next`.

  /**
   * The next value, an unsigned 32-bit integer, never 0. Values >= 2^31 are heap numbers when
   * the call is not inlined (16 octets): on the packet path use `below`.
   */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }

  /** A value in [0, n), n > 0: the next value modulo n (bias below 2^-32 x n: fine for tests and faults). Allocates nothing. */
  below(n: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return (x >>> 0) % n;
  }

  /** Writes the next `words` values little-endian into `dst[off, off + 4 * words)` (four octets per value). */
  fillWords(dst: Uint8Array, off: number, words: number): void {
    let x = this.state;
    for (let o = off, e = off + 4 * words; o < e; o += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      dst[o] = x & 0xff;
      dst[o + 1] = (x >>> 8) & 0xff;
      dst[o + 2] = (x >>> 16) & 0xff;
      dst[o + 3] = x >>> 24;
    }
    this.state = x;
  }

  /** Fills `dst[off, off + len)` with the next values' low octets (one value per octet). */
  fill(dst: Uint8Array, off = 0, len = dst.length - off): void {
    let x = this.state;
    for (let i = off, e = off + len; i < e; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      dst[i] = x & 0xff;
    }
    this.state = x;
  }
}
