import { expect } from 'chai';
import { Xorshift32 } from '../../src/random.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { checkPools, testPool } from '../helpers/pools.ts';

describe('PacketPool', () => {
  checkPools();

  it('hands out every slot once, then returns -1 and counts err', () => {
    const pool = testPool({ slots: 4, mtu: 100 });
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push(pool.alloc());
    expect([...got].sort()).to.deep.equal([0, 1, 2, 3]);
    expect(pool.available).to.equal(0);
    expect(pool.alloc()).to.equal(-1);
    expect(pool.alloc()).to.equal(-1);
    expect(pool.stats).to.deep.include({ used: 4, max: 4, err: 2, doubleFree: 0 });
    for (const s of got) pool.free(s);
    expect(pool.available).to.equal(4);
  });

  it('hands out low indices first', () => {
    const pool = testPool({ slots: 3, mtu: 100 });
    expect([pool.alloc(), pool.alloc(), pool.alloc()]).to.deep.equal([0, 1, 2]);
    pool.free(0);
    pool.free(1);
    pool.free(2);
  });

  it('reuses a freed slot', () => {
    const pool = testPool({ slots: 2, mtu: 100 });
    const a = pool.alloc();
    const b = pool.alloc();
    pool.free(a);
    expect(pool.isAllocated(a)).to.equal(false);
    expect(pool.isAllocated(b)).to.equal(true);
    const c = pool.alloc();
    expect(c).to.equal(a);
    expect(pool.alloc()).to.equal(-1);
    pool.free(b);
    pool.free(c);
  });

  it('tracks the high-water mark in max', () => {
    const pool = testPool({ slots: 8, mtu: 100 });
    const a = pool.alloc();
    const b = pool.alloc();
    const c = pool.alloc();
    pool.free(b);
    pool.free(c);
    expect(pool.stats.used).to.equal(1);
    expect(pool.stats.max).to.equal(3);
    const d = pool.alloc();
    expect(pool.stats.max).to.equal(3);
    pool.free(a);
    pool.free(d);
    expect(pool.stats.used).to.equal(0);
    expect(pool.stats.max).to.equal(3);
  });

  it('counts a double free and does not corrupt the free list when not strict', () => {
    const pool = new PacketPool({ slots: 2, mtu: 100 });
    const a = pool.alloc();
    pool.free(a);
    pool.free(a);
    expect(pool.stats.doubleFree).to.equal(1);
    expect(pool.stats.used).to.equal(0);
    expect(pool.available).to.equal(2);
    // The slot must not be handed out twice.
    const x = pool.alloc();
    const y = pool.alloc();
    expect(x).to.not.equal(y);
    expect(pool.alloc()).to.equal(-1);
  });

  it('counts out-of-range and non-integer frees as bad frees', () => {
    const pool = new PacketPool({ slots: 2, mtu: 100 });
    const a = pool.alloc();
    pool.free(-1);
    pool.free(2);
    pool.free(0.5);
    pool.free(Number.NaN);
    expect(pool.stats.doubleFree).to.equal(4);
    expect(pool.stats.used).to.equal(1);
    expect(pool.available).to.equal(1);
    expect(pool.isAllocated(a)).to.equal(true);
    pool.free(a);
    expect(pool.stats.used).to.equal(0);
  });

  it('throws on a double free when strict, and still counts it', () => {
    const pool = new PacketPool({ slots: 2, mtu: 100, strict: true });
    const a = pool.alloc();
    pool.free(a);
    expect(() => pool.free(a)).to.throw(/not allocated/);
    expect(() => pool.free(7)).to.throw(/not allocated/);
    expect(pool.stats.doubleFree).to.equal(2);
    expect(pool.available).to.equal(2);
  });

  it('carves 4-aligned, non-overlapping slots of headroom + mtu octets', () => {
    for (const [mtu, headroom] of [[68, 0], [69, 0], [1500, 0], [1501, 3], [296, 14], [1006, 2]] as const) {
      const pool = new PacketPool({ slots: 5, mtu, headroom });
      expect(pool.slotSize % 4).to.equal(0);
      expect(pool.slotSize).to.be.at.least(mtu + headroom);
      expect(pool.slotSize).to.be.below(mtu + headroom + 4);
      expect(pool.capacity).to.equal(pool.slotSize);
      expect(pool.buffer.byteLength).to.equal(pool.slotSize * 5);
      expect(pool.bytes.byteLength).to.equal(pool.buffer.byteLength);
      expect(pool.view.byteLength).to.equal(pool.buffer.byteLength);
      for (let s = 0; s < 5; s++) {
        expect(pool.base(s) % 4).to.equal(0);
        if (s > 0) expect(pool.base(s)).to.equal(pool.base(s - 1) + pool.slotSize);
        expect(pool.base(s) + headroom + mtu).to.be.at.most(pool.bytes.length);
      }
    }
  });

  it('writes to one slot leave its neighbours untouched', () => {
    const pool = testPool({ slots: 3, mtu: 101, headroom: 2 });
    const s = [pool.alloc(), pool.alloc(), pool.alloc()];
    for (let k = 0; k < 3; k++) {
      const slot = s[k]!;
      pool.bytes.fill(k + 1, pool.base(slot), pool.base(slot) + pool.headroom + pool.mtu);
    }
    for (let k = 0; k < 3; k++) {
      const slot = s[k]!;
      for (let i = pool.base(slot); i < pool.base(slot) + pool.headroom + pool.mtu; i++) {
        if (pool.bytes[i] !== k + 1) expect.fail(`slot ${slot} octet ${i} overwritten`);
      }
    }
    for (const slot of s) pool.free(slot);
  });

  it('opens a fresh window after the headroom with length 0', () => {
    const pool = testPool({ slots: 3, mtu: 200, headroom: 16 });
    const a = pool.alloc();
    expect(pool.start[a]).to.equal(pool.base(a) + 16);
    expect(pool.len[a]).to.equal(0);
    // Layers move the window: prepend a 4-octet header into the headroom, set a length.
    pool.start[a] = pool.start[a]! - 4;
    pool.len[a] = 104;
    expect(pool.start[a]).to.equal(pool.base(a) + 12);
    pool.free(a);
    // A re-allocated slot gets a fresh window whatever the last owner left.
    const b = pool.alloc();
    expect(b).to.equal(a);
    expect(pool.start[b]).to.equal(pool.base(b) + 16);
    expect(pool.len[b]).to.equal(0);
    pool.free(b);
  });

  it('keeps windows per slot', () => {
    const pool = testPool({ slots: 4, mtu: 100 });
    const a = pool.alloc();
    const b = pool.alloc();
    pool.len[a] = 10;
    pool.len[b] = 20;
    pool.start[b] = pool.start[b]! + 8;
    expect(pool.len[a]).to.equal(10);
    expect(pool.start[a]).to.equal(pool.base(a));
    expect(pool.start[b]).to.equal(pool.base(b) + 8);
    pool.free(a);
    pool.free(b);
  });

  it('reports its configuration and preallocated size', () => {
    const pool = new PacketPool({ slots: 16, mtu: 1500, headroom: 0, name: 'rx' });
    expect(pool.name).to.equal('rx');
    expect(pool.size).to.equal(16);
    expect(pool.mtu).to.equal(1500);
    expect(pool.preallocatedBytes).to.equal(16 * 1500 + 16 * 13);
    expect(new PacketPool({ slots: 1, mtu: 100 }).name).to.equal('pbuf');
  });

  it('rejects nonsense configuration', () => {
    expect(() => new PacketPool({ slots: 0, mtu: 1500 })).to.throw(RangeError);
    expect(() => new PacketPool({ slots: 1.5, mtu: 1500 })).to.throw(RangeError);
    expect(() => new PacketPool({ slots: 4, mtu: 67 })).to.throw(RangeError);
    expect(() => new PacketPool({ slots: 4, mtu: 1500, headroom: -4 })).to.throw(RangeError);
    expect(() => new PacketPool({ slots: 4, mtu: 1500, headroom: 2.5 })).to.throw(RangeError);
  });

  it('survives a random alloc/free workload with consistent statistics', () => {
    const pool = testPool({ slots: 16, mtu: 68 });
    const held: number[] = [];
    const random = new Xorshift32(12345);
    let err = 0;
    let max = 0;
    for (let i = 0; i < 20_000; i++) {
      if (random.below(2) === 0) {
        const s = pool.alloc();
        if (held.length === 16) {
          expect(s).to.equal(-1);
          err++;
        } else {
          expect(s).to.be.within(0, 15);
          expect(held).to.not.include(s);
          held.push(s);
          if (held.length > max) max = held.length;
        }
      } else if (held.length > 0) {
        const k = random.below(held.length);
        pool.free(held[k]!);
        held.splice(k, 1);
      }
      expect(pool.stats.used).to.equal(held.length);
    }
    expect(pool.stats.err).to.equal(err);
    expect(pool.stats.max).to.equal(max);
    for (const s of held) pool.free(s);
  });
});
