import { expect } from 'chai';
import { DEFAULT_INTERFACE_OPTIONS, Interface, type InterfaceOptions } from '../../src/iface/interface.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TxPriority, type Device } from '../../src/phy/device.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { UdpSocket } from '../../src/socket/udp.ts';
import { SocketError } from '../../src/socket/error.ts';
import { UdpEchoService } from '../../firmware-bridge/services/udp-echo.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { randomBytes } from '../../support/pattern.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { TestingDevice } from '../helpers/testing-device.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';
import { echoRequest, fragment, ipv4, naiveChecksum, naiveReassemble, read16, read32, udp } from '../helpers/packets.ts';

function setup(options: Partial<InterfaceOptions> = {}, mtu = 1500, checksum = true) {
  const pool = testPool({ slots: 16, mtu });
  const dev = new TestingDevice(pool, checksum);
  const iface = new Interface({ device: dev, address: HOST_B, ...options });
  return { pool, dev, iface };
}

/** Asserts `frame` is a well-formed IPv4 datagram from B to A and returns its IP payload. */
function ipPayload(frame: Uint8Array, protocol: number): Uint8Array {
  expect(frame[0]).to.equal(0x45);
  expect(read16(frame, 2)).to.equal(frame.length);
  expect(naiveChecksum(frame, 0, 20)).to.equal(0, 'IPv4 header checksum');
  expect(frame[9]).to.equal(protocol);
  expect(read32(frame, 12)).to.equal(HOST_B);
  expect(read32(frame, 16)).to.equal(HOST_A);
  return frame.subarray(20);
}

describe('Interface: options', () => {
  checkPools();

  it('takes every option left out from the frozen DEFAULT_INTERFACE_OPTIONS', () => {
    expect(Object.isFrozen(DEFAULT_INTERFACE_OPTIONS)).to.equal(true);
    const { iface } = setup();
    const d = DEFAULT_INTERFACE_OPTIONS;
    expect(iface.ttl).to.equal(d.ttl);
    expect(iface.reassembler.count).to.equal(d.reassemblyBuffers);
    expect(iface.reassembler.size).to.equal(d.reassemblySize);
    expect(iface.reassembler.timeoutMs).to.equal(d.reassemblyTimeoutMs);
    expect(iface.udpSockets.size).to.equal(d.udpSockets);
    expect(iface.icmpSockets.size).to.equal(d.icmpSockets);
  });
});

describe('Interface: IPv4 input', () => {
  checkPools();

  it('RFC 792: answers an echo request with one echo reply carrying the same data', () => {
    const { dev, iface, pool } = setup();
    const data = randomBytes(56, 7);
    dev.inject(echoRequest(data, 3, 0x77));
    iface.poll(0);
    const sent = dev.drain();
    expect(sent).to.have.length(1);
    const icmp = ipPayload(sent[0]!, 1);
    expect(icmp[0]).to.equal(0, 'type echo reply');
    expect(naiveChecksum(icmp)).to.equal(0, 'ICMP checksum');
    expect(read16(icmp, 4)).to.equal(0x77);
    expect(read16(icmp, 6)).to.equal(3);
    expect(icmp.subarray(8)).to.deep.equal(data);
    expect(iface.stats.icmp.echoReplied).to.equal(1);
    expect(pool.stats.max).to.equal(1, 'the reply reused the request slot');
  });

  it('answers a request that carries IP options with a plain 20-octet header', () => {
    const { dev, iface } = setup();
    const req = echoRequest(randomBytes(32, 1));
    // Rebuild with IHL 6 and one option word of NOPs.
    const withOpt = new Uint8Array(req.length + 4);
    withOpt.set(req.subarray(0, 20));
    withOpt[0] = 0x46;
    withOpt.fill(1, 20, 24);
    withOpt.set(req.subarray(20), 24);
    withOpt[2] = withOpt.length >> 8;
    withOpt[3] = withOpt.length & 0xff;
    withOpt[10] = 0;
    withOpt[11] = 0;
    const c = naiveChecksum(withOpt, 0, 24);
    withOpt[10] = c >> 8;
    withOpt[11] = c & 0xff;
    dev.inject(withOpt);
    iface.poll(0);
    const [reply] = dev.drain();
    const icmp = ipPayload(reply!, 1);
    expect(icmp[0]).to.equal(0);
    expect(icmp.subarray(8)).to.deep.equal(req.subarray(28));
  });

  it('accepts link padding after the datagram and answers with the datagram only', () => {
    const { dev, iface } = setup();
    const req = echoRequest(randomBytes(20, 2));
    const padded = new Uint8Array(req.length + 9);
    padded.set(req);
    dev.inject(padded);
    iface.poll(0);
    const [reply] = dev.drain();
    expect(reply!.length).to.equal(req.length);
  });

  const rejects: [string, (b: Uint8Array) => Uint8Array, keyof Interface['stats']['ip']][] = [
    ['a bad header checksum', (b) => { b[10]! ^= 1; return b; }, 'chkerr'],
    ['version 6', (b) => { b[0] = 0x65; return b; }, 'hdrerr'],
    ['IHL 4', (b) => { b[0] = 0x44; return b; }, 'hdrerr'],
    ['a total length longer than the frame', (b) => b.subarray(0, b.length - 1), 'lenerr'],
    ['a frame shorter than a header', (b) => b.subarray(0, 19), 'lenerr'],
    ['an empty frame', () => new Uint8Array(0), 'lenerr'],
  ];
  for (const [what, mutate, counter] of rejects) {
    it(`RFC 1122 §3.2.1: drops ${what} silently and counts ip.${counter}`, () => {
      const { dev, iface } = setup();
      dev.inject(mutate(echoRequest(randomBytes(16, 3))));
      iface.poll(0);
      expect(dev.drain()).to.have.length(0);
      expect(iface.stats.ip[counter]).to.equal(1);
      expect(iface.stats.ip.drop).to.equal(1);
    });
  }

  it('RFC 1122 §3.2.1.3: drops a datagram for another address (ip.badDst)', () => {
    const { dev, iface } = setup();
    dev.inject(echoRequest(randomBytes(8, 1), 1, 1, { dst: 0xc0000263 | 0 }));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.ip.badDst).to.equal(1);
  });

  it('RFC 1122 §3.2.1.3: drops a datagram from a broadcast source (ip.badSrc)', () => {
    const { dev, iface } = setup();
    dev.inject(echoRequest(randomBytes(8, 1), 1, 1, { src: -1 }));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.ip.badSrc).to.equal(1);
  });

  it('skips checksum verification when the device guarantees integrity', () => {
    const { dev, iface } = setup({}, 1500, false);
    const req = echoRequest(randomBytes(8, 1));
    req[10] = 0;
    req[11] = 0;
    req[22] = 0;
    req[23] = 0;
    dev.inject(req);
    iface.poll(0);
    const [reply] = dev.drain();
    expect(reply![20]).to.equal(0);
    expect(read16(reply!, 10)).to.equal(0, 'no checksum computed');
  });
});

describe('Interface: ICMP errors', () => {
  checkPools();

  it('RFC 1122 §4.1.3.1: UDP to a closed port gets port unreachable quoting the datagram', () => {
    const { dev, iface } = setup();
    const dgram = ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 5000, 9999, randomBytes(40, 4)));
    dev.inject(dgram);
    iface.poll(0);
    const [err] = dev.drain();
    const icmp = ipPayload(err!, 1);
    expect(icmp[0]).to.equal(3);
    expect(icmp[1]).to.equal(3);
    expect(naiveChecksum(icmp)).to.equal(0);
    expect(icmp.subarray(8)).to.deep.equal(dgram);
    expect(iface.stats.udp.noPort).to.equal(1);
  });

  it('RFC 1122 §3.2.2.1: an unknown protocol gets protocol unreachable', () => {
    const { dev, iface } = setup();
    dev.inject(ipv4({ protocol: 47 }, randomBytes(24, 5)));
    iface.poll(0);
    const [err] = dev.drain();
    const icmp = ipPayload(err!, 1);
    expect([icmp[0], icmp[1]]).to.deep.equal([3, 2]);
    expect(iface.stats.ip.proterr).to.equal(1);
  });

  it('RFC 1122 §3.2.2: a limited-broadcast datagram of an unknown protocol is dropped and counted, never answered', () => {
    const { dev, iface } = setup();
    dev.inject(ipv4({ protocol: 47, dst: -1 }, randomBytes(24, 5)));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.ip.proterr).to.equal(1);
    expect(iface.stats.icmp.errorsSuppressed).to.equal(1);
    expect(iface.stats.icmp.unreachSent).to.equal(0);
    // It spent no token of the rate limit: ten unicast errors still go out at once.
    for (let i = 0; i < 10; i++) dev.inject(ipv4({ protocol: 47 }, randomBytes(24, 5)));
    iface.poll(0);
    expect(dev.drain()).to.have.length(10);
  });

  it('quotes at most 576 octets in total (RFC 1812 §4.3.2.3)', () => {
    const { dev, iface } = setup();
    dev.inject(ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 5000, 9999, randomBytes(1200, 4))));
    iface.poll(0);
    const [err] = dev.drain();
    expect(err!.length).to.equal(576);
  });

  it('RFC 1122 §3.2.2: never answers an ICMP error with an ICMP error', () => {
    const { dev, iface } = setup();
    const unreach = new Uint8Array(36);
    unreach[0] = 3;
    unreach[1] = 3;
    const c = naiveChecksum(unreach);
    unreach[2] = c >> 8;
    unreach[3] = c & 0xff;
    dev.inject(ipv4({ protocol: 1 }, unreach));
    dev.inject(ipv4({ protocol: 17, dst: -1 }, udp(HOST_A, -1, 5000, 9999, randomBytes(8, 1))));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.icmp.otherRecv).to.equal(1);
  });

  it('rate-limits ICMP errors with a token bucket (10 at once, then 10 per second)', () => {
    const { dev, iface } = setup();
    const dgram = ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 5000, 9999, randomBytes(8, 4)));
    for (let i = 0; i < 14; i++) dev.inject(dgram);
    iface.poll(1000);
    expect(dev.drain()).to.have.length(10);
    expect(iface.stats.icmp.rateLimited).to.equal(4);
    for (let i = 0; i < 14; i++) dev.inject(dgram);
    iface.poll(1500);
    expect(dev.drain()).to.have.length(5, 'half a second refills five tokens');
  });
});

describe('Interface: UDP', () => {
  checkPools();

  it('RFC 862: the UDP echo service returns each datagram to its sender', () => {
    const { dev, iface } = setup();
    const echo = new UdpEchoService(iface);
    const data = randomBytes(300, 9);
    dev.inject(ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 40000, 7, data)));
    iface.poll(0);
    echo.poll(0);
    iface.poll(0);
    const [reply] = dev.drain();
    const u = ipPayload(reply!, 17);
    expect(read16(u, 0)).to.equal(7);
    expect(read16(u, 2)).to.equal(40000);
    expect(u.subarray(8)).to.deep.equal(data);
    const pseudo = new Uint8Array([0xc0, 0, 2, 2, 0xc0, 0, 2, 1, 0, 17, u.length >> 8, u.length & 0xff]);
    let sum = 0;
    for (let i = 0; i < 12; i += 2) sum += (pseudo[i]! << 8) | pseudo[i + 1]!;
    expect(naiveChecksum(u, 0, u.length, sum)).to.equal(0, 'UDP checksum');
    expect(echo.echoed).to.equal(1);
  });

  it('drops a datagram with a bad UDP checksum (udp.chkerr)', () => {
    const { dev, iface } = setup();
    new UdpEchoService(iface);
    const d = udp(HOST_A, HOST_B, 40000, 7, randomBytes(30, 9));
    d[6]! ^= 0x10;
    dev.inject(ipv4({ protocol: 17 }, d));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.udp.chkerr).to.equal(1);
  });

  it('RFC 791 §3.2: fragments a datagram larger than the MTU, and refuses it with DF', () => {
    const { dev, iface } = setup({}, 576);
    const sock = new UdpSocket({ rxBuffer: new Uint8Array(8192), txBuffer: new Uint8Array(8192) });
    expect(sock.bind(5555)).to.equal(0);
    expect(iface.addUdpSocket(sock)).to.be.at.least(0);
    const data = randomBytes(3000, 11);
    expect(sock.sendTo(data, 0, data.length, HOST_A, 6666)).to.equal(3000);
    iface.poll(0);
    const frags = dev.drain();
    expect(frags).to.have.length(6);
    for (const f of frags) {
      expect(f.length).to.be.at.most(576);
      expect(naiveChecksum(f, 0, 20)).to.equal(0);
    }
    const whole = naiveReassemble(frags)!;
    expect(whole.protocol).to.equal(17);
    expect(whole.payload.subarray(8)).to.deep.equal(data);

    sock.dontFragment = true;
    sock.sendTo(data, 0, data.length, HOST_A, 6666);
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.ip.tooBig).to.equal(1);
  });

  it('RFC 791 §3.2: a datagram refused as too big uses up no identification', () => {
    const { dev, iface } = setup({ reassemblySize: 1024 }, 576);
    const sock = new UdpSocket({ rxBuffer: new Uint8Array(64), txBuffer: new Uint8Array(4096) });
    sock.bind(5555);
    iface.addUdpSocket(sock);
    const echo = new IcmpSocket({ rxBuffer: new Uint8Array(64), txBuffer: new Uint8Array(4096) });
    echo.bind(0x4242);
    iface.addIcmpSocket(echo);
    sock.dontFragment = true;
    sock.sendTo(randomBytes(1000, 1), 0, 1000, HOST_A, 6666);
    echo.sendEcho(HOST_A, 1, randomBytes(2000, 2), 0, 2000);
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(iface.stats.ip.tooBig).to.equal(2, 'one over the MTU with DF, one over the scratch buffer');
    sock.sendTo(randomBytes(10, 3), 0, 10, HOST_A, 6666);
    echo.sendEcho(HOST_A, 2, randomBytes(10, 4), 0, 10);
    iface.poll(1);
    const sent = dev.drain();
    expect(sent.map((f) => read16(f, 4))).to.deep.equal([1, 2], 'the first datagrams sent carry identifications 1 and 2');
  });

  it('refuses a second socket on the same port and a full table', () => {
    const { iface } = setup({ udpSockets: 2 });
    const mk = (port: number) => {
      const s = new UdpSocket({ rxBuffer: new Uint8Array(64), txBuffer: new Uint8Array(64) });
      s.bind(port);
      return s;
    };
    expect(iface.addUdpSocket(mk(1))).to.equal(0);
    expect(iface.addUdpSocket(mk(1))).to.equal(SocketError.AddressInUse);
    expect(iface.addUdpSocket(mk(2))).to.equal(1);
    expect(iface.addUdpSocket(mk(3))).to.equal(SocketError.WouldBlock);
  });

  it('counts a datagram dropped because the socket ring is full', () => {
    const { dev, iface } = setup();
    const sock = new UdpSocket({ rxBuffer: new Uint8Array(100), txBuffer: new Uint8Array(100) });
    sock.bind(9);
    iface.addUdpSocket(sock);
    for (let i = 0; i < 3; i++) dev.inject(ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1, 9, randomBytes(40, i + 1))));
    iface.poll(0);
    expect(iface.stats.udp.rxFull).to.equal(1);
    const buf = new Uint8Array(64);
    expect(sock.recvFrom(buf, 0, 64)).to.equal(40);
    expect(sock.remoteAddress).to.equal(HOST_A);
    expect(sock.remotePort).to.equal(1);
    expect(buf.subarray(0, 40)).to.deep.equal(randomBytes(40, 1));
  });
});

describe('Interface: TCP glue', () => {
  checkPools();

  /** A 20-octet TCP header from A:40000 to B:`dstPort` with `flags`, checksum over the pseudo-header. */
  function tcpSegment(flags: number, dstPort = 80): Uint8Array {
    const t = new Uint8Array(20);
    t.set([40000 >> 8, 40000 & 0xff, dstPort >> 8, dstPort & 0xff, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff]);
    const pseudo = new Uint8Array([0xc0, 0, 2, 1, 0xc0, 0, 2, 2, 0, 6, 0, 20]);
    let sum = 0;
    for (let i = 0; i < 12; i += 2) sum += (pseudo[i]! << 8) | pseudo[i + 1]!;
    const c = naiveChecksum(t, 0, 20, sum);
    t[16] = c >> 8;
    t[17] = c & 0xff;
    return ipv4({ protocol: 6 }, t);
  }

  it('RFC 9293 §3.1: SYN+RST and SYN+FIN are dropped and counted as tcp.badFlags, not as length errors', () => {
    const tcp = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4] });
    const { dev, iface } = setup({ tcp });
    tcp.listen(80);
    const SYN = 2;
    dev.inject(tcpSegment(SYN | 4));
    dev.inject(tcpSegment(SYN | 1));
    iface.poll(0);
    expect(dev.drain()).to.have.length(0);
    expect(tcp.stats.badFlags).to.equal(2);
    expect(tcp.stats.lenerr).to.equal(0);
    expect(tcp.stats.inSegs).to.equal(0, 'the socket table never saw them');
    // The same segment with a legal flag set gets an answer: a RST from the closed port 81.
    dev.inject(tcpSegment(SYN, 81));
    iface.poll(1);
    expect(dev.drain()).to.have.length(1);
  });
});

describe('Interface: reassembly (RFC 791, RFC 815)', () => {
  checkPools();

  const data = randomBytes(2000, 21);
  const request = () => echoRequest(data, 9, 0x99, { ident: 0xabcd });

  function expectEchoReply(frames: Uint8Array[]) {
    expect(frames.length).to.be.greaterThan(1, 'the 2028-octet reply is fragmented for MTU 1500');
    const whole = naiveReassemble(frames)!;
    expect(whole).to.not.equal(null);
    expect(whole.protocol).to.equal(1);
    expect(whole.payload[0]).to.equal(0);
    expect(naiveChecksum(whole.payload)).to.equal(0);
    expect(whole.payload.subarray(8)).to.deep.equal(data);
  }

  it('reassembles fragments in order and answers the whole request', () => {
    const { dev, iface } = setup();
    for (const f of fragment(request(), 512)) dev.inject(f);
    iface.poll(0);
    expectEchoReply(dev.drain());
    expect(iface.stats.ip.fragments).to.equal(4);
    expect(iface.reassembler.stats.reassembled).to.equal(1);
    expect(iface.reassembler.used).to.equal(0);
  });

  it('reassembles fragments in reverse order', () => {
    const { dev, iface } = setup();
    for (const f of fragment(request(), 512).reverse()) dev.inject(f);
    iface.poll(0);
    expectEchoReply(dev.drain());
  });

  it('ignores duplicated fragments', () => {
    const { dev, iface } = setup();
    const frags = fragment(request(), 512);
    for (const f of [frags[0]!, frags[1]!, frags[1]!, frags[0]!, frags[2]!, frags[3]!]) dev.inject(f);
    iface.poll(0);
    expectEchoReply(dev.drain());
    expect(iface.reassembler.stats.duplicate).to.equal(2);
  });

  it('RFC 5722 spirit: drops the whole datagram when fragments overlap', () => {
    const { dev, iface } = setup();
    const frags = fragment(request(), 512);
    const straddling = fragment(request(), 384)[2]!; // octets 768..1152 straddle the 1024 boundary
    for (const f of [frags[0]!, frags[1]!, straddling]) dev.inject(f);
    iface.poll(0);
    expect(iface.reassembler.stats.overlap).to.equal(1);
    expect(iface.reassembler.used).to.equal(0, 'the datagram was freed at once');
    // The rest can no longer complete it: it starts again, lacks its first half, and times out.
    for (const f of [frags[2]!, frags[3]!]) dev.inject(f);
    iface.poll(1);
    expect(dev.drain()).to.have.length(0);
    iface.poll(60_000);
    expect(iface.reassembler.used).to.equal(0);
  });

  it('frees an incomplete datagram after the 15 s timeout', () => {
    const { dev, iface } = setup();
    const frags = fragment(request(), 512);
    dev.inject(frags[0]!);
    dev.inject(frags[2]!);
    iface.poll(1000);
    expect(iface.reassembler.used).to.equal(1);
    expect(iface.pollAt(1000)).to.equal(16_000);
    iface.poll(15_999);
    expect(iface.reassembler.used).to.equal(1);
    iface.poll(16_000);
    expect(iface.reassembler.used).to.equal(0);
    expect(iface.reassembler.stats.timeout).to.equal(1);
    expect(dev.drain()).to.have.length(0);
  });

  it('drops a datagram larger than a reassembly buffer, and counts fragments with no buffer free', () => {
    const { dev, iface } = setup({ reassemblySize: 1024, reassemblyBuffers: 1 });
    for (const f of fragment(request(), 512)) dev.inject(f);
    iface.poll(0);
    expect(iface.reassembler.stats.tooBig).to.equal(3, 'each fragment past the buffer end');
    const other = echoRequest(data, 1, 1, { ident: 0x1111 });
    dev.inject(fragment(other, 256)[0]!);
    dev.inject(fragment(echoRequest(data, 1, 1, { ident: 0x2222 }), 256)[0]!);
    iface.poll(0);
    expect(iface.reassembler.stats.noBuffer).to.be.at.least(1);
    iface.poll(60_000);
    expect(iface.reassembler.used).to.equal(0);
    expect(dev.drain()).to.have.length(0);
  });

  it('rejects a non-final fragment whose length is not a multiple of 8', () => {
    const { dev, iface } = setup();
    const frags = fragment(request(), 512);
    const bad = ipv4({ protocol: 1, ident: 0xabcd, moreFrags: true, fragOffset: 512 }, randomBytes(100, 1));
    for (const f of [frags[0]!, bad]) dev.inject(f);
    iface.poll(0);
    expect(iface.reassembler.stats.overlap).to.equal(1);
    expect(iface.reassembler.used).to.equal(0);
    expect(dev.drain()).to.have.length(0);
  });

  it('answers an echo whose reply is one frame again after reassembly of a small datagram', () => {
    const { dev, iface } = setup();
    const small = echoRequest(randomBytes(100, 3), 1, 5, { ident: 7 });
    for (const f of fragment(small, 64)) dev.inject(f);
    iface.poll(0);
    const sent = dev.drain();
    expect(sent).to.have.length(1);
    const icmp = ipPayload(sent[0]!, 1);
    expect(icmp.subarray(8)).to.deep.equal(randomBytes(100, 3));
  });
});


describe('Interface: ACKs first (TxPriority)', () => {
  checkPools();

  /** A Device around another that notes, per TCP segment sent, its flags, payload octets and priority; it passes the priority on in one line. */
  class Recorder implements Device {
    readonly seen: { flags: number; payloadLen: number; priority: TxPriority | undefined }[] = [];
    private readonly inner: Device;
    constructor(inner: Device) {
      this.inner = inner;
    }
    get capabilities() {
      return this.inner.capabilities;
    }
    get pool() {
      return this.inner.pool;
    }
    receive(now: number): number {
      return this.inner.receive(now);
    }
    transmit(now: number, slot: number, priority?: TxPriority): void {
      const b = this.pool.bytes;
      const o = this.pool.start[slot]!;
      const ihl = (b[o]! & 0x0f) * 4;
      const doff = (b[o + ihl + 12]! >> 4) * 4;
      this.seen.push({ flags: b[o + ihl + 13]!, payloadLen: read16(b, o + 2) - ihl - doff, priority });
      this.inner.transmit(now, slot, priority);
    }
    canTransmit(now: number): boolean {
      return this.inner.canTransmit(now);
    }
    pollAt(now: number): number {
      return this.inner.pollAt(now);
    }
  }

  it('sends a SYN or RST without payload as Control, pure ACKs inside the peer\'s window too; FINs and data keep their order as Data', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B' });
    const pair = new MemoryDevicePair(poolA, poolB);
    const recA = new Recorder(pair.a);
    const recB = new Recorder(pair.b);
    const tcpA = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4] });
    const tcpB = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8] });
    const a = new Interface({ device: recA, address: HOST_A, tcp: tcpA });
    const b = new Interface({ device: recB, address: HOST_B, tcp: tcpB });
    const l = tcpB.listen(7, 1);
    const clock = new VirtualClock();
    const c = tcpA.connect(0, HOST_B, 7)!;
    const data = randomBytes(3000, 5);
    let s: TcpSocket | null = null;
    expect(runUntil(clock, [a, b], () => (s = tcpB.accept(l)) !== null, 1000)).to.equal(true);
    expect(c.send(data, 0, data.length)).to.equal(data.length);
    const got = new Uint8Array(data.length);
    let n = 0;
    const drain = (): boolean => {
      const k = s!.recv(got, n, got.length - n);
      if (k > 0) n += k;
      return n === data.length;
    };
    expect(runUntil(clock, [a, b], drain, 5000)).to.equal(true);
    expect(got).to.deep.equal(data);
    c.close();
    s!.close();
    runIdle(clock, [a, b], 1000);
    const all = [...recA.seen, ...recB.seen];
    expect(all.filter((x) => x.payloadLen > 0).length).to.be.greaterThan(2);
    expect(all.some((x) => x.flags & 0x01)).to.equal(true, 'a FIN was sent');
    expect(all.some((x) => x.flags & 0x02)).to.equal(true, 'a SYN was sent');
    // SYN 0x02, RST 0x04. No window ever fills here, so every pure ACK may pass queued data
    // (output.ts ackMayOvertake; test/iface/ack-priority.test.ts has the right edge).
    expect(all.some((x) => x.payloadLen === 0 && (x.flags & 0x07) === 0)).to.equal(true, 'a pure ACK was sent');
    for (const x of all) expect(x.priority).to.equal(x.payloadLen === 0 && (x.flags & 0x01) === 0 ? TxPriority.Control : TxPriority.Data);
    pair.close();
  });
});
