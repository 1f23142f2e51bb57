import { expect } from 'chai';
import {
  checksum, fold, pseudoHeaderSum, sumWords, updateChecksum16, updateChecksum32,
} from '../../src/wire/checksum.ts';
import { Xorshift32 } from '../../src/random.ts';

/** The obvious RFC 1071 loop: big-endian 16-bit words, odd tail padded, folded at the end. */
function naiveSum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) {
    sum += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

function naiveChecksum(b: Uint8Array, off: number, len: number): number {
  return ~naiveSum(b, off, len) & 0xffff;
}

/** The generator's next `n` low octets (continuing its sequence, unlike support/pattern.ts randomBytes). */
function randomBytes(n: number, random: Xorshift32): Uint8Array {
  const b = new Uint8Array(n);
  random.fill(b);
  return b;
}

describe('wire/checksum', () => {
  it('matches the RFC 1071 §3 example (sum 0xddf2)', () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(fold(sumWords(b, 0, b.length, 0))).to.equal(0xddf2);
    expect(checksum(b, 0, b.length)).to.equal(0x220d);
  });

  it('matches the RFC 1071 example at every alignment and through the word path', () => {
    const example = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    for (let shift = 0; shift < 8; shift++) {
      // Eight copies (64 octets), so the word path runs rather than the short byte loop.
      const b = new Uint8Array(shift + 64 + 3);
      for (let i = 0; i < 64; i++) b[shift + i] = example[i % 8]!;
      expect(checksum(b, shift, 64), `shift ${shift}`).to.equal(naiveChecksum(b, shift, 64));
    }
  });

  it('gives 0 and 0xffff for the empty range, and pads an odd tail with zero', () => {
    const b = Uint8Array.of(0xab, 0xcd, 0xef);
    expect(sumWords(b, 0, 0, 0)).to.equal(0);
    expect(sumWords(b, 1, 0, 1234)).to.equal(1234);
    expect(checksum(b, 0, 0)).to.equal(0xffff);
    expect(fold(sumWords(b, 0, 3, 0))).to.equal((0xabcd + 0xef00) % 0xffff);
  });

  it('folds with end-around carry', () => {
    expect(fold(0)).to.equal(0);
    expect(fold(0xffff)).to.equal(0xffff);
    expect(fold(0x10000)).to.equal(1);
    expect(fold(0x1fffe)).to.equal(0xffff);
    expect(fold(0x7fffffff)).to.equal(0x7fff);
    expect(fold(0xffffffff)).to.equal(0xffff);
    expect(fold(0x12345678)).to.equal((0x1234 + 0x5678) & 0xffff);
  });

  it('equals a naive byte loop on 20 000 random (offset, length) cases, any alignment', () => {
    const random = new Xorshift32(0x5eed1071);
    const buffer = new ArrayBuffer(4099);
    const whole = new Uint8Array(buffer);
    for (let i = 0; i < whole.length; i++) whole[i] = random.next() & 0xff;
    // Three views over one buffer: aligned, and starting at odd and at 2-mod-4 byte offsets.
    const views = [whole, new Uint8Array(buffer, 1, 4000), new Uint8Array(buffer, 2, 4001), new Uint8Array(buffer, 3)];
    for (let n = 0; n < 20_000; n++) {
      const view = views[n & 3]!;
      const off = random.below(view.length);
      const maxLen = view.length - off;
      // Half the cases up to a full segment, half short (heads and tails matter most there).
      const len = (n & 4) !== 0 ? random.below(Math.min(maxLen + 1, 1501)) : random.below(Math.min(maxLen + 1, 130));
      const got = checksum(view, off, len);
      const want = naiveChecksum(view, off, len);
      if (got !== want) {
        expect(got, `view offset ${view.byteOffset}, off ${off}, len ${len}`).to.equal(want);
      }
    }
  });

  it('stays correct past the internal fold interval (ranges up to 200 000 octets)', () => {
    const random = new Xorshift32(42);
    const b = randomBytes(200_003, random);
    for (const [off, len] of [[0, 200_000], [1, 200_001], [2, 70_000], [3, 65_535], [5, 131_073]] as const) {
      expect(checksum(b, off, len), `off ${off} len ${len}`).to.equal(naiveChecksum(b, off, len));
    }
    b.fill(0xff);
    expect(checksum(b, 1, 200_000)).to.equal(naiveChecksum(b, 1, 200_000));
  });

  it('adds the partial sum to acc, so a range can be summed in pieces (even split points)', () => {
    const random = new Xorshift32(7);
    const b = randomBytes(1500, random);
    for (let n = 0; n < 200; n++) {
      const split = random.below(750) * 2;
      const parts = sumWords(b, split, 1500 - split, sumWords(b, 0, split, 0));
      expect(fold(parts)).to.equal(fold(sumWords(b, 0, 1500, 0)));
    }
  });

  it('sums the pseudo-header like its 12 octets (RFC 9293 §3.1)', () => {
    const random = new Xorshift32(99);
    for (let n = 0; n < 1000; n++) {
      const src = random.next() | 0;
      const dst = random.next() | 0;
      const proto = random.next() & 0xff;
      const length = random.next() & 0xffff;
      const b = new Uint8Array(12);
      const dv = new DataView(b.buffer);
      dv.setInt32(0, src);
      dv.setInt32(4, dst);
      b[9] = proto;
      dv.setUint16(10, length);
      expect(fold(pseudoHeaderSum(src, dst, proto, length))).to.equal(naiveSum(b, 0, 12));
    }
  });

  describe('incremental update (RFC 1624)', () => {
    it('gives 0x0000, not 0xffff, in the RFC 1624 §4 example', () => {
      // Other octets sum to 0xcd7a; m = 0x5555 becomes m' = 0x3285, so the new sum is 0xffff.
      expect(updateChecksum16(0xdd2f, 0x5555, 0x3285)).to.equal(0x0000);
      // The same with real bytes: words 0xcd7a, the checksum field (0 while summing), m.
      const b = Uint8Array.of(0xcd, 0x7a, 0x00, 0x00, 0x55, 0x55);
      const check = checksum(b, 0, 6);
      expect(check).to.equal(0xdd2f);
      b[4] = 0x32;
      b[5] = 0x85;
      expect(checksum(b, 0, 6)).to.equal(0x0000);
    });

    it('equals recomputation for random 16-bit field changes, 0x0000 and 0xffff included', () => {
      const random = new Xorshift32(1624);
      const edge = [0x0000, 0xffff];
      for (let n = 0; n < 5000; n++) {
        const b = randomBytes(20, random);
        b[10] = b[11] = 0;
        const field = 2 * random.below(10);
        if (field === 10) continue; // the checksum field itself
        if ((n & 3) === 0) {
          b[field] = b[field + 1] = (n & 4) !== 0 ? 0xff : 0x00;
        }
        const check = checksum(b, 0, 20);
        const oldWord = (b[field]! << 8) | b[field + 1]!;
        const newWord = (n & 3) === 1 ? edge[(n >>> 2) & 1]! : random.next() & 0xffff;
        b[field] = newWord >>> 8;
        b[field + 1] = newWord & 0xff;
        const want = checksum(b, 0, 20);
        expect(updateChecksum16(check, oldWord, newWord), `case ${n}`).to.equal(want);
      }
    });

    it('hits new checksum 0x0000 exactly where recomputation does', () => {
      const random = new Xorshift32(11);
      let zeros = 0;
      for (let n = 0; n < 2000; n++) {
        const b = randomBytes(20, random);
        b[10] = b[11] = 0;
        const check = checksum(b, 0, 20);
        const oldWord = (b[0]! << 8) | b[1]!;
        // Choose m' so that the new sum is 0xffff: m' = ~(sum of the other words).
        const others = fold(sumWords(b, 2, 18, 0));
        const newWord = ~others & 0xffff;
        b[0] = newWord >>> 8;
        b[1] = newWord & 0xff;
        const want = checksum(b, 0, 20);
        if (want === 0) zeros++;
        expect(updateChecksum16(check, oldWord, newWord)).to.equal(want);
      }
      expect(zeros).to.be.greaterThan(1000);
    });

    it('updates a 32-bit field (an address) like recomputation', () => {
      const random = new Xorshift32(32);
      for (let n = 0; n < 5000; n++) {
        const b = randomBytes(20, random);
        b[10] = b[11] = 0;
        const dv = new DataView(b.buffer);
        const check = checksum(b, 0, 20);
        const at = (n & 1) !== 0 ? 12 : 16;
        const oldValue = dv.getInt32(at);
        const newValue = (n & 6) === 0 ? ((n & 8) !== 0 ? -1 : 0) : random.next() | 0;
        dv.setInt32(at, newValue);
        expect(updateChecksum32(check, oldValue, newValue), `case ${n}`).to.equal(checksum(b, 0, 20));
        expect(updateChecksum32(check, oldValue >>> 0, newValue >>> 0)).to.equal(checksum(b, 0, 20));
      }
    });
  });
});
