import { expect } from 'chai';
import { checksum } from '../../src/wire/checksum.ts';
import { WireError } from '../../src/wire/error.ts';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type, Icmpv4Unreachable } from '../../src/wire/icmpv4.ts';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../src/wire/ipv4.ts';
import { octets, place } from './fixtures.ts';

/**
 * An echo request from Linux `ping 192.0.2.2` (iputils), as captured on the link: IPv4 header,
 * then ICMP type 8, ident 0x1a2b, sequence 1, and 56 data octets: a 16-octet struct timeval
 * (tv_sec, tv_usec, little-endian 64-bit) and the pattern 0x10..0x37 (each octet equals its
 * offset in the data).
 */
const PING = [
  0x45, 0x00, 0x00, 0x54, 0x8d, 0x3e, 0x40, 0x00, 0x40, 0x01, 0x29, 0x67, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0x02, 0x08, 0x00, 0x45, 0x61, 0x1a, 0x2b, 0x00, 0x01, 0x40, 0x57, 0x57, 0x66,
  0x00, 0x00, 0x00, 0x00, 0x40, 0xe2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13,
  0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
  0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
  0x34, 0x35, 0x36, 0x37,
];
const ICMP_OFF = 20;
const ECHO = PING.slice(ICMP_OFF);
const ECHO_DATA = ECHO.slice(8);

/** Writes the ICMP checksum of b[off..off+len) into the message. */
function fixChecksum(b: Uint8Array, off: number, len: number): void {
  b[off + 2] = b[off + 3] = 0;
  const c = checksum(b, off, len);
  b[off + 2] = c >>> 8;
  b[off + 3] = c & 0xff;
}

describe('wire/icmpv4', () => {
  const packet = new Icmpv4Packet();
  const repr = new Icmpv4Repr();

  it('deconstructs the Linux echo request', () => {
    const b = place(PING);
    const ip = new Ipv4Packet(b, 0, b.length);
    expect(new Ipv4Repr().parse(ip, true)).to.equal(WireError.Ok);
    expect(ip.protocol).to.equal(IpProtocol.Icmp);
    packet.reset(b, ip.payloadOff, ip.payloadLen);
    expect(packet.checkLen()).to.equal(WireError.Ok);
    expect(packet.msgType).to.equal(Icmpv4Type.EchoRequest);
    expect(packet.msgCode).to.equal(0);
    expect(packet.checksum).to.equal(0x4561);
    expect(packet.ident).to.equal(0x1a2b);
    expect(packet.seqNo).to.equal(1);
    expect(packet.dataOff).to.equal(28);
    expect(packet.dataLen).to.equal(56);
    expect(packet.verifyChecksum()).to.equal(true);
  });

  it('constructs the echo request in a 0xa5-filled buffer', () => {
    const b = place([], 0, 1 + ECHO.length);
    b.set(ECHO_DATA, 1 + 8);
    packet.reset(b, 1, ECHO.length);
    packet.msgType = Icmpv4Type.EchoRequest;
    packet.msgCode = 0;
    packet.ident = 0x1a2b;
    packet.seqNo = 1;
    packet.fillChecksum();
    expect(octets(b, 1, ECHO.length)).to.deep.equal(ECHO);
    expect(b[0]).to.equal(0xa5);
  });

  it('parses the echo request', () => {
    const b = place(PING);
    packet.reset(b, ICMP_OFF, ECHO.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect(repr.type).to.equal(Icmpv4Type.EchoRequest);
    expect(repr.code).to.equal(0);
    expect(repr.ident).to.equal(0x1a2b);
    expect(repr.seqNo).to.equal(1);
    expect(repr.nextHopMtu).to.equal(0);
    expect(repr.dataOff).to.equal(ICMP_OFF + 8);
    expect(repr.dataLen).to.equal(56);
    expect(repr.bufferLen()).to.equal(64);
  });

  it('emits the echo request from a Repr, copying the data from another buffer', () => {
    const source = place(ECHO_DATA, 5);
    const r = new Icmpv4Repr();
    r.type = Icmpv4Type.EchoRequest;
    r.ident = 0x1a2b;
    r.seqNo = 1;
    r.dataOff = 5;
    r.dataLen = 56;
    const b = place([], 0, 2 + 64);
    packet.reset(b, 2, 64);
    r.emit(packet, source, true);
    expect(octets(b, 2, 64)).to.deep.equal(ECHO);
    expect([b[0], b[1]]).to.deep.equal([0xa5, 0xa5]);
  });

  it('writes an echo reply over its own request (no copy), and the reply verifies', () => {
    const b = place(PING);
    packet.reset(b, ICMP_OFF, ECHO.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    repr.type = Icmpv4Type.EchoReply;
    repr.emit(packet, b, true);
    expect(b[ICMP_OFF]).to.equal(0);
    expect(octets(b, ICMP_OFF + 4, 60)).to.deep.equal(ECHO.slice(4));
    expect(packet.verifyChecksum()).to.equal(true);
    // RFC 1624: changing the type word 0x0800 -> 0x0000 adds 0x0800 to the checksum.
    expect(packet.checksum).to.equal(0x4561 + 0x0800);
    const reply = new Icmpv4Repr();
    expect(reply.parse(packet, true)).to.equal(WireError.Ok);
    expect([reply.type, reply.ident, reply.seqNo, reply.dataLen]).to.deep.equal([Icmpv4Type.EchoReply, 0x1a2b, 1, 56]);
  });

  it('moves the data within one buffer when the reply goes to another place in it', () => {
    const b = place(PING, 0, 40);
    packet.reset(b, ICMP_OFF, ECHO.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    repr.type = Icmpv4Type.EchoReply;
    const out = new Icmpv4Packet(b, ICMP_OFF + 4, 64); // overlaps the request
    repr.emit(out, b, true);
    expect(octets(b, ICMP_OFF + 4 + 8, 56)).to.deep.equal(ECHO_DATA);
    expect(out.verifyChecksum()).to.equal(true);
  });

  it('parses and emits Destination Unreachable / fragmentation needed with the next-hop MTU', () => {
    // RFC 792: the quoted datagram is its IPv4 header and first 8 data octets (here: the ping's).
    const quoted = PING.slice(0, 28);
    const message = [0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf6, ...quoted];
    const b = place(message);
    fixChecksum(b, 0, message.length);
    packet.reset(b, 0, message.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect(repr.type).to.equal(Icmpv4Type.DestUnreachable);
    expect(repr.code).to.equal(Icmpv4Unreachable.FragRequired);
    expect(repr.nextHopMtu).to.equal(502);
    expect(repr.ident).to.equal(0);
    expect([repr.dataOff, repr.dataLen]).to.deep.equal([8, 28]);

    const out = place([], 0, message.length);
    repr.emit(new Icmpv4Packet(out, 0, message.length), b, true);
    expect(Array.from(out)).to.deep.equal(Array.from(b));
  });

  it('emits Port Unreachable with a zeroed unused field', () => {
    const quoted = place(PING.slice(0, 28));
    const r = new Icmpv4Repr();
    r.type = Icmpv4Type.DestUnreachable;
    r.code = Icmpv4Unreachable.PortUnreachable;
    r.dataOff = 0;
    r.dataLen = 28;
    const b = place([], 0, 36);
    const p = new Icmpv4Packet(b, 0, 36);
    r.emit(p, quoted, true);
    expect(octets(b, 0, 8)).to.deep.equal([0x03, 0x03, b[2], b[3], 0, 0, 0, 0]);
    expect(p.verifyChecksum()).to.equal(true);
  });

  it('parses Time Exceeded, and unknown types with their type and code', () => {
    const b = place([0x0b, 0x00, 0, 0, 0, 0, 0, 0, 0x45, 0x00]);
    fixChecksum(b, 0, 10);
    packet.reset(b, 0, 10);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect([repr.type, repr.code, repr.dataLen]).to.deep.equal([Icmpv4Type.TimeExceeded, 0, 2]);

    const t = place([13, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]); // Timestamp request (RFC 792)
    fixChecksum(t, 0, 8);
    packet.reset(t, 0, 8);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect([repr.type, repr.code, repr.ident, repr.seqNo, repr.dataLen]).to.deep.equal([13, 0, 0, 0, 0]);
  });

  it('rejects unknown codes of known types with Unsupported', () => {
    for (const [type, code] of [[8, 1], [0, 7], [3, 16], [11, 2]] as const) {
      const b = place([type, code, 0, 0, 0, 0, 0, 0]);
      fixChecksum(b, 0, 8);
      packet.reset(b, 0, 8);
      expect(repr.parse(packet, true), `type ${type} code ${code}`).to.equal(WireError.Unsupported);
    }
  });

  it('rejects every truncation below the header with Truncated, and shorter echoes by checksum', () => {
    const b = place(PING);
    for (let len = 0; len < ECHO.length; len++) {
      packet.reset(b, ICMP_OFF, len);
      const result = repr.parse(packet, true);
      expect(result, `len ${len}`).to.equal(len < 8 ? WireError.Truncated : WireError.BadChecksum);
    }
  });

  it('rejects a bad checksum, and skips the check when asked', () => {
    const b = place(PING);
    b[ICMP_OFF + 8 + 20] = b[ICMP_OFF + 8 + 20]! ^ 0x40;
    packet.reset(b, ICMP_OFF, ECHO.length);
    expect(repr.parse(packet, true)).to.equal(WireError.BadChecksum);
    expect(repr.parse(packet, false)).to.equal(WireError.Ok);
  });

  it('emits a zero checksum field when checksum is off', () => {
    const b = place(PING);
    packet.reset(b, ICMP_OFF, ECHO.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    repr.emit(packet, b, false);
    expect(packet.checksum).to.equal(0);
  });
});
