import { expect } from 'chai';
import { TxPriority, type ByteLink } from '../../src/phy/device.ts';
import { isWindowedByteLink } from '../../src/phy/byte-window.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { Arena } from '../../src/storage/arena.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { MemoryLinkPair, MemoryLoopbackLink } from '../../src/phy/memory.ts';
import { SLIP_END, SLIP_ESC } from '../../src/phy/slip.ts';
import { Xorshift32 } from '../../src/random.ts';
import { NEVER } from '../../src/time.ts';
import { measureAlloc } from '../../support/alloc.ts';
import { checkPools, receiveAll, slotOf, takeFrame, testPool } from '../helpers/pools.ts';

/** A frame of `len` octets, a third of them END or ESC. */
function frameOf(random: Xorshift32, len: number, id: number): number[] {
  const f: number[] = [];
  for (let i = 0; i < len; i++) {
    const r = random.below(6);
    f.push(r === 0 ? SLIP_END : r === 1 ? SLIP_ESC : random.next() & 0xff);
  }
  f[0] = id & 0xff; // tell frames apart in failure output
  return f;
}

describe('phy/slip-device', () => {
  checkPools();

  it('reports mtu and checksum in capabilities and refuses an mtu above the pool', () => {
    const pool = testPool({ mtu: 296 });
    const dev = new SlipDevice(new MemoryLoopbackLink(), pool);
    expect(dev.capabilities).to.deep.equal({ mtu: 296, checksum: true });
    expect(new SlipDevice(new MemoryLoopbackLink(), pool, { mtu: 100 }).capabilities.mtu).to.equal(100);
    expect(() => new SlipDevice(new MemoryLoopbackLink(), pool, { mtu: 297 })).to.throw(RangeError);
  });

  it('writes END frame END on the wire and reads it back over a loopback link', () => {
    const pool = testPool();
    const link = new MemoryLoopbackLink();
    const dev = new SlipDevice(link, pool);
    expect(dev.pollAt(0)).to.equal(NEVER);
    dev.transmit(0, slotOf(pool, [0x45, SLIP_END, 2, SLIP_ESC]));
    expect(pool.stats.used).to.equal(0); // freed once encoded
    expect(dev.stats.txBytes).to.equal(8);
    expect(dev.pollAt(0)).to.equal(0);
    const slot = dev.receive(0);
    expect(takeFrame(pool, slot)).to.deep.equal([0x45, SLIP_END, 2, SLIP_ESC]);
    expect(dev.receive(0)).to.equal(-1);
    expect(dev.stats).to.include({ rxFrames: 1, rxBytes: 8, txFrames: 1, txBytes: 8 });
    expect(dev.pollAt(0)).to.equal(NEVER);
  });

  it('moves frames both ways over a small link with TX back pressure, losing nothing', () => {
    const poolA = testPool({ name: 'A', slots: 16 });
    const poolB = testPool({ name: 'B', slots: 16 });
    const pair = new MemoryLinkPair({ capacity: 97, seed: 3, maxReadChunk: 50 });
    const a = new SlipDevice(pair.a, poolA, { readChunk: 64 });
    const b = new SlipDevice(pair.b, poolB, { readChunk: 33, txQueue: 2, rxQueue: 2 });
    const random = new Xorshift32(11);
    const N = 300;
    const toB: number[][] = [];
    const toA: number[][] = [];
    for (let k = 0; k < N; k++) {
      toB.push(frameOf(random, 3 + random.below(1498), k));
      toA.push(frameOf(random, 3 + random.below(200), k));
    }
    const gotB: number[][] = [];
    const gotA: number[][] = [];
    let sentB = 0;
    let sentA = 0;
    for (let now = 0; now < 1_000_000 && (gotB.length < N || gotA.length < N); now++) {
      if (sentB < N && a.txQueued < 8) a.transmit(now, slotOf(poolA, toB[sentB++]!));
      if (sentA < N && b.txQueued < 2) b.transmit(now, slotOf(poolB, toA[sentA++]!));
      for (let s = b.receive(now); s >= 0; s = b.receive(now)) gotB.push(takeFrame(poolB, s));
      for (let s = a.receive(now); s >= 0; s = a.receive(now)) gotA.push(takeFrame(poolA, s));
    }
    expect(gotB).to.deep.equal(toB);
    expect(gotA).to.deep.equal(toA);
    for (const dev of [a, b]) {
      expect(dev.stats).to.include({ rxDropNoSlot: 0, rxDropQueueFull: 0, txDropQueueFull: 0, txDropOversize: 0 });
      expect(dev.stats.decoder).to.include({ oversize: 0, badEscape: 0, runt: 0 });
    }
    expect(pair.a.stats.writeShort).to.be.greaterThan(0); // back pressure really happened
    expect(pair.b.stats.writeShort).to.be.greaterThan(0);
    a.close();
    b.close();
  });

  // Three ways to the same octets: through the link's memory (WindowedByteLink), through the
  // staging buffers (a plain ByteLink), and with pools, buffers and rings in one Arena.
  for (const mode of ['window', 'staging', 'arena'] as const) {
    it(`carries random frames both ways, split anywhere (${mode})`, () => {
      const inArena = mode === 'arena' ? { arena: new Arena(1 << 20) } : {};
      const poolA = new PacketPool({ name: 'A', slots: 16, mtu: 1500, strict: true, ...inArena });
      const poolB = new PacketPool({ name: 'B', slots: 16, mtu: 1500, strict: true, ...inArena });
      const pair = new MemoryLinkPair({ capacity: 4099, seed: 7, maxReadChunk: 700, ...inArena });
      const plain = (link: ByteLink): ByteLink => ({
        read: (now, dst, off, len) => link.read(now, dst, off, len),
        write: (now, src, off, len) => link.write(now, src, off, len),
        pollAt: (now) => link.pollAt(now),
      });
      const linkA = mode === 'staging' ? plain(pair.a) : pair.a;
      const linkB = mode === 'staging' ? plain(pair.b) : pair.b;
      expect(isWindowedByteLink(linkA)).to.equal(mode !== 'staging');
      const a = new SlipDevice(linkA, poolA, inArena);
      const b = new SlipDevice(linkB, poolB, { ...inArena, readChunk: 999 });
      const random = new Xorshift32(mode.length);
      const N = 200;
      const toB: number[][] = [];
      const toA: number[][] = [];
      for (let k = 0; k < N; k++) {
        // Mostly random octets (runs between specials of any length), some frames dense with them.
        const dense = k % 5 === 0;
        const len = 3 + random.below(1498);
        const f: number[] = [];
        for (let i = 0; i < len; i++) f.push(dense ? [SLIP_END, SLIP_ESC, random.next() & 0xff][random.below(3)]! : random.next() & 0xff);
        (k % 2 === 0 ? toB : toA).push(f);
      }
      const gotB: number[][] = [];
      const gotA: number[][] = [];
      let sentB = 0;
      let sentA = 0;
      for (let now = 0; now < 100_000 && (gotB.length < toB.length || gotA.length < toA.length); now++) {
        if (sentB < toB.length && a.canTransmit(now)) a.transmit(now, slotOf(poolA, toB[sentB++]!));
        if (sentA < toA.length && b.canTransmit(now)) b.transmit(now, slotOf(poolB, toA[sentA++]!));
        for (let s = b.receive(now); s >= 0; s = b.receive(now)) gotB.push(takeFrame(poolB, s));
        for (let s = a.receive(now); s >= 0; s = a.receive(now)) gotA.push(takeFrame(poolA, s));
      }
      expect(gotB).to.deep.equal(toB);
      expect(gotA).to.deep.equal(toA);
      expect(a.stats.rxBytes).to.equal(b.stats.txBytes);
      expect(b.stats.rxBytes).to.equal(a.stats.txBytes);
      a.close();
      b.close();
    });
  }

  it('counts a frame as rxDropNoSlot when the pool is empty, and recovers', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B', slots: 2 });
    const pair = new MemoryLinkPair();
    const a = new SlipDevice(pair.a, poolA);
    const b = new SlipDevice(pair.b, poolB);
    for (let k = 0; k < 5; k++) a.transmit(0, slotOf(poolA, [k, 1, 2, 3]));
    const held = [b.receive(0), b.receive(0)];
    expect(b.receive(0)).to.equal(-1);
    expect(b.stats.rxDropNoSlot).to.equal(3);
    expect(b.stats.rxFrames).to.equal(2);
    expect(poolB.stats.err).to.equal(3);
    expect(takeFrame(poolB, held[0]!)).to.deep.equal([0, 1, 2, 3]);
    expect(takeFrame(poolB, held[1]!)).to.deep.equal([1, 1, 2, 3]);
    const got: number[][] = [];
    for (let k = 5; k < 9; k++) {
      a.transmit(1, slotOf(poolA, [k, 1, 2, 3]));
      got.push(takeFrame(poolB, b.receive(1)));
    }
    expect(got).to.deep.equal([[5, 1, 2, 3], [6, 1, 2, 3], [7, 1, 2, 3], [8, 1, 2, 3]]);
    expect(b.stats.rxDropNoSlot).to.equal(3);
  });

  it('stops reading when its RX queue is full and resumes when drained', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B' });
    const pair = new MemoryLinkPair();
    const a = new SlipDevice(pair.a, poolA);
    const b = new SlipDevice(pair.b, poolB, { rxQueue: 2 });
    for (let k = 0; k < 6; k++) a.transmit(0, slotOf(poolA, [k, 0, 0]));
    const first = b.receive(0);
    expect(b.rxQueued).to.equal(1);
    expect(poolB.stats.used).to.equal(2);
    expect(b.pollAt(0)).to.equal(0);
    const got = [takeFrame(poolB, first)];
    for (let s = b.receive(0); s >= 0; s = b.receive(0)) got.push(takeFrame(poolB, s));
    expect(got.map((f) => f[0])).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(b.stats.rxDropQueueFull).to.equal(0);
  });

  it('drops on a full TX queue and on a frame over the MTU, freeing the slots', () => {
    const pool = testPool();
    const pair = new MemoryLinkPair({ capacity: 16 });
    const dev = new SlipDevice(pair.a, pool, { txQueue: 2, mtu: 100 });
    const big = new Array<number>(101).fill(1);
    dev.transmit(0, slotOf(pool, big));
    expect(dev.stats.txDropOversize).to.equal(1);
    for (let k = 0; k < 5; k++) dev.transmit(0, slotOf(pool, new Array<number>(50).fill(k)));
    // One frame encoded and partly written, two queued, two dropped.
    expect(dev.stats.txFrames).to.equal(1);
    expect(dev.txQueued).to.equal(2);
    expect(dev.stats.txDropQueueFull).to.equal(2);
    expect(pool.stats.used).to.equal(2);
    dev.close();
    expect(pool.stats.used).to.equal(0);
    expect(dev.txPending).to.equal(false);
  });

  it('sends control frames (TxPriority.Control) before queued data, each kind in its own order', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B' });
    const pair = new MemoryLinkPair({ capacity: 16 });
    const a = new SlipDevice(pair.a, poolA, { txQueue: 4 });
    const b = new SlipDevice(pair.b, poolB);
    // Data 0 is being written when the rest arrives; it is never cut.
    for (let k = 0; k < 3; k++) a.transmit(0, slotOf(poolA, new Array<number>(40).fill(k)), TxPriority.Data);
    a.transmit(0, slotOf(poolA, [0xa1, 0, 0]), TxPriority.Control);
    a.transmit(0, slotOf(poolA, [0xa2, 0, 0]), TxPriority.Control);
    a.transmit(0, slotOf(poolA, new Array<number>(40).fill(3))); // Data is the default
    expect(a.txQueued).to.equal(3);
    const order: number[] = [];
    for (let now = 1; order.length < 6 && now < 100; now++) {
      a.receive(now); // pumps TX
      for (let s = b.receive(now); s >= 0; s = b.receive(now)) order.push(takeFrame(poolB, s)[0]!);
    }
    expect(order).to.deep.equal([0, 0xa1, 0xa2, 1, 2, 3]);
    expect(a.txPending).to.equal(false);
  });

  it('queues a control frame behind the data when its own queue is full, and close() frees both queues', () => {
    const pool = testPool();
    const pair = new MemoryLinkPair({ capacity: 8 });
    const dev = new SlipDevice(pair.a, pool, { txQueue: 2 });
    dev.transmit(0, slotOf(pool, new Array<number>(20).fill(9))); // being written
    for (let k = 0; k < 3; k++) dev.transmit(0, slotOf(pool, [k, 0, 0]), TxPriority.Control);
    expect(dev.txQueued).to.equal(1); // the third control frame went to the data queue
    expect(dev.stats.txDropQueueFull).to.equal(0);
    expect(pool.stats.used).to.equal(3);
    dev.close();
    expect(pool.stats.used).to.equal(0);
    expect(dev.txPending).to.equal(false);
  });

  it('close() frees a half-received frame', () => {
    const pool = testPool();
    const link = new MemoryLoopbackLink();
    const dev = new SlipDevice(link, pool);
    link.write(0, Uint8Array.from([SLIP_END, 1, 2, 3]), 0, 4);
    expect(dev.receive(0)).to.equal(-1);
    expect(pool.stats.used).to.equal(1);
    dev.close();
  });

  it('allocates nothing per frame: 20 000 frames each way over a MemoryLinkPair', function () {
    this.timeout(60_000);
    const poolA = testPool({ name: 'A', slots: 16 });
    const poolB = testPool({ name: 'B', slots: 16 });
    const pair = new MemoryLinkPair({ capacity: 8192 });
    const a = new SlipDevice(pair.a, poolA);
    const b = new SlipDevice(pair.b, poolB);
    const random = new Xorshift32(5);
    const template = new Uint8Array(1500);
    for (let i = 0; i < template.length; i++) template[i] = random.next() & 0xff;
    const lengths = new Int32Array(64);
    for (let k = 0; k < lengths.length; k++) lengths[k] = 20 + random.below(1481);
    const counters = { received: 0 };
    const step = (i: number): void => {
      const len = lengths[i & 63]!;
      const sa = poolA.alloc();
      poolA.bytes.set(template, poolA.start[sa]!);
      poolA.len[sa] = len;
      a.transmit(i, sa);
      const sb = poolB.alloc();
      poolB.bytes.set(template, poolB.start[sb]!);
      poolB.len[sb] = len;
      b.transmit(i, sb);
      counters.received += receiveAll(b, i) + receiveAll(a, i);
    };
    const report = measureAlloc(step, 20_000, 5_000);
    expect(counters.received).to.equal(2 * 25_000);
    expect(a.stats.decoder.frames).to.equal(25_000);
    // Exact: not one octet in a steady-state round of 5 000 steps (10 000 frames).
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    a.close();
    b.close();
  });
});
