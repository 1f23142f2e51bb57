/**
 * ACKs first, safely (issue 13): a pure ACK or window update goes ahead of the data frames its
 * device has queued (TxPriority.Control) only when the peer is sure to accept it even before
 * that data (nothing outstanding, or SND.NXT strictly inside the window the peer offered); at
 * the right edge of the window it keeps FIFO order. Two stacks over UART-timed SLIP in virtual
 * time: the order frames leave and arrive in, two ends whose windows are both closed (no ACK
 * storm, with and without an outage of the line), and two-way bulk at the firmware's sizes.
 */
import { expect } from 'chai';
import { SLIP_QUEUE_FRAMES, TCP_RING_LEN } from '../../firmware-bridge/limits.ts';
import { Interface } from '../../src/iface/interface.ts';
import { TxPriority, type ByteLink, type Device, type DeviceCapabilities } from '../../src/phy/device.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { UartLinkPair } from '../../src/phy/uart.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import type { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { randomBytes, sha256 } from '../../support/pattern.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';

const BAUD = 115200;
const MTU = 1006;
const SYN_RST_FIN = 0x07;

/** One TCP segment as a Tap saw it. */
interface Frame {
  seq: number;
  ack: number;
  flags: number;
  len: number;
  priority: TxPriority;
  at: number;
}

function parse(pool: PacketPool, slot: number, priority: TxPriority, at: number): Frame {
  const b = pool.bytes;
  const o = pool.start[slot]!;
  const ihl = (b[o]! & 0x0f) * 4;
  const t = o + ihl;
  const u32 = (k: number): number => ((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0;
  return {
    seq: u32(t + 4), ack: u32(t + 8), flags: b[t + 13]!, len: ((b[o + 2]! << 8) | b[o + 3]!) - ihl - (b[t + 12]! >> 4) * 4, priority, at,
  };
}

/** A Device around another that records every frame given to `transmit` and returned by `receive`. */
class Tap implements Device {
  readonly sent: Frame[] = [];
  readonly received: Frame[] = [];
  readonly inner: Device;
  constructor(inner: Device) {
    this.inner = inner;
  }
  get capabilities(): DeviceCapabilities {
    return this.inner.capabilities;
  }
  get pool(): PacketPool {
    return this.inner.pool;
  }
  receive(now: number): number {
    const slot = this.inner.receive(now);
    if (slot >= 0) this.received.push(parse(this.pool, slot, TxPriority.Data, now));
    return slot;
  }
  transmit(now: number, slot: number, priority: TxPriority = TxPriority.Data): void {
    this.sent.push(parse(this.pool, slot, priority, now));
    this.inner.transmit(now, slot, priority);
  }
  canTransmit(now: number): boolean {
    return this.inner.canTransmit(now);
  }
  pollAt(now: number): number {
    return this.inner.pollAt(now);
  }
  /** Frames sent per second of virtual time from `from` to `to` (ms), one count per whole second. */
  perSecond(from: number, to: number): number[] {
    const counts: number[] = [];
    for (let s = Math.ceil(from / 1000); (s + 1) * 1000 <= to; s++) counts.push(this.sent.filter((f) => f.at >= s * 1000 && f.at < (s + 1) * 1000).length);
    return counts;
  }
}

/** A ByteLink that can be cut (a cable pulled): while down it swallows what is written and delivers nothing. */
class CuttableLink implements ByteLink {
  down = false;
  private readonly inner: ByteLink;
  constructor(inner: ByteLink) {
    this.inner = inner;
  }
  read(now: number, dst: Uint8Array, off: number, len: number): number {
    const n = this.inner.read(now, dst, off, len);
    return this.down ? 0 : n;
  }
  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.down ? len : this.inner.write(now, src, off, len);
  }
  pollAt(now: number): number {
    return this.inner.pollAt(now);
  }
}

interface PairOptions {
  /** Receive ring of B (the window B offers A), octets. */
  ringB?: number;
  /** Send and receive rings of both ends unless ringB says otherwise, octets. */
  ring?: number;
  /** Octets the UART model buffers per direction (a small one leaves the queueing to the SLIP device). */
  fifo?: number;
  txQueue?: number;
}

/** A and B on a UART-timed SLIP line, each SlipDevice behind a Tap; B listens on 7, A has connected. */
function pair(o: PairOptions = {}) {
  const links = new UartLinkPair(BAUD, { fifo: o.fifo ?? 256 });
  const lineA = new CuttableLink(links.a);
  const lineB = new CuttableLink(links.b);
  const slip = { txQueue: o.txQueue ?? SLIP_QUEUE_FRAMES, rxQueue: o.txQueue ?? SLIP_QUEUE_FRAMES };
  const tapA = new Tap(new SlipDevice(lineA, testPool({ name: 'A', slots: 64, mtu: MTU }), slip));
  const tapB = new Tap(new SlipDevice(lineB, testPool({ name: 'B', slots: 64, mtu: MTU }), slip));
  const ring = o.ring ?? TCP_RING_LEN;
  const tcpA = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4], txBufferLen: ring, rxBufferLen: ring });
  const tcpB = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8], txBufferLen: ring, rxBufferLen: o.ringB ?? ring });
  const a = new Interface({ device: tapA, address: HOST_A, tcp: tcpA });
  const b = new Interface({ device: tapB, address: HOST_B, tcp: tcpB });
  const clock = new VirtualClock();
  const l = tcpB.listen(7, 1);
  const client = tcpA.connect(0, HOST_B, 7)!;
  let server: TcpSocket | null = null;
  expect(runUntil(clock, [a, b], () => (server = tcpB.accept(l)) !== null, 5000)).to.equal(true);
  const close = (): void => {
    client.abort();
    server!.abort();
    runIdle(clock, [a, b], 1000);
    (tapA.inner as SlipDevice).close();
    (tapB.inner as SlipDevice).close();
  };
  return { a, b, tapA, tapB, lineA, lineB, tcpA, tcpB, clock, client, server: server! as TcpSocket, close };
}

/**
 * A writes `aWrites` octets (all of them go out at once: the initial window holds them), B at
 * the same moment 100; B's application reads nothing. Returns A's pure ACK of B's data and
 * where it overtook: the data frames A sent before it that reached B after it.
 */
function ackBehindData(o: PairOptions, aWrites: number) {
  const p = pair(o);
  p.client.nagle = false; // the last, short segment goes at once too
  expect(p.client.send(randomBytes(aWrites, 1), 0, aWrites)).to.equal(aWrites);
  expect(p.server.send(randomBytes(100, 2), 0, 100)).to.equal(100);
  const got = new Uint8Array(100);
  let n = 0;
  runUntil(p.clock, [p.a, p.b], () => {
    const k = p.client.recv(got, n, 100 - n);
    if (k > 0) n += k;
    return false;
  }, 3000);
  expect(n, 'B\'s 100 octets reached A').to.equal(100);
  const dataA = p.tapA.sent.filter((f) => f.len > 0);
  expect(dataA.reduce((s, f) => s + f.len, 0), 'all of A\'s data went out').to.equal(aWrites);
  // A's ACK of B's 100 octets: the first frame of A's whose ACK covers them.
  const ack = p.tapA.sent.find((f) => f.ack === ((p.server.iss + 1 + 100) >>> 0))!;
  expect(ack, 'a frame of A\'s acknowledges B\'s data').to.not.equal(undefined);
  expect(ack.len, 'a pure ACK (A had nothing left to send)').to.equal(0);
  const sentBefore = p.tapA.sent.indexOf(ack);
  const arrivedAt = p.tapB.received.findIndex((f) => f.seq === ack.seq && f.ack === ack.ack && f.len === 0);
  expect(arrivedAt, 'the ACK reached B').to.be.at.least(0);
  const overtaken = p.tapA.sent.slice(0, sentBefore).filter((f) => f.len > 0 && p.tapB.received.findIndex((r) => r.seq === f.seq && r.len === f.len) > arrivedAt);
  const outOfWindowAtB = p.tcpB.stats.outOfWindow;
  p.close();
  return { ack, overtaken, outOfWindowAtB, dataFrames: dataA.length };
}

describe('Interface: ACKs first only where the peer is sure to accept them (issue 13)', () => {
  checkPools();

  it('a pure ACK with SND.NXT strictly inside the peer\'s window goes ahead of the data frames queued before it (Control), and B accepts it', () => {
    // B offers 16 KiB; A has 8 KiB in flight, most of it still queued in its SLIP device.
    const r = ackBehindData({ ringB: 16384 }, 8192);
    expect(r.ack.priority, 'the ACK\'s priority (1 Control, 0 Data)').to.equal(TxPriority.Control);
    expect(r.overtaken.length, 'data frames A sent before the ACK that reached B after it').to.be.at.least(3);
    expect(r.outOfWindowAtB, 'segments B found unacceptable').to.equal(0);
  });

  it('a pure ACK with SND.NXT at the right edge of the peer\'s window keeps FIFO order behind the queued data (Data)', () => {
    // B offers 4 KiB and A fills it exactly: an ACK that passed A's data would reach B beyond its window.
    const r = ackBehindData({ ringB: 4096 }, 4096);
    expect(r.dataFrames).to.equal(5);
    expect(r.ack.priority, 'the ACK\'s priority (1 Control, 0 Data)').to.equal(TxPriority.Data);
    expect(r.overtaken, 'nothing overtaken').to.deep.equal([]);
    expect(r.outOfWindowAtB, 'segments B found unacceptable').to.equal(0);
  });

  /**
   * Both ends send 200 000 octets at once; after 3 s both applications stop reading for 10 s
   * (both windows close down to less than a segment, and the persist timers probe), optionally
   * with the line cut for the first second of it (frames lost both ways, both ends go back to
   * SND.UNA); then both read to the end. With this data (seeds 1 and 2) both ends' windows stop
   * 166 octets short of full and both ends' probe octets are taken; before old duplicates' ACKs
   * were taken (input.ts), each end then found every segment of the other one octet old and
   * answered it: about 190 ACKs a second each way for good, FIFO or not.
   */
  function bothWindowsClosed(outage: boolean) {
    const p = pair({ fifo: 4096 });
    const size = 200_000;
    const dataAB = randomBytes(size, 1);
    const dataBA = randomBytes(size, 2);
    const gotAB = new Uint8Array(size);
    const gotBA = new Uint8Array(size);
    const n = { sentAB: 0, sentBA: 0, gotAB: 0, gotBA: 0 };
    let reading = true;
    const app: Pollable = {
      poll(): boolean {
        let progress = false;
        let k: number;
        while (n.sentAB < size && (k = p.client.send(dataAB, n.sentAB, size - n.sentAB)) > 0) { n.sentAB += k; progress = true; }
        while (n.sentBA < size && (k = p.server.send(dataBA, n.sentBA, size - n.sentBA)) > 0) { n.sentBA += k; progress = true; }
        if (reading) {
          while ((k = p.server.recv(gotAB, n.gotAB, size - n.gotAB)) > 0) { n.gotAB += k; progress = true; }
          while ((k = p.client.recv(gotBA, n.gotBA, size - n.gotBA)) > 0) { n.gotBA += k; progress = true; }
        }
        return progress;
      },
      pollAt: () => NEVER,
    };
    const parts = [p.a, p.b, app];
    runIdle(p.clock, parts, 3000);
    reading = false;
    const closedFrom = p.clock.now;
    if (outage) {
      p.lineA.down = p.lineB.down = true;
      runIdle(p.clock, parts, 1000);
      p.lineA.down = p.lineB.down = false;
    }
    runIdle(p.clock, parts, closedFrom + 10_000 - p.clock.now);
    const closedTo = p.clock.now;
    reading = true;
    const done = runUntil(p.clock, parts, () => n.gotAB === size && n.gotBA === size, 120_000);
    const r = {
      done, perSecondA: p.tapA.perSecond(closedFrom, closedTo), perSecondB: p.tapB.perSecond(closedFrom, closedTo),
      shaAB: sha256(gotAB) === sha256(dataAB), shaBA: sha256(gotBA) === sha256(dataBA),
      aStateOk: p.client.stateName === 'ESTABLISHED' && p.server.stateName === 'ESTABLISHED',
      probes: [p.tcpA.stats.zeroWindowProbes, p.tcpB.stats.zeroWindowProbes],
    };
    p.close();
    return r;
  }

  for (const outage of [false, true]) {
    it(`no ACK storm while both windows are closed and both ends send ACKs${outage ? ', after the line was cut for 1 s' : ''}; both directions then complete intact`, () => {
      const r = bothWindowsClosed(outage);
      // A storm fills the line with ACKs: about 190 a second each way at 115200 baud. Here each
      // end sends a few frames a second (probes, their ACKs, the retransmissions after the cut).
      expect(Math.max(...r.perSecondA), `A's frames per second while closed: ${r.perSecondA.join(' ')}`).to.be.at.most(30);
      expect(Math.max(...r.perSecondB), `B's frames per second while closed: ${r.perSecondB.join(' ')}`).to.be.at.most(30);
      expect(r.perSecondA.length).to.be.at.least(9);
      expect(Math.min(...r.probes), 'probes sent by each end (A, B)').to.be.at.least(1);
      expect(r.done, 'both transfers completed').to.equal(true);
      expect(r.shaAB, 'SHA-256 A -> B').to.equal(true);
      expect(r.shaBA, 'SHA-256 B -> A').to.equal(true);
      expect(r.aStateOk).to.equal(true);
    });
  }

  it('two-way bulk at the firmware\'s queue and ring sizes: both directions near the line rate and intact (SHA-256); pure ACKs went first, none was unacceptable', () => {
    const p = pair({ fifo: 4096 });
    const size = 300_000;
    const data = [randomBytes(size, 21), randomBytes(size, 22)];
    const got = [new Uint8Array(size), new Uint8Array(size)];
    const sent = [0, 0];
    const recvd = [0, 0];
    const first = [-1, -1];
    const last = [-1, -1];
    const ends: Array<[TcpSocket, TcpSocket]> = [[p.client, p.server], [p.server, p.client]];
    const app: Pollable = {
      poll(now: number): boolean {
        let progress = false;
        for (let d = 0; d < 2; d++) {
          const [tx, rx] = ends[d]!;
          let k: number;
          while (sent[d]! < size && (k = tx.send(data[d]!, sent[d]!, size - sent[d]!)) > 0) { sent[d]! += k; progress = true; }
          while ((k = rx.recv(got[d]!, recvd[d]!, size - recvd[d]!)) > 0) {
            if (first[d]! < 0) first[d] = now;
            recvd[d]! += k;
            if (recvd[d] === size) last[d] = now;
            progress = true;
          }
        }
        return progress;
      },
      pollAt: () => NEVER,
    };
    expect(runUntil(p.clock, [p.a, p.b, app], () => last[0]! >= 0 && last[1]! >= 0, 600_000)).to.equal(true);
    expect(sha256(got[0]!)).to.equal(sha256(data[0]!));
    expect(sha256(got[1]!)).to.equal(sha256(data[1]!));
    // The line's limit for this data, as bench/link.bench.ts computes it: MSS octets per frame of
    // MTU + 2 ENDs + the SLIP escapes (0xC0 and 0xDB each cost one more octet).
    const mss = MTU - 40 - 12;
    for (let d = 0; d < 2; d++) {
      let escapes = 0;
      for (const x of data[d]!) if (x === 0xc0 || x === 0xdb) escapes++;
      const limit = ((BAUD / 10) * mss) / (MTU + 2 + (escapes / size) * mss);
      const goodput = (size - mss) / ((last[d]! - first[d]!) / 1000);
      expect(goodput / limit, `direction ${d === 0 ? 'A -> B' : 'B -> A'}: goodput over the line's limit`).to.be.at.least(0.95);
    }
    for (const tap of [p.tapA, p.tapB]) {
      const pure = tap.sent.filter((f) => f.len === 0 && (f.flags & SYN_RST_FIN) === 0);
      expect(pure.filter((f) => f.priority === TxPriority.Control).length, 'pure ACKs sent as Control').to.be.greaterThan(0);
      for (const f of tap.sent) if (f.len > 0 || (f.flags & 0x01) !== 0) expect(f.priority, 'data and FINs keep FIFO order').to.equal(TxPriority.Data);
    }
    expect(p.tcpA.stats.outOfWindow + p.tcpB.stats.outOfWindow, 'segments found unacceptable').to.equal(0);
    p.close();
  });
});
