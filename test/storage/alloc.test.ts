/**
 * Storage on the packet path allocates nothing (docs/memory-and-time.md): measured with the same
 * v8.GCProfiler method as the benches (support/alloc.ts), after warm-up.
 */
import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import { Assembler } from '../../src/storage/assembler.ts';
import { copyBytes } from '../../src/storage/copy.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { RingBuffer } from '../../src/storage/ring-buffer.ts';
import { SlotFifo } from '../../src/storage/slot-fifo.ts';

class Sink {
  value = 0;
  held: unknown = null;
}

describe('storage allocation', function () {
  this.timeout(60_000);
  const sink = new Sink();
  const N = 100_000;

  it('the counter is exact: one small object per 1024 iterations shows in every round, none reads 0', () => {
    // 102 400 iterations in 4 rounds of 25 600: 25 objects of at least 32 octets per round.
    const leaky = measureAlloc((i) => {
      if ((i & 1023) === 0) sink.held = { i };
      sink.value ^= i;
    }, 102_400, 10_240);
    expect(leaky.leastRoundBytes, JSON.stringify(leaky)).to.be.at.least(25 * 32);
    const clean = measureAlloc((i) => {
      sink.value ^= i;
    }, 102_400, 10_240);
    expect(clean.leastRoundBytes, JSON.stringify(clean)).to.equal(0);
  });

  it('PacketPool alloc and free allocate nothing', () => {
    const pool = new PacketPool({ slots: 8, mtu: 1500 });
    const report = measureAlloc((i) => {
      const a = pool.alloc();
      const b = pool.alloc();
      pool.len[a] = i & 0x3ff;
      pool.free(a);
      pool.free(b);
      sink.value ^= a + b;
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });

  it('RingBuffer enqueue, readAt, writeAt, commit and dequeue allocate nothing, wrapping', () => {
    const ring = new RingBuffer(new Uint8Array(4093));
    const src = new Uint8Array(1460);
    const dst = new Uint8Array(1460);
    const report = measureAlloc((i) => {
      const len = 500 + (i % 900);
      ring.enqueue(src, 0, len);
      sink.value ^= ring.readAt(7, dst, 0, 300);
      ring.writeAt(10, src, 3, 200);
      ring.writeAt(0, src, 0, 10);
      ring.commit(210);
      sink.value ^= ring.dequeue(dst, 0, len + 210) + ring.contiguousReadLength + ring.contiguousWriteLength;
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });

  it('SlotFifo push, peek, shift and a refused push allocate nothing, wrapping', () => {
    const fifo = new SlotFifo(5);
    const report = measureAlloc((i) => {
      fifo.push(i & 31);
      fifo.push((i + 1) & 31);
      sink.value ^= fifo.peek() + fifo.shift() + fifo.length;
      if (fifo.isFull()) sink.value ^= fifo.push(0) ? 1 : 0;
      if (fifo.length > 3) fifo.shift();
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });

  it('copyBytes allocates nothing on any path', () => {
    const pool = new Uint8Array(8192);
    const a = new Uint8Array(pool.buffer, 0, 4096);
    const b = new Uint8Array(pool.buffer, 4096, 4096);
    const other = new Uint8Array(1460);
    const whole = new Uint8Array(64);
    const report = measureAlloc((i) => {
      const k = i & 63;
      copyBytes(pool, 100 + k, pool, 200, 1460); // same array: copyWithin
      copyBytes(b, k, a, 4000, 90); // same buffer, source outside dst's view: octet loop
      copyBytes(a, 5 + k, other, 3, 1400); // different buffers: word loop
      copyBytes(a, k, whole, 0, 64); // whole source: set
      sink.value ^= pool[k]!;
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });

  it('Assembler add, recentRange, removeFront and advance allocate nothing', () => {
    const asm = new Assembler(4);
    const report = measureAlloc((i) => {
      asm.add(100, 200);
      asm.add(300 + (i & 7), 400);
      asm.add(250, 260);
      sink.value ^= asm.recentRange(0) + asm.recentRange(2);
      asm.add(0, 100);
      sink.value ^= asm.removeFront();
      asm.advance(1000);
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });
});
