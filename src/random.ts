/**
 * The one seeded pseudo-random generator of the project: xorshift32 (Marsaglia 2003). The core
 * uses it where it must be reproducible (the fault injector, seeded read chunking); tests, hw
 * and bench use it for data and fault schedules. Not for secrets: ISNs use HalfSipHash with a
 * key from the host's random source.
 */
export class Xorshift32 {
  /** The last value, never 0. */
  state: number;

  /** A zero seed (or one that is 0 as a 32-bit word) becomes 1, the generator's only bad state. */
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** The next value, an unsigned 32-bit integer, never 0. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** A value in [0, n), n > 0 (modulo bias is below 2^-32 x n: fine for tests and faults). */
  below(n: number): number {
    return this.next() % n;
  }

  /** Fills `dst[off, off + len)` with the next values' low octets (one value per octet). */
  fill(dst: Uint8Array, off = 0, len = dst.length - off): void {
    for (let i = off, e = off + len; i < e; i++) dst[i] = this.next() & 0xff;
  }
}
