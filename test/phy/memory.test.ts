import { expect } from 'chai';
import { isWindowedByteLink } from '../../src/phy/byte-window.ts';
import { MemoryDevicePair, MemoryLinkPair, MemoryLoopbackLink } from '../../src/phy/memory.ts';
import { NEVER } from '../../src/time.ts';
import { measureAlloc } from '../../support/alloc.ts';
import { checkPools, slotOf, takeFrame, testPool } from '../helpers/pools.ts';

describe('phy/memory: links', () => {
  it('MemoryLinkPair carries octets both ways and pushes back when a direction is full', () => {
    const pair = new MemoryLinkPair({ capacity: 8 });
    const src = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pair.a.write(0, src, 0, 10)).to.equal(8);
    expect(pair.a.stats.writeShort).to.equal(1);
    expect(pair.a.pollAt(0)).to.equal(NEVER); // full: nothing to do until b reads
    expect(pair.b.pollAt(0)).to.equal(0);
    const dst = new Uint8Array(16);
    expect(pair.b.read(0, dst, 2, 5)).to.equal(5);
    expect([...dst.subarray(2, 7)]).to.deep.equal([1, 2, 3, 4, 5]);
    expect(pair.a.pollAt(0)).to.equal(0); // the refused write now finds room
    expect(pair.a.write(0, src, 8, 2)).to.equal(2);
    expect(pair.b.read(0, dst, 0, 16)).to.equal(5);
    expect([...dst.subarray(0, 5)]).to.deep.equal([6, 7, 8, 9, 10]);
    expect(pair.b.read(0, dst, 0, 16)).to.equal(0);
    expect(pair.b.write(0, src, 0, 3)).to.equal(3);
    expect(pair.a.read(0, dst, 0, 16)).to.equal(3);
  });

  it('lends its rings as windows (WindowedByteLink): commit and release move the same octets as write and read', () => {
    const pair = new MemoryLinkPair({ capacity: 8 });
    expect(isWindowedByteLink(pair.a)).to.equal(true);
    expect(isWindowedByteLink(new MemoryLoopbackLink())).to.equal(true);
    expect(pair.a.txWindow(0)).to.equal(8);
    pair.a.txMemory.set([1, 2, 3, 4, 5], pair.a.txWindowStart);
    pair.a.txCommit(0, 5);
    expect(pair.a.stats.writtenBytes).to.equal(5);
    expect(pair.b.pollAt(0)).to.equal(0);
    expect(pair.b.rxWindow(0)).to.equal(5);
    const at = pair.b.rxWindowStart;
    expect([...pair.b.rxMemory.subarray(at, at + 5)]).to.deep.equal([1, 2, 3, 4, 5]);
    pair.b.rxRelease(0, 2);
    expect(pair.b.stats.readBytes).to.equal(2);
    // The free run stops at the ring's end (3 octets), though 5 are free.
    expect(pair.a.txWindow(0)).to.equal(3);
    expect(pair.a.write(0, Uint8Array.from([6, 7, 8, 9, 10]), 0, 5)).to.equal(5);
    const dst = new Uint8Array(8);
    expect(pair.b.read(0, dst, 0, 8)).to.equal(8);
    expect([...dst]).to.deep.equal([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pair.b.rxWindow(0)).to.equal(0);
  });

  it('cuts reads at maxReadChunk, or at seeded random sizes, without losing an octet', () => {
    const src = new Uint8Array(1000);
    for (let i = 0; i < src.length; i++) src[i] = i & 0xff;
    const fixed = new MemoryLinkPair({ maxReadChunk: 7 });
    fixed.a.write(0, src, 0, 1000);
    const dst = new Uint8Array(64);
    expect(fixed.b.read(0, dst, 0, 64)).to.equal(7);

    const sizes = (seed: number): number[] => {
      const pair = new MemoryLinkPair({ seed, maxReadChunk: 10 });
      pair.a.write(0, src, 0, 1000);
      const out: number[] = [];
      const got: number[] = [];
      for (let n = pair.b.read(0, dst, 0, 64); n > 0; n = pair.b.read(0, dst, 0, 64)) {
        out.push(n);
        got.push(...dst.subarray(0, n));
      }
      expect(got).to.deep.equal([...src]);
      return out;
    };
    const one = sizes(42);
    expect(one).to.deep.equal(sizes(42));
    expect(one).to.not.deep.equal(sizes(43));
    expect(Math.max(...one)).to.be.at.most(10);
    expect(new Set(one).size).to.be.greaterThan(3);
  });

  it('seeded reads and windows allocate nothing', function () {
    this.timeout(60_000);
    const pair = new MemoryLinkPair({ seed: 0xdeadbeef, maxReadChunk: 200, capacity: 4096 });
    const src = new Uint8Array(1500);
    const dst = new Uint8Array(1500);
    const counters = { moved: 0 };
    const report = measureAlloc((i) => {
      pair.a.write(i, src, 0, 1000 + (i & 255));
      for (let n = pair.b.read(i, dst, 0, dst.length); n > 0; n = pair.b.read(i, dst, 0, dst.length)) counters.moved += n;
      pair.b.write(i, src, 0, 300);
      for (let n = pair.a.rxWindow(i); n > 0; n = pair.a.rxWindow(i)) {
        pair.a.rxRelease(i, n);
        counters.moved += n;
      }
    }, 40_000, 20_000);
    expect(counters.moved).to.be.greaterThan(40_000 * 1300);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });

  it('MemoryLoopbackLink returns what was written', () => {
    const link = new MemoryLoopbackLink({ capacity: 4 });
    expect(link.write(0, Uint8Array.from([9, 8, 7, 6, 5]), 0, 5)).to.equal(4);
    const dst = new Uint8Array(8);
    expect(link.read(0, dst, 0, 8)).to.equal(4);
    expect([...dst.subarray(0, 4)]).to.deep.equal([9, 8, 7, 6]);
  });
});

describe('phy/memory: MemoryDevicePair', () => {
  checkPools();

  it('copies frames into the peer pool, both ways', () => {
    const poolA = testPool({ name: 'A', headroom: 14 });
    const poolB = testPool({ name: 'B' });
    const pair = new MemoryDevicePair(poolA, poolB, { checksum: false });
    expect(pair.a.capabilities).to.deep.equal({ mtu: 1500, checksum: false });
    expect(pair.b.pollAt(5)).to.equal(NEVER);
    pair.a.transmit(0, slotOf(poolA, [1, 2, 3]));
    expect(poolA.stats.used).to.equal(0);
    expect(pair.b.pollAt(5)).to.equal(5);
    expect(takeFrame(poolB, pair.b.receive(0))).to.deep.equal([1, 2, 3]);
    pair.b.transmit(0, slotOf(poolB, [4, 5]));
    const slot = pair.a.receive(0);
    expect(poolA.start[slot]).to.equal(poolA.base(slot) + 14);
    expect(takeFrame(poolA, slot)).to.deep.equal([4, 5]);
    expect(pair.a.receive(0)).to.equal(-1);
  });

  it('hands the slot over when both sides share a pool', () => {
    const pool = testPool();
    const pair = new MemoryDevicePair(pool, pool);
    const slot = slotOf(pool, [7, 7, 7]);
    pair.a.transmit(0, slot);
    expect(pair.b.receive(0)).to.equal(slot);
    expect(pool.stats.used).to.equal(1);
    pool.free(slot);
  });

  it('counts drops for a full queue, an empty peer pool and an oversize frame', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B', slots: 2, mtu: 100 });
    const pair = new MemoryDevicePair(poolA, poolB, { queue: 3 });
    pair.a.transmit(0, slotOf(poolA, new Array<number>(101).fill(1)));
    expect(pair.a.stats.txDropOversize).to.equal(1);
    for (let k = 0; k < 3; k++) pair.a.transmit(0, slotOf(poolA, [k]));
    expect(pair.a.stats.txDropNoSlot).to.equal(1);
    const kept = pair.b.receive(0);
    poolB.free(kept);
    pair.a.transmit(0, slotOf(poolA, [3]));
    pair.a.transmit(0, slotOf(poolA, [4]));
    expect(pair.a.stats.txDropNoSlot).to.equal(2);
    expect(poolA.stats.used).to.equal(0);
    pair.close();
    expect(poolB.stats.used).to.equal(0);

    const shared = testPool({ name: 'shared' });
    const small = new MemoryDevicePair(shared, shared, { queue: 1 });
    small.a.transmit(0, slotOf(shared, [1]));
    small.a.transmit(0, slotOf(shared, [2]));
    expect(small.a.stats.txDropQueueFull).to.equal(1);
    small.close();
  });
});
