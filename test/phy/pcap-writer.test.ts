import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINKTYPE_RAW, MemoryPcapSink, PcapWriter } from '../../src/phy/pcap-writer.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { PcapFileSink } from '../../src/drivers/pcap-file.ts';
import type { PacketPool } from '../../src/storage/packet-pool.ts';
import { checkPools, testPool } from '../helpers/pools.ts';

function slotOf(pool: PacketPool, frame: number[]): number {
  const slot = pool.alloc();
  pool.bytes.set(frame, pool.start[slot]!);
  pool.len[slot] = frame.length;
  return slot;
}

const hex = (bytes: ArrayLike<number>): string => Buffer.from(Uint8Array.from(bytes)).toString('hex');

/** libpcap global header on x86: magic a1b2c3d4 little-endian, 2.4, zone 0, sigfigs 0, snaplen 65535, RAW. */
const GLOBAL_HEADER = 'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '65000000';

describe('phy/pcap-writer', () => {
  checkPools();

  it('writes the libpcap global header at construction', () => {
    const pool = testPool();
    const pair = new MemoryDevicePair(pool, pool);
    const sink = new MemoryPcapSink(1024);
    const writer = new PcapWriter(pair.a, sink);
    expect(LINKTYPE_RAW).to.equal(101);
    expect(hex(sink.bytes.subarray(0, sink.length))).to.equal(GLOBAL_HEADER);
    expect(writer.capabilities).to.equal(pair.a.capabilities);
  });

  it('writes one byte-exact record per frame, sent and received', () => {
    const pool = testPool();
    const pair = new MemoryDevicePair(pool, pool);
    const sink = new MemoryPcapSink(1024);
    const writer = new PcapWriter(pair.a, sink, { epochMs: 1_700_000_000_123 });
    writer.transmit(1000, slotOf(pool, [0x45, 0x00, 0x00, 0x04]));
    pair.b.transmit(2500, pair.b.receive(2500)); // echo it back
    const slot = writer.receive(2500);
    expect(slot).to.be.at.least(0);
    pool.free(slot);
    // 1_700_000_001_123 ms = 1700000001 s (0x6553f101) + 123000 us (0x0001e078).
    const first = '01f15365' + '78e00100' + '04000000' + '04000000' + '45000004';
    // 1_700_000_002_623 ms = 1700000002 s + 623000 us (0x00098198).
    const second = '02f15365' + '98810900' + '04000000' + '04000000' + '45000004';
    expect(hex(sink.bytes.subarray(0, sink.length))).to.equal(GLOBAL_HEADER + first + second);
    expect(writer.stats).to.deep.equal({ records: 2, bytes: 24 + 2 * 20 });
  });

  it("records only one direction with mode 'rx' or 'tx'", () => {
    const pool = testPool();
    const pair = new MemoryDevicePair(pool, pool);
    const rxSink = new MemoryPcapSink(1024);
    const txSink = new MemoryPcapSink(1024);
    const rxOnly = new PcapWriter(pair.a, rxSink, { mode: 'rx' });
    const txOnly = new PcapWriter(pair.b, txSink, { mode: 'tx' });
    txOnly.transmit(0, slotOf(pool, [1, 2, 3]));
    pool.free(rxOnly.receive(0));
    rxOnly.transmit(0, slotOf(pool, [4, 5, 6]));
    pool.free(txOnly.receive(0));
    expect(rxSink.length).to.equal(24 + 16 + 3);
    expect(txSink.length).to.equal(24 + 16 + 3);
    expect(hex(rxSink.bytes.subarray(40, 43))).to.equal('010203');
    expect(hex(txSink.bytes.subarray(40, 43))).to.equal('010203');
  });

  it('MemoryPcapSink counts what does not fit', () => {
    const sink = new MemoryPcapSink(30);
    const pool = testPool();
    const pair = new MemoryDevicePair(pool, pool);
    const writer = new PcapWriter(pair.a, sink);
    writer.transmit(0, slotOf(pool, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    pool.free(pair.b.receive(0));
    expect(sink.length).to.equal(30);
    expect(sink.overflow).to.equal(24 + 16 + 10 - 30);
  });

  it('PcapFileSink writes the same bytes to a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-pcap-'));
    try {
      const path = join(dir, 'capture.pcap');
      const pool = testPool();
      const pair = new MemoryDevicePair(pool, pool);
      const file = new PcapFileSink(path);
      const mem = new MemoryPcapSink(1024);
      const tee = { write: (b: Uint8Array, off: number, len: number) => { file.write(b, off, len); mem.write(b, off, len); } };
      const writer = new PcapWriter(pair.a, tee, { epochMs: 5 });
      writer.transmit(7, slotOf(pool, [0x45, 1, 2, 3, 4]));
      pool.free(pair.b.receive(7));
      file.close();
      file.close(); // idempotent
      expect(hex(readFileSync(path))).to.equal(hex(mem.bytes.subarray(0, mem.length)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
