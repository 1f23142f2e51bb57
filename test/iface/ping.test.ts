/**
 * Ping between two stacks over every in-memory link kind, in virtual time.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface } from '../../src/iface/interface.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import type { Device } from '../../src/phy/device.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { MemoryDevicePair, MemoryLinkPair } from '../../src/phy/memory.ts';
import { UartLinkPair } from '../../src/phy/uart.ts';
import { FaultInjector } from '../../src/phy/fault-injector.ts';
import { PcapWriter } from '../../src/phy/pcap-writer.ts';
import { PcapFileSink } from '../../src/drivers/pcap-file.ts';
import type { PacketPool } from '../../src/storage/packet-pool.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { randomBytes } from '../../support/pattern.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { skipWithout } from '../helpers/tools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';

interface LinkUnderTest {
  a: Device;
  b: Device;
  /** Gives back any slots a device still holds. */
  close(): void;
}

function slipPair(poolA: PacketPool, poolB: PacketPool, links: { a: import('../../src/phy/device.ts').ByteLink; b: import('../../src/phy/device.ts').ByteLink }): LinkUnderTest {
  const a = new SlipDevice(links.a, poolA);
  const b = new SlipDevice(links.b, poolB);
  return { a, b, close: () => { a.close(); b.close(); } };
}

const LINKS: [string, (mtu: number) => LinkUnderTest][] = [
  ['a memory Device pair', (mtu) => {
    const pair = new MemoryDevicePair(testPool({ mtu }), testPool({ mtu }));
    return { a: pair.a, b: pair.b, close: () => {} };
  }],
  ['SLIP over a memory ByteLink pair', (mtu) => slipPair(testPool({ mtu }), testPool({ mtu }), new MemoryLinkPair())],
  ['SLIP over a memory ByteLink pair read in random 1..13 octet chunks', (mtu) =>
    slipPair(testPool({ mtu }), testPool({ mtu }), new MemoryLinkPair({ maxReadChunk: 13, seed: 99 }))],
  ['SLIP over a UART-timed link at 115200 baud', (mtu) => slipPair(testPool({ mtu }), testPool({ mtu }), new UartLinkPair(115200))],
  ['a FaultInjector (duplicate 10%, reorder 10%, delay 5 ms) over SLIP', (mtu) => {
    const inner = slipPair(testPool({ mtu }), testPool({ mtu }), new MemoryLinkPair());
    const a = new FaultInjector(inner.a, { seed: 7, duplicatePct: 10, reorderPct: 10, delayMs: 5 });
    return { a, b: inner.b, close: inner.close };
  }],
];

/** Two stacks and a pinger on A. */
function stacks(link: LinkUnderTest) {
  const a = new Interface({ device: link.a, address: HOST_A });
  const b = new Interface({ device: link.b, address: HOST_B });
  const sock = new IcmpSocket({ rxBuffer: new Uint8Array(16384), txBuffer: new Uint8Array(16384) });
  sock.bind(0x1d);
  a.addIcmpSocket(sock);
  return { a, b, sock };
}

/** Pings B from A `count` times; returns the RTTs (ms of virtual time) of the replies that came back intact. */
function ping(clock: VirtualClock, a: Interface, b: Interface, sock: IcmpSocket, count: number, size: number, timeoutMs = 1000): number[] {
  const rtts: number[] = [];
  const buf = new Uint8Array(size + 16);
  for (let seq = 1; seq <= count; seq++) {
    const data = randomBytes(size, seq);
    expect(sock.sendEcho(HOST_B, seq, data, 0, size)).to.equal(size);
    const sent = clock.now;
    let got = false;
    runUntil(clock, [a, b], () => {
      while (sock.canRecv()) {
        const n = sock.recvEcho(buf, 0, buf.length);
        if (sock.seqNo === seq && n === size && sock.remoteAddress === HOST_B) {
          expect(buf.subarray(0, n)).to.deep.equal(data, `payload of reply ${seq}`);
          got = true;
        }
      }
      return got;
    }, timeoutMs);
    if (got) rtts.push(clock.now - sent);
  }
  return rtts;
}

describe('ping between two stacks', () => {
  checkPools();

  for (const [name, make] of LINKS) {
    it(`20 pings over ${name}: every one answered with its own data`, () => {
      const link = make(1500);
      const clock = new VirtualClock();
      const { a, b, sock } = stacks(link);
      const rtts = ping(clock, a, b, sock, 20, 56);
      expect(rtts).to.have.length(20);
      expect(b.stats.icmp.echoReplied).to.be.at.least(20);
      runIdle(clock, [a, b], 10_000);
      link.close();
    });
  }

  it('over the UART link at 115200 baud the RTT is the serialization time of request plus reply', () => {
    const link = LINKS[3]![1](1500);
    const clock = new VirtualClock();
    const { a, b, sock } = stacks(link);
    const rtts = ping(clock, a, b, sock, 10, 56);
    // 84-octet datagrams + 2 END octets each way, 10 bits per octet.
    const floor = (2 * 86 * 10 * 1000) / 115200;
    for (const rtt of rtts) {
      expect(rtt).to.be.at.least(Math.floor(floor));
      expect(rtt).to.be.at.most(Math.ceil(floor) + 2);
    }
    runIdle(clock, [a, b], 10_000);
    link.close();
  });

  it('pings 3000 octets across MTU 576: fragmented, reassembled, answered, fragmented again', () => {
    const link = LINKS[1]![1](576);
    const clock = new VirtualClock();
    const { a, b, sock } = stacks(link);
    const rtts = ping(clock, a, b, sock, 5, 3000);
    expect(rtts).to.have.length(5);
    expect(a.stats.ip.fragSent).to.be.at.least(5 * 6);
    expect(b.reassembler.stats.reassembled).to.equal(5);
    expect(a.reassembler.stats.reassembled).to.equal(5);
    runIdle(clock, [a, b], 60_000);
    link.close();
  });

  it('loses no slot and answers most pings through 10% drop and 1% corruption', () => {
    const mtu = 1500;
    const inner = slipPair(testPool({ mtu }), testPool({ mtu }), new MemoryLinkPair());
    const fa = new FaultInjector(inner.a, { seed: 3, dropPct: 10, corruptPct: 1 });
    const fb = new FaultInjector(inner.b, { seed: 4, dropPct: 10, corruptPct: 1 });
    const clock = new VirtualClock();
    const { a, b, sock } = stacks({ a: fa, b: fb, close: inner.close });
    const rtts = ping(clock, a, b, sock, 200, 100, 200);
    expect(rtts.length).to.be.within(120, 199);
    runIdle(clock, [a, b], 10_000);
    inner.close();
  });

  it('writes a pcap that tshark reads back with the ICMP echo request and reply', function () {
    skipWithout(this, 'tshark');
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-pcap-'));
    const file = join(dir, 'ping.pcap');
    try {
      const mtu = 1500;
      const pair = new MemoryDevicePair(testPool({ mtu }), testPool({ mtu }));
      const sink = new PcapFileSink(file);
      const clock = new VirtualClock(1000);
      const { a, b, sock } = stacks({ a: new PcapWriter(pair.a, sink), b: pair.b, close: () => {} });
      expect(ping(clock, a, b, sock, 2, 56)).to.have.length(2);
      sink.close();
      const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type', '-e', 'icmp.seq'], { encoding: 'utf8' });
      const lines = out.trim().split('\n').map((l) => l.split('\t'));
      expect(lines).to.deep.equal([
        ['192.0.2.1', '192.0.2.2', '8', '1'],
        ['192.0.2.2', '192.0.2.1', '0', '1'],
        ['192.0.2.1', '192.0.2.2', '8', '2'],
        ['192.0.2.2', '192.0.2.1', '0', '2'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
