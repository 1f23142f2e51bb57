import { expect } from 'chai';
import { UartLinkPair, UartLoopbackLink, UartTimedLink } from '../../src/phy/uart.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import type { ByteLink } from '../../src/phy/device.ts';
import { NEVER } from '../../src/time.ts';
import { checkPools, testPool } from '../helpers/pools.ts';

/** Keeps `writer` full from `now` = from..to (1 ms steps) and counts what `reader` gets by each ms. */
function saturate(writer: ByteLink, reader: ByteLink, from: number, to: number): number {
  const src = new Uint8Array(4096).fill(0x55);
  const dst = new Uint8Array(4096);
  let got = 0;
  for (let now = from; now <= to; now++) {
    writer.write(now, src, 0, src.length);
    for (let n = reader.read(now, dst, 0, dst.length); n > 0; n = reader.read(now, dst, 0, dst.length)) got += n;
  }
  return got;
}

describe('phy/uart', () => {
  checkPools();

  it('carries exactly baud/10 octets per simulated second at 115200 baud', () => {
    const line = new UartLinkPair(115200);
    expect(line.rate).to.equal(11520);
    expect(saturate(line.a, line.b, 0, 1000)).to.equal(11520);
    expect(saturate(line.a, line.b, 1001, 2000)).to.equal(11520);
    expect(saturate(line.b, line.a, 0, 2000)).to.equal(2 * 11520); // the other direction is independent
  });

  it('carries exactly baud/10 octets per second at 9600 and 3 000 000 baud', () => {
    const slow = new UartLinkPair(9600);
    expect(saturate(slow.a, slow.b, 0, 1000)).to.equal(960);
    const fast = new UartLinkPair(3_000_000, { fifo: 65536 });
    expect(saturate(fast.a, fast.b, 0, 1000)).to.equal(300_000);
  });

  it('makes an octet readable only once serialized, and pollAt names that time', () => {
    const line = new UartLinkPair(115200);
    const dst = new Uint8Array(256);
    expect(line.b.pollAt(0)).to.equal(NEVER);
    expect(line.a.write(10, new Uint8Array(100), 0, 100)).to.equal(100);
    // Octet n (1-based) completes at 10 + n * 10000/115200 ms: the first at 10.087, the 100th at 18.68.
    expect(line.b.pollAt(10)).to.equal(11);
    expect(line.b.read(10, dst, 0, 256)).to.equal(0);
    expect(line.b.read(18, dst, 0, 256)).to.equal(92); // 92 * 0.0868 = 7.99 ms
    expect(line.b.pollAt(18)).to.equal(19);
    expect(line.b.read(19, dst, 0, 256)).to.equal(8);
    expect(line.b.pollAt(19)).to.equal(NEVER);
    // A later write starts when written, not when the line last went idle.
    line.a.write(100, new Uint8Array(1), 0, 1);
    expect(line.b.pollAt(50)).to.equal(101);
  });

  it('bounds the FIFO and pushes back on the writer', () => {
    const line = new UartLinkPair(115200, { fifo: 1000 });
    expect(line.a.write(0, new Uint8Array(1500), 0, 1500)).to.equal(1000);
    expect(line.a.pollAt(0)).to.equal(NEVER); // refused, and nothing frees room until b reads
    const dst = new Uint8Array(2000);
    expect(line.b.read(5, dst, 0, 2000)).to.equal(57); // 5 ms * 11.52 octets/ms
    expect(line.a.pollAt(5)).to.equal(5);
    expect(line.a.write(5, new Uint8Array(100), 0, 100)).to.equal(57);
  });

  it('UartLoopbackLink returns its output after the line delay', () => {
    const link = new UartLoopbackLink(115200);
    link.write(0, Uint8Array.from([1, 2, 3]), 0, 3);
    const dst = new Uint8Array(8);
    expect(link.pollAt(0)).to.equal(1);
    expect(link.read(1, dst, 0, 8)).to.equal(3);
    expect([...dst.subarray(0, 3)]).to.deep.equal([1, 2, 3]);
  });

  it('UartTimedLink paces the writes of an unlimited link to baud/10', () => {
    const pty = new MemoryLinkPair();
    const paced = new UartTimedLink(pty.a, 115200);
    expect(saturate(paced, pty.b, 0, 1000)).to.equal(11520);
    const fresh = new UartTimedLink(new MemoryLinkPair().a, 115200);
    fresh.write(0, new Uint8Array(10), 0, 10);
    expect(fresh.pollAt(0)).to.equal(1);
    // Reads are not paced.
    const other = new MemoryLinkPair();
    const timed = new UartTimedLink(other.a, 9600);
    other.b.write(0, new Uint8Array(500), 0, 500);
    expect(timed.read(0, new Uint8Array(600), 0, 600)).to.equal(500);
  });

  it('a SlipDevice frame arrives when its last octet has crossed the line', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B' });
    const line = new UartLinkPair(115200);
    const a = new SlipDevice(line.a, poolA);
    const b = new SlipDevice(line.b, poolB);
    const slot = poolA.alloc();
    poolA.len[slot] = 1006;
    poolA.bytes.fill(0x45, poolA.start[slot]!, poolA.start[slot]! + 1006);
    a.transmit(0, slot);
    // 1008 wire octets at 11.52 octets/ms: the last completes at 87.5 ms.
    // Virtual time driven by pollAt alone, as the host loop does.
    let now = 0;
    let got = b.receive(now);
    while (got < 0 && now < 1000) {
      const next = b.pollAt(now);
      expect(next).to.be.greaterThan(now);
      now = next;
      got = b.receive(now);
    }
    expect(now).to.equal(88);
    expect(poolB.len[got]).to.equal(1006);
    poolB.free(got);
  });
});
