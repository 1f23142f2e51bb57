import { expect } from 'chai';
import { WireError } from '../../src/wire/error.ts';
import {
  formatIpv4, IPV4_HEADER_LEN, ipv4Address, IpProtocol, Ipv4Packet, Ipv4Repr,
} from '../../src/wire/ipv4.ts';
import { DEVICE, HOST, octets, place } from './fixtures.ts';

/**
 * The IPv4 header of a TCP SYN captured from Linux (192.0.2.1 -> 192.0.2.2, ident 0x1c46, DF,
 * TTL 64), followed by its 40-octet TCP header (whose content does not matter here).
 */
const SYN_DATAGRAM = [
  0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x9a, 0x72, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0x02, 0xb2, 0x6e, 0x00, 0x17, 0xd4, 0xc3, 0xb2, 0xa1, 0x00, 0x00, 0x00, 0x00,
  0xa0, 0x02, 0xfa, 0xf0, 0xec, 0x1b, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
  0x00, 0x41, 0xa2, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
const SYN_HEADER = SYN_DATAGRAM.slice(0, 20);

/**
 * A header with options (IHL 6, Router Alert RFC 2113), TOS 0xb8, ident 0xbeef, MF and fragment
 * offset 2960 octets, TTL 1, UDP, and 4 payload octets.
 */
const FRAGMENT_WITH_OPTIONS = [
  0x46, 0xb8, 0x00, 0x1c, 0xbe, 0xef, 0x21, 0x72, 0x01, 0x11, 0xbf, 0xaf, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0x02, 0x94, 0x04, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
];

/** The fixture at `off` inside a 0xa5-filled buffer with `tail` spare octets after it. */

describe('wire/ipv4', () => {
  const packet = new Ipv4Packet();
  const repr = new Ipv4Repr();

  it('deconstructs: reads every field of the Linux SYN header', () => {
    for (const off of [0, 1, 3]) {
      packet.reset(place(SYN_DATAGRAM, off, 2), off, SYN_DATAGRAM.length);
      expect(packet.checkLen()).to.equal(WireError.Ok);
      expect(packet.version).to.equal(4);
      expect(packet.headerLen).to.equal(20);
      expect(packet.dscpEcn).to.equal(0);
      expect(packet.totalLen).to.equal(60);
      expect(packet.ident).to.equal(0x1c46);
      expect(packet.dontFrag).to.equal(true);
      expect(packet.moreFrags).to.equal(false);
      expect(packet.fragOffset).to.equal(0);
      expect(packet.ttl).to.equal(64);
      expect(packet.protocol).to.equal(IpProtocol.Tcp);
      expect(packet.headerChecksum).to.equal(0x9a72);
      expect(packet.src).to.equal(HOST);
      expect(packet.dst).to.equal(DEVICE);
      expect(packet.payloadOff).to.equal(off + 20);
      expect(packet.payloadLen).to.equal(40);
      expect(packet.verifyChecksum()).to.equal(true);
    }
  });

  it('deconstructs a header with options and fragment fields', () => {
    packet.reset(place(FRAGMENT_WITH_OPTIONS), 0, FRAGMENT_WITH_OPTIONS.length);
    expect(packet.checkLen()).to.equal(WireError.Ok);
    expect(packet.headerLen).to.equal(24);
    expect(packet.dscpEcn).to.equal(0xb8);
    expect(packet.ident).to.equal(0xbeef);
    expect(packet.dontFrag).to.equal(false);
    expect(packet.moreFrags).to.equal(true);
    expect(packet.fragOffset).to.equal(2960);
    expect(packet.ttl).to.equal(1);
    expect(packet.protocol).to.equal(IpProtocol.Udp);
    expect(packet.payloadOff).to.equal(24);
    expect(packet.payloadLen).to.equal(4);
    expect(packet.verifyChecksum()).to.equal(true);
  });

  it('constructs: the setters rebuild the Linux SYN header in a 0xa5-filled buffer', () => {
    const b = place([], 0, 20 + 2);
    packet.reset(b, 1, 20);
    packet.version = 4;
    packet.headerLen = 20;
    packet.dscpEcn = 0;
    packet.totalLen = 60;
    packet.ident = 0x1c46;
    packet.fragOffset = 0; // also clears the reserved flag bit of the 0xa5 filler
    packet.dontFrag = true;
    packet.moreFrags = false;
    packet.ttl = 64;
    packet.protocol = IpProtocol.Tcp;
    packet.src = HOST;
    packet.dst = DEVICE;
    packet.fillChecksum();
    expect(octets(b, 1, 20)).to.deep.equal(SYN_HEADER);
    expect(b[0]).to.equal(0xa5);
    expect(b[21]).to.equal(0xa5);
  });

  it('constructs: flag and fragment setters keep each other', () => {
    const b = new Uint8Array(20);
    packet.reset(b, 0, 20);
    packet.fragOffset = 2960;
    packet.moreFrags = true;
    packet.dontFrag = true;
    expect(packet.fragOffset).to.equal(2960);
    expect([packet.dontFrag, packet.moreFrags]).to.deep.equal([true, true]);
    packet.dontFrag = false;
    expect([packet.dontFrag, packet.moreFrags, packet.fragOffset]).to.deep.equal([false, true, 2960]);
    packet.fragOffset = 8;
    expect([packet.dontFrag, packet.moreFrags, packet.fragOffset]).to.deep.equal([false, true, 8]);
    packet.headerLen = 24;
    packet.version = 4;
    expect(b[0]).to.equal(0x46);
  });

  it('parses the Linux SYN header', () => {
    packet.reset(place(SYN_DATAGRAM), 0, SYN_DATAGRAM.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect(repr.src).to.equal(HOST);
    expect(repr.dst).to.equal(DEVICE);
    expect(repr.protocol).to.equal(IpProtocol.Tcp);
    expect(repr.ttl).to.equal(64);
    expect(repr.payloadLen).to.equal(40);
    expect(repr.ident).to.equal(0x1c46);
    expect(repr.dontFrag).to.equal(true);
    expect(repr.moreFrags).to.equal(false);
    expect(repr.fragOffset).to.equal(0);
    expect(repr.tos).to.equal(0);
  });

  it('parses a header with options (skipped) and trailing link padding (ignored)', () => {
    packet.reset(place(FRAGMENT_WITH_OPTIONS, 0, 6), 0, FRAGMENT_WITH_OPTIONS.length + 6);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    expect(repr.payloadLen).to.equal(4);
    expect(repr.protocol).to.equal(IpProtocol.Udp);
    expect(repr.moreFrags).to.equal(true);
    expect(repr.fragOffset).to.equal(2960);
    expect(repr.tos).to.equal(0xb8);
    expect(repr.ttl).to.equal(1);
  });

  it('emits the Linux SYN header from a Repr', () => {
    const r = new Ipv4Repr();
    r.src = HOST;
    r.dst = DEVICE;
    r.protocol = IpProtocol.Tcp;
    r.payloadLen = 40;
    r.ident = 0x1c46;
    r.dontFrag = true;
    expect(r.bufferLen()).to.equal(IPV4_HEADER_LEN);
    const b = place([], 0, 23);
    packet.reset(b, 3, 20);
    r.emit(packet, true);
    expect(octets(b, 3, 20)).to.deep.equal(SYN_HEADER);
    expect(Array.from(b.slice(0, 3))).to.deep.equal([0xa5, 0xa5, 0xa5]);
  });

  it('emits a zero checksum field when checksum is off, and parses it without checking', () => {
    const b = new Uint8Array(60);
    packet.reset(b, 0, 60);
    repr.emit(packet, false);
    expect(packet.headerChecksum).to.equal(0);
    expect(repr.parse(packet, true)).to.equal(WireError.BadChecksum);
    expect(repr.parse(packet, false)).to.equal(WireError.Ok);
  });

  it('emits what it parsed (round trip of a fragment header without options)', () => {
    packet.reset(place(FRAGMENT_WITH_OPTIONS), 0, FRAGMENT_WITH_OPTIONS.length);
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
    const b = new Uint8Array(24);
    const out = new Ipv4Packet(b, 0, 24);
    repr.emit(out, true);
    expect(new Ipv4Repr().parse(out, true)).to.equal(WireError.Ok);
    expect([out.ident, out.moreFrags, out.fragOffset, out.dscpEcn, out.ttl, out.totalLen])
      .to.deep.equal([0xbeef, true, 2960, 0xb8, 1, 24]);
  });

  it('rejects every truncation with Truncated, never throwing', () => {
    for (const fixture of [SYN_DATAGRAM, FRAGMENT_WITH_OPTIONS]) {
      const b = place(fixture);
      for (let len = 0; len < fixture.length; len++) {
        packet.reset(b, 0, len);
        expect(packet.checkLen(), `len ${len}`).to.equal(WireError.Truncated);
        expect(repr.parse(packet, true), `len ${len}`).to.equal(WireError.Truncated);
      }
    }
  });

  it('rejects impossible lengths', () => {
    const b = place(SYN_DATAGRAM);
    packet.reset(b, 0, b.length);
    for (const ihl of [0, 1, 4]) {
      b[0] = 0x40 | ihl;
      expect(repr.parse(packet, false), `IHL ${ihl}`).to.equal(WireError.BadHeaderLength);
    }
    b[0] = 0x4f; // IHL 15: a 60-octet header fits this 60-octet frame...
    packet.totalLen = 56; // ...but the datagram would be shorter than its header
    expect(repr.parse(packet, false)).to.equal(WireError.BadLength);
    b[0] = 0x45;
    for (const totalLen of [0, 19]) {
      packet.totalLen = totalLen;
      expect(repr.parse(packet, false), `totalLen ${totalLen}`).to.equal(WireError.BadLength);
    }
    packet.totalLen = 61; // beyond the frame
    expect(repr.parse(packet, false)).to.equal(WireError.Truncated);
    packet.totalLen = 0xffff;
    expect(repr.parse(packet, false)).to.equal(WireError.Truncated);
  });

  it('rejects a version other than 4 (an IPv6 frame from a TUN)', () => {
    const b = place(SYN_DATAGRAM);
    packet.reset(b, 0, b.length);
    b[0] = 0x60;
    expect(repr.parse(packet, false)).to.equal(WireError.BadVersion);
  });

  it('rejects a bad checksum, and any single flipped bit', () => {
    const b = place(SYN_DATAGRAM);
    packet.reset(b, 0, b.length);
    b[11] = b[11]! ^ 1;
    expect(repr.parse(packet, true)).to.equal(WireError.BadChecksum);
    b[11] = b[11]! ^ 1;
    for (let bit = 8; bit < 160; bit++) {
      b[bit >>> 3] = b[bit >>> 3]! ^ (0x80 >>> (bit & 7));
      const result = repr.parse(packet, true);
      b[bit >>> 3] = b[bit >>> 3]! ^ (0x80 >>> (bit & 7));
      expect(result, `bit ${bit}`).to.not.equal(WireError.Ok);
    }
    expect(repr.parse(packet, true)).to.equal(WireError.Ok);
  });

  it('converts addresses to and from text', () => {
    expect(ipv4Address('192.0.2.2')).to.equal(DEVICE);
    expect(ipv4Address('0.0.0.0')).to.equal(0);
    expect(ipv4Address('255.255.255.255')).to.equal(-1);
    expect(ipv4Address('127.0.0.1')).to.equal(0x7f000001);
    expect(formatIpv4(DEVICE)).to.equal('192.0.2.2');
    expect(formatIpv4(0xc0000201)).to.equal('192.0.2.1');
    expect(formatIpv4(-1)).to.equal('255.255.255.255');
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', 'a.b.c.d', '1..2.3', ' 1.2.3.4', '1.2.3.0x4']) {
      expect(() => ipv4Address(bad), bad).to.throw(RangeError);
    }
  });
});
