import { expect } from 'chai';
import { fold, pseudoHeaderSum, sumWords } from '../../src/wire/checksum.ts';
import { WireError } from '../../src/wire/error.ts';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../src/wire/ipv4.ts';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../../src/wire/udp.ts';
import { DEVICE, HOST, octets, place } from './fixtures.ts';

/**
 * A datagram 192.0.2.1:5353 -> 192.0.2.2:7 (echo) carrying "slipstack" (9 octets: the odd
 * length exercises the checksum's zero pad), IPv4 header first.
 */
const DATAGRAM = [
  0x45, 0x00, 0x00, 0x25, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xf6, 0xc3, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0x02, 0x14, 0xe9, 0x00, 0x07, 0x00, 0x11, 0x4a, 0x23, 0x73, 0x6c, 0x69, 0x70,
  0x73, 0x74, 0x61, 0x63, 0x6b,
];
const UDP_OFF = 20;
const UDP = DATAGRAM.slice(UDP_OFF);
const PAYLOAD = UDP.slice(8);

describe('wire/udp', () => {
  const packet = new UdpPacket();
  const repr = new UdpRepr();

  it('deconstructs the datagram', () => {
    const b = place(DATAGRAM);
    const ip = new Ipv4Packet(b, 0, b.length);
    const ipRepr = new Ipv4Repr();
    expect(ipRepr.parse(ip, true)).to.equal(WireError.Ok);
    expect(ipRepr.protocol).to.equal(IpProtocol.Udp);
    packet.reset(b, ip.payloadOff, ip.payloadLen);
    expect(packet.checkLen()).to.equal(WireError.Ok);
    expect(packet.srcPort).to.equal(5353);
    expect(packet.dstPort).to.equal(7);
    expect(packet.length).to.equal(17);
    expect(packet.checksum).to.equal(0x4a23);
    expect(packet.payloadOff).to.equal(28);
    expect(packet.payloadLen).to.equal(9);
    expect(packet.verifyChecksum(ipRepr.src, ipRepr.dst)).to.equal(true);
    expect(packet.verifyChecksum(ipRepr.dst, ipRepr.dst)).to.equal(false);
  });

  it('constructs the datagram in a 0xa5-filled buffer', () => {
    const b = place([], 0, 3 + UDP.length);
    b.set(PAYLOAD, 3 + 8);
    packet.reset(b, 3, UDP.length);
    packet.srcPort = 5353;
    packet.dstPort = 7;
    packet.length = 17;
    packet.fillChecksum(HOST, DEVICE);
    expect(octets(b, 3, UDP.length)).to.deep.equal(UDP);
    expect(octets(b, 0, 3)).to.deep.equal([0xa5, 0xa5, 0xa5]);
  });

  it('parses the datagram', () => {
    packet.reset(place(DATAGRAM), UDP_OFF, UDP.length);
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
    expect(repr.srcPort).to.equal(5353);
    expect(repr.dstPort).to.equal(7);
    expect(repr.payloadOff).to.equal(UDP_OFF + 8);
    expect(repr.payloadLen).to.equal(9);
    expect(repr.bufferLen()).to.equal(17);
  });

  it('ignores octets past the length field (IPv4 payload longer than the datagram)', () => {
    packet.reset(place(DATAGRAM, 0, 3), UDP_OFF, UDP.length + 3);
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
    expect(repr.payloadLen).to.equal(9);
  });

  it('emits the datagram from a Repr, copying the payload from another buffer', () => {
    const source = place(PAYLOAD, 1);
    const r = new UdpRepr();
    r.srcPort = 5353;
    r.dstPort = 7;
    r.payloadOff = 1;
    r.payloadLen = 9;
    const b = place([], 0, 1 + 17 + 1);
    packet.reset(b, 1, 17);
    r.emit(packet, HOST, DEVICE, source, true);
    expect(octets(b, 1, 17)).to.deep.equal(UDP);
    expect([b[0], b[18]]).to.deep.equal([0xa5, 0xa5]);
  });

  it('emits around a payload already in place (srcBytes null)', () => {
    const b = place([], 0, 17);
    b.set(PAYLOAD, 8);
    const r = new UdpRepr();
    r.srcPort = 5353;
    r.dstPort = 7;
    r.payloadLen = 9;
    r.emit(packet.reset(b, 0, 17), HOST, DEVICE, null, true);
    expect(Array.from(b)).to.deep.equal(UDP);
  });

  it('emits a zero checksum field when checksum is off, and 0 is accepted as "no checksum"', () => {
    const b = place(DATAGRAM);
    packet.reset(b, UDP_OFF, UDP.length);
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
    repr.emit(packet, HOST, DEVICE, b, false);
    expect(packet.checksum).to.equal(0);
    expect(octets(b, UDP_OFF + 8, 9)).to.deep.equal(PAYLOAD);
    // RFC 768: a zero checksum field means the sender computed none.
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
  });

  it('sends a computed checksum of 0 as 0xffff, and accepts it (RFC 768)', () => {
    // Two payload octets chosen so that the ones-complement sum is 0xffff: checksum 0.
    const b = Uint8Array.of(0x14, 0xe9, 0x00, 0x07, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00);
    const partial = fold(sumWords(b, 0, 10, pseudoHeaderSum(HOST, DEVICE, IpProtocol.Udp, 10)));
    const fill = ~partial & 0xffff;
    b[8] = fill >>> 8;
    b[9] = fill & 0xff;
    packet.reset(b, 0, 10);
    packet.fillChecksum(HOST, DEVICE);
    expect(packet.checksum).to.equal(0xffff);
    expect(packet.verifyChecksum(HOST, DEVICE)).to.equal(true);
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
  });

  it('rejects every truncation with Truncated, never throwing', () => {
    const b = place(DATAGRAM);
    for (let len = 0; len < UDP.length; len++) {
      packet.reset(b, UDP_OFF, len);
      expect(packet.checkLen(), `len ${len}`).to.equal(WireError.Truncated);
      expect(repr.parse(packet, HOST, DEVICE, true), `len ${len}`).to.equal(WireError.Truncated);
    }
  });

  it('rejects impossible lengths: length field below 8 (BadLength) or beyond the view (Truncated)', () => {
    const b = place(DATAGRAM);
    packet.reset(b, UDP_OFF, UDP.length);
    for (const length of [0, 1, 7]) {
      packet.length = length;
      expect(repr.parse(packet, HOST, DEVICE, false), `length ${length}`).to.equal(WireError.BadLength);
    }
    for (const length of [18, 0xffff]) {
      packet.length = length;
      expect(repr.parse(packet, HOST, DEVICE, false), `length ${length}`).to.equal(WireError.Truncated);
    }
    packet.length = UDP_HEADER_LEN;
    expect(repr.parse(packet, HOST, DEVICE, false)).to.equal(WireError.Ok);
    expect(repr.payloadLen).to.equal(0);
  });

  it('rejects a bad checksum (payload bit flipped, or the wrong pseudo-header), unless told not to check', () => {
    const b = place(DATAGRAM);
    packet.reset(b, UDP_OFF, UDP.length);
    b[UDP_OFF + 12] = b[UDP_OFF + 12]! ^ 0x01;
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.BadChecksum);
    expect(repr.parse(packet, HOST, DEVICE, false)).to.equal(WireError.Ok);
    b[UDP_OFF + 12] = b[UDP_OFF + 12]! ^ 0x01;
    expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
    expect(repr.parse(packet, HOST, (0xc0000203 | 0), true)).to.equal(WireError.BadChecksum);
  });
});
