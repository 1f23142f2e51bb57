import { expect } from 'chai';
import { copyBytes } from '../../src/storage/copy.ts';
import { Xorshift32 } from '../../src/random.ts';

function pattern(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** memmove on absolute offsets of one buffer: the reference. */
function referenceMove(mem: Uint8Array, to: number, from: number, len: number): void {
  const tmp = Array.from(mem.slice(from, from + len));
  for (let i = 0; i < len; i++) mem[to + i] = tmp[i]!;
}

describe('copyBytes', () => {
  it('copies between different buffers at offsets', () => {
    const src = pattern(40);
    const dst = new Uint8Array(40);
    copyBytes(dst, 5, src, 11, 20);
    for (let i = 0; i < 40; i++) expect(dst[i]).to.equal(i >= 5 && i < 25 ? src[i + 6] : 0);
  });

  it('copies a whole source with the fast path', () => {
    const src = pattern(13);
    const dst = new Uint8Array(20);
    copyBytes(dst, 4, src, 0, 13);
    expect([...dst.slice(4, 17)]).to.deep.equal([...src]);
    expect(dst[3]).to.equal(0);
    expect(dst[17]).to.equal(0);
  });

  it('copies lengths around the 8-octet unrolling', () => {
    const src = pattern(64);
    for (let len = 0; len <= 33; len++) {
      const dst = new Uint8Array(64).fill(0xff);
      copyBytes(dst, 1, src, 2, len);
      expect(dst[0]).to.equal(0xff);
      for (let i = 0; i < len; i++) expect(dst[1 + i]).to.equal(src[2 + i]);
      expect(dst[1 + len]).to.equal(0xff);
    }
  });

  it('does nothing for zero or negative lengths', () => {
    const src = pattern(8);
    const dst = new Uint8Array(8);
    copyBytes(dst, 0, src, 0, 0);
    copyBytes(dst, 0, src, 0, -4);
    copyBytes(src, 0, src, 3, -1);
    expect([...dst]).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...src]).to.deep.equal([...pattern(8)]);
  });

  it('moves forward within one array when the ranges overlap (memmove)', () => {
    const mem = pattern(32);
    const want = pattern(32);
    copyBytes(mem, 4, mem, 0, 20);
    referenceMove(want, 4, 0, 20);
    expect([...mem]).to.deep.equal([...want]);
  });

  it('moves backward within one array when the ranges overlap (memmove)', () => {
    const mem = pattern(32);
    const want = pattern(32);
    copyBytes(mem, 0, mem, 3, 25);
    referenceMove(want, 0, 3, 25);
    expect([...mem]).to.deep.equal([...want]);
  });

  it('handles two views of one buffer at different offsets, overlapping both ways', () => {
    for (const [dstView, srcView, dstOff, srcOff, len] of [
      [10, 0, 0, 12, 20], // src view starts before dst view; src range inside dst's view
      [0, 10, 15, 0, 20], // dst ahead of src, overlapping
      [0, 10, 5, 0, 20], // dst behind src, overlapping
      [20, 0, 0, 5, 30], // src range starts before dst's view
      [0, 20, 40, 25, 10], // src range ends past dst's view
      [30, 0, 2, 0, 40], // src entirely before dst's view, overlapping the destination
    ] as const) {
      const buf = new ArrayBuffer(100);
      const mem = new Uint8Array(buf);
      mem.set(pattern(100));
      const want = pattern(100);
      const dst = new Uint8Array(buf, dstView, 100 - dstView - (dstView === 0 ? 45 : 0));
      const src = new Uint8Array(buf, srcView, 100 - srcView);
      copyBytes(dst, dstOff, src, srcOff, len);
      referenceMove(want, dstView + dstOff, srcView + srcOff, len);
      expect([...mem], `views ${dstView}/${srcView} offsets ${dstOff}/${srcOff} len ${len}`).to.deep.equal([...want]);
    }
  });

  it('agrees with a reference memmove on random cases', () => {
    const random = new Xorshift32(99);
    const size = 256;
    for (let t = 0; t < 5000; t++) {
      const buf = new ArrayBuffer(size);
      const mem = new Uint8Array(buf);
      for (let i = 0; i < size; i++) mem[i] = random.below(256);
      const want = mem.slice();
      const same = random.below(2) === 0;
      // Views: random windows of the buffer (or a separate buffer for the source).
      const dStart = random.below(size);
      const dLen = random.below(size - dStart + 1);
      const other = new Uint8Array(size);
      for (let i = 0; i < size; i++) other[i] = random.below(256);
      const sStart = random.below(size);
      const sLen = random.below(size - sStart + 1);
      const dst = new Uint8Array(buf, dStart, dLen);
      const src = same ? new Uint8Array(buf, sStart, sLen) : new Uint8Array(other.buffer, sStart, sLen);
      const dstOff = random.below(dLen + 1);
      const srcOff = random.below(sLen + 1);
      const len = random.below(Math.min(dLen - dstOff, sLen - srcOff) + 1);
      const whole = random.below(4) === 0 && !same && sLen <= dLen;
      if (whole) {
        copyBytes(dst, 0, src, 0, sLen);
        for (let i = 0; i < sLen; i++) want[dStart + i] = other[sStart + i]!;
      } else {
        copyBytes(dst, dstOff, src, srcOff, len);
        if (same) referenceMove(want, dStart + dstOff, sStart + srcOff, len);
        else for (let i = 0; i < len; i++) want[dStart + dstOff + i] = other[sStart + srcOff + i]!;
      }
      for (let i = 0; i < size; i++) {
        if (mem[i] !== want[i]) expect.fail(`case ${t}: octet ${i} is ${mem[i]}, want ${want[i]}`);
      }
    }
  });
});
