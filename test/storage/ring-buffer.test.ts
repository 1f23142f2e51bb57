import { expect } from 'chai';
import { RingBuffer } from '../../src/storage/ring-buffer.ts';
import { Xorshift32 } from '../../src/random.ts';

function bytes(from: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (from + i) & 0xff;
  return b;
}

/** Fills a ring of capacity `cap` so that its read point sits at `readAt` and it holds `used` octets of value 0xee. */
function positioned(cap: number, readAt: number, used: number): RingBuffer {
  const ring = new RingBuffer(new Uint8Array(cap));
  const filler = new Uint8Array(cap).fill(0xee);
  ring.enqueue(filler, 0, readAt);
  ring.discard(readAt);
  ring.enqueue(filler, 0, used);
  return ring;
}

describe('RingBuffer', () => {
  it('starts empty', () => {
    const ring = new RingBuffer(new Uint8Array(8));
    expect(ring.capacity).to.equal(8);
    expect(ring.length).to.equal(0);
    expect(ring.window).to.equal(8);
    expect(ring.isEmpty()).to.equal(true);
    expect(ring.isFull()).to.equal(false);
    expect(ring.dequeue(new Uint8Array(4), 0, 4)).to.equal(0);
  });

  it('enqueues and dequeues in order across the wrap', () => {
    const ring = new RingBuffer(new Uint8Array(8));
    const out = new Uint8Array(8);
    expect(ring.enqueue(bytes(1, 6), 0, 6)).to.equal(6);
    expect(ring.dequeue(out, 0, 4)).to.equal(4);
    expect([...out.slice(0, 4)]).to.deep.equal([1, 2, 3, 4]);
    // 2 held at offsets 4..5; the next 6 wrap around the end.
    expect(ring.enqueue(bytes(7, 6), 0, 6)).to.equal(6);
    expect(ring.isFull()).to.equal(true);
    expect(ring.dequeue(out, 0, 8)).to.equal(8);
    expect([...out]).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(ring.isEmpty()).to.equal(true);
  });

  it('takes only what fits when nearly full', () => {
    const ring = new RingBuffer(new Uint8Array(8));
    expect(ring.enqueue(bytes(0, 5), 0, 5)).to.equal(5);
    expect(ring.enqueue(bytes(100, 10), 0, 10)).to.equal(3);
    expect(ring.enqueue(bytes(200, 1), 0, 1)).to.equal(0);
    const out = new Uint8Array(8);
    expect(ring.dequeue(out, 0, 100)).to.equal(8);
    expect([...out]).to.deep.equal([0, 1, 2, 3, 4, 100, 101, 102]);
  });

  it('copies from and to the given offsets of the caller arrays', () => {
    const ring = new RingBuffer(new Uint8Array(16));
    const src = bytes(0, 32);
    expect(ring.enqueue(src, 10, 5)).to.equal(5);
    const out = new Uint8Array(12).fill(0xff);
    expect(ring.dequeue(out, 3, 5)).to.equal(5);
    expect([...out]).to.deep.equal([0xff, 0xff, 0xff, 10, 11, 12, 13, 14, 0xff, 0xff, 0xff, 0xff]);
  });

  it('ignores zero and negative lengths', () => {
    const ring = new RingBuffer(new Uint8Array(4));
    expect(ring.enqueue(bytes(0, 4), 0, 0)).to.equal(0);
    expect(ring.enqueue(bytes(0, 4), 0, -1)).to.equal(0);
    ring.enqueue(bytes(0, 2), 0, 2);
    expect(ring.readAt(0, new Uint8Array(4), 0, 0)).to.equal(0);
    expect(ring.dequeue(new Uint8Array(4), 0, -3)).to.equal(0);
    expect(ring.length).to.equal(2);
  });

  it('works with storage that is a view into a larger buffer', () => {
    const backing = new Uint8Array(64).fill(0xaa);
    const ring = new RingBuffer(new Uint8Array(backing.buffer, 16, 8));
    ring.enqueue(bytes(1, 6), 0, 6);
    ring.discard(5);
    ring.enqueue(bytes(7, 7), 0, 7);
    const out = new Uint8Array(8);
    expect(ring.dequeue(out, 0, 8)).to.equal(8);
    expect([...out]).to.deep.equal([6, 7, 8, 9, 10, 11, 12, 13]);
    // Nothing outside the view was touched.
    for (let i = 0; i < 16; i++) expect(backing[i]).to.equal(0xaa);
    for (let i = 24; i < 64; i++) expect(backing[i]).to.equal(0xaa);
  });

  it('readAt copies at every offset and every read point without dequeuing', () => {
    const cap = 11;
    for (let readPoint = 0; readPoint < cap; readPoint++) {
      for (let used = 0; used <= cap; used++) {
        const ring = new RingBuffer(new Uint8Array(cap));
        const filler = new Uint8Array(cap);
        ring.enqueue(filler, 0, readPoint);
        ring.discard(readPoint);
        ring.enqueue(bytes(50, used), 0, used);
        for (let offset = 0; offset <= cap; offset++) {
          for (const want of [1, 3, cap]) {
            const out = new Uint8Array(cap + 2).fill(0xff);
            const n = ring.readAt(offset, out, 1, want);
            const expectN = Math.max(0, Math.min(want, used - offset));
            expect(n, `read ${readPoint} used ${used} offset ${offset} want ${want}`).to.equal(expectN);
            for (let i = 0; i < n; i++) expect(out[1 + i]).to.equal((50 + offset + i) & 0xff);
            expect(out[0]).to.equal(0xff);
            expect(out[1 + n]).to.equal(0xff);
          }
        }
        expect(ring.length).to.equal(used);
      }
    }
  });

  it('writeAt places data past the tail at every offset; commit makes it readable', () => {
    const cap = 9;
    for (let readPoint = 0; readPoint < cap; readPoint++) {
      for (let used = 0; used <= cap; used++) {
        for (let offset = 0; offset <= cap; offset++) {
          const ring = positioned(cap, readPoint, used);
          const free = cap - used;
          const n = ring.writeAt(offset, bytes(1, cap), 0, cap);
          expect(n, `read ${readPoint} used ${used} offset ${offset}`).to.equal(Math.max(0, free - offset));
          expect(ring.length).to.equal(used);
          if (n === 0) continue;
          // Fill the gap in front, then commit everything.
          expect(ring.writeAt(0, new Uint8Array(offset).fill(0x77), 0, offset)).to.equal(offset);
          ring.commit(offset + n);
          expect(ring.length).to.equal(used + offset + n);
          const out = new Uint8Array(cap);
          expect(ring.dequeue(out, 0, cap)).to.equal(used + offset + n);
          for (let i = 0; i < used; i++) expect(out[i]).to.equal(0xee);
          for (let i = 0; i < offset; i++) expect(out[used + i]).to.equal(0x77);
          for (let i = 0; i < n; i++) expect(out[used + offset + i]).to.equal(1 + i);
        }
      }
    }
  });

  it('keeps out-of-order data in place when the readable data is drained before the gap is filled', () => {
    // TCP: segment B arrives before A; the application reads everything readable; then A arrives.
    const ring = new RingBuffer(new Uint8Array(16));
    ring.enqueue(bytes(0, 5), 0, 5); // readable: 0..4
    expect(ring.writeAt(3, bytes(8, 4), 0, 4)).to.equal(4); // B: 8..11 after a 3-octet hole
    const out = new Uint8Array(16);
    expect(ring.dequeue(out, 0, 16)).to.equal(5);
    expect(ring.isEmpty()).to.equal(true);
    expect(ring.writeAt(0, bytes(5, 3), 0, 3)).to.equal(3); // A: 5..7 fills the hole
    ring.commit(7);
    expect(ring.dequeue(out, 0, 16)).to.equal(7);
    expect([...out.slice(0, 7)]).to.deep.equal([5, 6, 7, 8, 9, 10, 11]);
  });

  it('clamps commit to the free space', () => {
    const ring = new RingBuffer(new Uint8Array(4));
    ring.enqueue(bytes(0, 1), 0, 1);
    ring.commit(10);
    expect(ring.length).to.equal(4);
    expect(ring.isFull()).to.equal(true);
  });

  it('discard drops from the front at every read point and returns the count', () => {
    const cap = 7;
    for (let readPoint = 0; readPoint < cap; readPoint++) {
      for (let used = 0; used <= cap; used++) {
        for (let drop = 0; drop <= cap + 1; drop++) {
          const ring = new RingBuffer(new Uint8Array(cap));
          ring.enqueue(new Uint8Array(cap), 0, readPoint);
          ring.discard(readPoint);
          ring.enqueue(bytes(20, used), 0, used);
          const dropped = ring.discard(drop);
          expect(dropped).to.equal(Math.min(drop, used));
          expect(ring.length).to.equal(used - dropped);
          const out = new Uint8Array(cap);
          const n = ring.dequeue(out, 0, cap);
          for (let i = 0; i < n; i++) expect(out[i]).to.equal(20 + dropped + i);
        }
      }
    }
  });

  it('reports the contiguous readable and writable runs at every position', () => {
    const cap = 10;
    for (let readPoint = 0; readPoint < cap; readPoint++) {
      for (let used = 0; used <= cap; used++) {
        const ring = positioned(cap, readPoint, used);
        const r = ring.readOffset;
        const w = ring.writeOffset;
        expect(r).to.be.within(0, cap - 1);
        expect(w).to.be.within(0, cap - 1);
        expect(w).to.equal((r + used) % cap);
        expect(ring.contiguousReadLength).to.equal(Math.min(used, cap - r));
        expect(ring.contiguousWriteLength).to.equal(Math.min(cap - used, cap - w));
        // The readable run really holds the front of the data.
        if (used > 0) {
          ring.discard(used);
          ring.enqueue(bytes(1, used), 0, used);
          const rr = ring.readOffset;
          const run = ring.contiguousReadLength;
          for (let i = 0; i < run; i++) expect(ring.storage[rr + i]).to.equal(1 + i);
        }
        // Writing the whole contiguous free run directly and committing it appends in order.
        const ring2 = positioned(cap, readPoint, used);
        const ww = ring2.writeOffset;
        const wl = ring2.contiguousWriteLength;
        for (let i = 0; i < wl; i++) ring2.storage[ww + i] = 0x40 + i;
        ring2.commit(wl);
        const out = new Uint8Array(cap);
        const n = ring2.dequeue(out, 0, cap);
        expect(n).to.equal(used + wl);
        for (let i = 0; i < wl; i++) expect(out[used + i]).to.equal(0x40 + i);
      }
    }
  });

  it('has a zero-capacity form that accepts nothing', () => {
    const ring = new RingBuffer(new Uint8Array(0));
    expect(ring.enqueue(bytes(0, 4), 0, 4)).to.equal(0);
    expect(ring.writeAt(0, bytes(0, 4), 0, 4)).to.equal(0);
    expect(ring.readAt(0, new Uint8Array(4), 0, 4)).to.equal(0);
    expect(ring.discard(3)).to.equal(0);
    expect(ring.isEmpty() && ring.isFull()).to.equal(true);
  });

  it('clear empties the ring', () => {
    const ring = new RingBuffer(new Uint8Array(4));
    ring.enqueue(bytes(0, 3), 0, 3);
    ring.clear();
    expect(ring.length).to.equal(0);
    expect(ring.window).to.equal(4);
  });

  it('matches a plain array model over 100 000 random operations', () => {
    const random = new Xorshift32(20240601);
    const cap = 37;
    const ring = new RingBuffer(new Uint8Array(cap));
    let model: number[] = []; // readable octets
    // Out-of-order octets written past the tail: offset -> value (relative to the tail).
    let pending = new Map<number, number>();
    let next = 0;
    const src = new Uint8Array(cap * 2);
    const out = new Uint8Array(cap * 2 + 4);
    for (let op = 0; op < 100_000; op++) {
      const kind = random.below(7);
      const len = random.below(cap + 5);
      if (kind === 0) {
        // enqueue
        for (let i = 0; i < len; i++) src[3 + i] = (next + i) & 0xff;
        const n = ring.enqueue(src, 3, len);
        const expectN = Math.min(len, cap - model.length);
        if (n !== expectN) expect.fail(`op ${op}: enqueue ${len} took ${n}, want ${expectN}`);
        for (let i = 0; i < n; i++) model.push((next + i) & 0xff);
        next += n;
        // Enqueued data overwrites the first n pending positions.
        const moved = new Map<number, number>();
        for (const [k, v] of pending) if (k >= n) moved.set(k - n, v);
        pending = moved;
      } else if (kind === 1) {
        // dequeue
        const n = ring.dequeue(out, 2, len);
        const expectN = Math.min(len, model.length);
        if (n !== expectN) expect.fail(`op ${op}: dequeue ${len} gave ${n}, want ${expectN}`);
        for (let i = 0; i < n; i++) if (out[2 + i] !== model[i]) expect.fail(`op ${op}: dequeue octet ${i} = ${out[2 + i]}, want ${model[i]}`);
        model = model.slice(n);
      } else if (kind === 2) {
        // readAt
        const offset = random.below(cap + 2);
        const n = ring.readAt(offset, out, 1, len);
        const expectN = Math.max(0, Math.min(len, model.length - offset));
        if (n !== expectN) expect.fail(`op ${op}: readAt(${offset}, ${len}) gave ${n}, want ${expectN}`);
        for (let i = 0; i < n; i++) if (out[1 + i] !== model[offset + i]) expect.fail(`op ${op}: readAt octet ${i}`);
      } else if (kind === 3) {
        // writeAt past the tail
        const offset = random.below(cap + 2);
        for (let i = 0; i < len; i++) src[i] = (0x80 + op + i) & 0xff;
        const n = ring.writeAt(offset, src, 0, len);
        const expectN = Math.max(0, Math.min(len, cap - model.length - offset));
        if (n !== expectN) expect.fail(`op ${op}: writeAt(${offset}, ${len}) took ${n}, want ${expectN}`);
        for (let i = 0; i < n; i++) pending.set(offset + i, src[i]!);
      } else if (kind === 4) {
        // commit what was written past the tail (only the positions the model knows)
        let known = 0;
        while (pending.has(known)) known++;
        const n = Math.min(random.below(known + 1), cap - model.length);
        ring.commit(n);
        for (let i = 0; i < n; i++) model.push(pending.get(i)!);
        const moved = new Map<number, number>();
        for (const [k, v] of pending) if (k >= n) moved.set(k - n, v);
        pending = moved;
      } else if (kind === 5) {
        // discard
        const n = ring.discard(len);
        const expectN = Math.min(len, model.length);
        if (n !== expectN) expect.fail(`op ${op}: discard ${len} dropped ${n}, want ${expectN}`);
        model = model.slice(n);
      } else {
        // contiguous runs agree with the readable data
        const r = ring.readOffset;
        const run = ring.contiguousReadLength;
        if (run > model.length || (model.length > 0 && run === 0)) expect.fail(`op ${op}: contiguous read run ${run} with ${model.length} readable`);
        for (let i = 0; i < run; i++) if (ring.storage[r + i] !== model[i]) expect.fail(`op ${op}: run octet ${i}`);
        const wl = ring.contiguousWriteLength;
        if (wl > cap - model.length || (model.length < cap && wl === 0)) expect.fail(`op ${op}: contiguous write run ${wl}`);
        if (ring.writeOffset !== (r + model.length) % cap) expect.fail(`op ${op}: writeOffset`);
      }
      if (ring.length !== model.length) expect.fail(`op ${op}: length ${ring.length}, model ${model.length}`);
      if (ring.window !== cap - model.length) expect.fail(`op ${op}: window`);
    }
  });
});
