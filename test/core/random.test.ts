/**
 * The one seeded generator (src/random.ts): the xorshift32 sequence checked against an
 * independent BigInt reference, the seed mapping every former copy used, and no allocation.
 */
import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import { Xorshift32 } from '../../src/random.ts';

/** xorshift32 (Marsaglia 2003) in BigInt, sharing no 32-bit trick with the implementation. */
function reference(seed: bigint, count: number): number[] {
  const m = 0xffffffffn;
  let x = seed & m;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= (x << 13n) & m;
    x ^= x >> 17n;
    x ^= (x << 5n) & m;
    out.push(Number(x));
  }
  return out;
}

class Sink {
  value = 0;
}

describe('Xorshift32', () => {
  it('gives the xorshift32 sequence as unsigned 32-bit values', () => {
    for (const seed of [1, 0x5eed, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      const rng = new Xorshift32(seed);
      const got = Array.from({ length: 1000 }, () => rng.next());
      expect(got, `seed ${seed}`).to.deep.equal(reference(BigInt(seed), 1000));
    }
  });

  it('maps seeds as `seed | 0 || 1` and `seed >>> 0 || 1` both did: by their 32-bit word, 0 becoming 1', () => {
    const first = (seed: number): number => new Xorshift32(seed).next();
    expect(first(0)).to.equal(first(1));
    expect(first(2 ** 32)).to.equal(first(1));
    expect(first(-1)).to.equal(first(0xffffffff));
    expect(first(-7)).to.equal(first(0xfffffff9));
    expect(first(2 ** 31)).to.equal(first(-(2 ** 31)));
    expect(first(2)).to.not.equal(first(1));
  });

  it('below(n) is the next value modulo n; fill writes the next values\' low octets', () => {
    const a = new Xorshift32(99);
    const b = new Xorshift32(99);
    for (const n of [1, 2, 7, 1000, 1_000_000, 0xffffffff]) {
      for (let i = 0; i < 100; i++) expect(a.below(n)).to.equal(b.next() % n);
    }
    const bytes = new Uint8Array(300);
    a.fill(bytes, 10, 280);
    expect(bytes[9]).to.equal(0);
    expect(bytes[290]).to.equal(0);
    for (let i = 10; i < 290; i++) expect(bytes[i]).to.equal(b.next() & 0xff);
    expect(a.next()).to.equal(b.next());
  });

  it('fillWords writes the next values little-endian, four octets each; reset starts over', () => {
    const a = new Xorshift32(0x5eed);
    const words = new Uint8Array(4 * 50 + 3);
    a.fillWords(words, 3, 50);
    const want = reference(0x5eedn, 50);
    for (let i = 0; i < 50; i++) {
      const o = 3 + 4 * i;
      expect(words[o]! + words[o + 1]! * 0x100 + words[o + 2]! * 0x10000 + words[o + 3]! * 0x1000000, `word ${i}`).to.equal(want[i]);
    }
    expect([words[0], words[1], words[2]]).to.deep.equal([0, 0, 0]);
    a.reset(0x5eed);
    expect(a.next()).to.equal(want[0]);
    a.reset(0);
    expect(a.next()).to.equal(new Xorshift32(1).next());
  });

  it('below, fill and fillWords allocate nothing', function () {
    this.timeout(60_000);
    const rng = new Xorshift32(0xdeadbeef);
    const sink = new Sink();
    const bytes = new Uint8Array(64);
    const report = measureAlloc((i) => {
      sink.value ^= rng.below(1_000_000) + rng.below(1 + (i & 1023));
      rng.fill(bytes, i & 31, 16);
      rng.fillWords(bytes, i & 15, 8);
    }, 100_000);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });
});
