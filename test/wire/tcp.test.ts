import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import { Xorshift32 } from '../../src/random.ts';
import { WireError } from '../../src/wire/error.ts';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../src/wire/ipv4.ts';
import {
  seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt,
  TCP_HEADER_LEN, TcpFlag, TcpOption, TcpPacket, TcpRepr,
} from '../../src/wire/tcp.ts';
import { DEVICE, HOST, octets, place } from './fixtures.ts';

/**
 * A SYN from Linux (192.0.2.1:45678 -> 192.0.2.2:23, `telnet 192.0.2.2`), IPv4 header first:
 * seq 0xd4c3b2a1, window 64240, and the classic Linux SYN options in their order:
 * MSS 1460, SACK-permitted, timestamps (TSval 0x0041a2c3, TSecr 0), NOP, window scale 7.
 */
const SYN_DATAGRAM = [
  0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x9a, 0x72, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0x02, 0xb2, 0x6e, 0x00, 0x17, 0xd4, 0xc3, 0xb2, 0xa1, 0x00, 0x00, 0x00, 0x00,
  0xa0, 0x02, 0xfa, 0xf0, 0xec, 0x1b, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
  0x00, 0x41, 0xa2, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
const SYN = SYN_DATAGRAM.slice(20);

/**
 * The device's answer to the login: 192.0.2.2:23 -> 192.0.2.1:45678, PSH|ACK, seq 0x12345678,
 * ack 0xd4c3b2a2, window 502, NOP NOP timestamps (TSval 0x12345, TSecr 0x41a2c3), "login: ".
 */
const DATA = [
  0x00, 0x17, 0xb2, 0x6e, 0x12, 0x34, 0x56, 0x78, 0xd4, 0xc3, 0xb2, 0xa2, 0x80, 0x18, 0x01, 0xf6,
  0x25, 0xbe, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0x23, 0x45, 0x00, 0x41, 0xa2, 0xc3,
  0x6c, 0x6f, 0x67, 0x69, 0x6e, 0x3a, 0x20,
];
const DATA_PAYLOAD = DATA.slice(32);

/** A 20-octet ACK header followed by `options` (padded with End to a multiple of 4), no checksum. */
function withOptions(options: readonly number[]): TcpPacket {
  const optionsLen = (options.length + 3) & ~3;
  const b = new Uint8Array(TCP_HEADER_LEN + optionsLen);
  b.set(options, TCP_HEADER_LEN);
  const p = new TcpPacket(b, 0, b.length);
  p.srcPort = 1;
  p.dstPort = 2;
  p.flags = TcpFlag.Ack;
  p.headerLen = b.length;
  return p;
}

function parseOptions(options: readonly number[]): { result: number; repr: TcpRepr } {
  const repr = new TcpRepr();
  const result = repr.parse(withOptions(options), HOST, DEVICE, false);
  return { result, repr };
}

/** Emits `repr` with no payload and returns the option octets. */
function emittedOptions(repr: TcpRepr): number[] {
  const b = new Uint8Array(repr.bufferLen()).fill(0xa5);
  repr.emit(new TcpPacket(b, 0, b.length), HOST, DEVICE, null, true);
  return octets(b, TCP_HEADER_LEN, repr.optionsLen());
}

function synRepr(): TcpRepr {
  const r = new TcpRepr();
  r.srcPort = 45678;
  r.dstPort = 23;
  r.seq = 0xd4c3b2a1 | 0;
  r.flags = TcpFlag.Syn;
  r.window = 64240;
  r.mss = 1460;
  r.sackPermitted = true;
  r.hasTimestamp = true;
  r.tsVal = 0x0041a2c3;
  r.windowScale = 7;
  return r;
}

describe('wire/tcp', () => {
  const packet = new TcpPacket();
  const repr = new TcpRepr();

  describe('the Linux SYN', () => {
    it('deconstructs', () => {
      const b = place(SYN_DATAGRAM);
      const ip = new Ipv4Packet(b, 0, b.length);
      const ipRepr = new Ipv4Repr();
      expect(ipRepr.parse(ip, true)).to.equal(WireError.Ok);
      expect(ipRepr.protocol).to.equal(IpProtocol.Tcp);
      packet.reset(b, ip.payloadOff, ip.payloadLen);
      expect(packet.checkLen()).to.equal(WireError.Ok);
      expect(packet.srcPort).to.equal(45678);
      expect(packet.dstPort).to.equal(23);
      expect(packet.seqNumber).to.equal(0xd4c3b2a1 | 0);
      expect(packet.seqNumber).to.be.lessThan(0); // int32, not uint32
      expect(packet.ackNumber).to.equal(0);
      expect(packet.headerLen).to.equal(40);
      expect(packet.flags).to.equal(TcpFlag.Syn);
      expect(packet.windowLen).to.equal(64240);
      expect(packet.checksum).to.equal(0xec1b);
      expect(packet.urgentAt).to.equal(0);
      expect(packet.optionsOff).to.equal(40);
      expect(packet.optionsLen).to.equal(20);
      expect(packet.payloadOff).to.equal(60);
      expect(packet.payloadLen).to.equal(0);
      expect(packet.verifyChecksum(ipRepr.src, ipRepr.dst)).to.equal(true);
    });

    it('constructs in a 0xa5-filled buffer', () => {
      const b = place([], 0, 1 + 40);
      b.set(SYN.slice(20), 1 + 20); // options as octets: the view has no option accessors
      packet.reset(b, 1, 40);
      packet.srcPort = 45678;
      packet.dstPort = 23;
      packet.seqNumber = 0xd4c3b2a1; // uint32 in, same bits
      packet.ackNumber = 0;
      b[1 + 12] = 0; // reserved bits of the 0xa5 filler
      packet.headerLen = 40;
      packet.flags = TcpFlag.Syn;
      packet.windowLen = 64240;
      packet.urgentAt = 0;
      packet.fillChecksum(HOST, DEVICE);
      expect(octets(b, 1, 40)).to.deep.equal(SYN);
      expect(b[0]).to.equal(0xa5);
    });

    it('parses, options included', () => {
      packet.reset(place(SYN), 0, SYN.length);
      expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.Ok);
      expect(repr.srcPort).to.equal(45678);
      expect(repr.dstPort).to.equal(23);
      expect(repr.seq).to.equal(0xd4c3b2a1 | 0);
      expect(repr.ack).to.equal(0);
      expect(repr.flags).to.equal(TcpFlag.Syn);
      expect(repr.window).to.equal(64240);
      expect(repr.urgent).to.equal(0);
      expect(repr.mss).to.equal(1460);
      expect(repr.sackPermitted).to.equal(true);
      expect(repr.hasTimestamp).to.equal(true);
      expect(repr.tsVal).to.equal(0x0041a2c3);
      expect(repr.tsEcr).to.equal(0);
      expect(repr.windowScale).to.equal(7);
      expect(repr.sackCount).to.equal(0);
      expect(repr.payloadOff).to.equal(40);
      expect(repr.payloadLen).to.equal(0);
    });

    it('emits exactly the Linux octets, option order included', () => {
      const r = synRepr();
      expect(r.optionsLen()).to.equal(20);
      expect(r.headerLen()).to.equal(40);
      expect(r.bufferLen()).to.equal(40);
      const b = place([], 0, 2 + 40 + 2);
      r.emit(packet.reset(b, 2, 40), HOST, DEVICE, null, true);
      expect(octets(b, 2, 40)).to.deep.equal(SYN);
      expect(octets(b, 0, 2).concat(octets(b, 42, 2))).to.deep.equal([0xa5, 0xa5, 0xa5, 0xa5]);
    });

    it('rejects every truncation with Truncated, never throwing', () => {
      const b = place(SYN);
      for (let len = 0; len < SYN.length; len++) {
        packet.reset(b, 0, len);
        expect(packet.checkLen(), `len ${len}`).to.equal(WireError.Truncated);
        expect(repr.parse(packet, HOST, DEVICE, true), `len ${len}`).to.equal(WireError.Truncated);
        expect(repr.parse(packet, HOST, DEVICE, false), `len ${len}`).to.equal(WireError.Truncated);
      }
    });

    it('rejects impossible data offsets: below 5 (BadHeaderLength), beyond the segment (Truncated)', () => {
      const b = place(SYN);
      packet.reset(b, 0, SYN.length);
      for (const words of [0, 1, 4]) {
        b[12] = words << 4;
        expect(repr.parse(packet, HOST, DEVICE, false), `offset ${words}`).to.equal(WireError.BadHeaderLength);
      }
      for (const words of [11, 15]) {
        b[12] = words << 4;
        expect(repr.parse(packet, HOST, DEVICE, false), `offset ${words}`).to.equal(WireError.Truncated);
      }
    });

    it('rejects a bad checksum or the wrong pseudo-header, unless told not to check', () => {
      const b = place(SYN);
      packet.reset(b, 0, SYN.length);
      expect(repr.parse(packet, DEVICE, HOST, true)).to.equal(WireError.Ok); // the sum is symmetric
      expect(repr.parse(packet, HOST, (0xc0000203 | 0), true)).to.equal(WireError.BadChecksum);
      b[30] = b[30]! ^ 0x10;
      expect(repr.parse(packet, HOST, DEVICE, true)).to.equal(WireError.BadChecksum);
      expect(repr.parse(packet, HOST, DEVICE, false)).to.equal(WireError.Ok);
    });

    it('rejects SYN+RST and SYN+FIN with BadFlags; accepts FIN+ACK and a flagless segment', () => {
      for (const [flags, want] of [
        [TcpFlag.Syn | TcpFlag.Rst, WireError.BadFlags],
        [TcpFlag.Syn | TcpFlag.Fin, WireError.BadFlags],
        [TcpFlag.Syn | TcpFlag.Fin | TcpFlag.Rst | TcpFlag.Ack, WireError.BadFlags],
        [TcpFlag.Fin | TcpFlag.Ack, WireError.Ok],
        [TcpFlag.Rst | TcpFlag.Ack, WireError.Ok],
        [0, WireError.Ok],
      ] as const) {
        const b = place(SYN);
        packet.reset(b, 0, SYN.length);
        packet.flags = flags;
        packet.fillChecksum(HOST, DEVICE);
        expect(repr.parse(packet, HOST, DEVICE, true), `flags ${flags}`).to.equal(want);
      }
    });
  });

  describe('a data segment', () => {
    it('deconstructs and parses, payload in place', () => {
      const b = place(DATA, 3);
      packet.reset(b, 3, DATA.length);
      expect(packet.checkLen()).to.equal(WireError.Ok);
      expect(packet.headerLen).to.equal(32);
      expect(packet.flags).to.equal(TcpFlag.Psh | TcpFlag.Ack);
      expect(packet.ackNumber).to.equal(0xd4c3b2a2 | 0);
      expect(packet.payloadOff).to.equal(3 + 32);
      expect(packet.payloadLen).to.equal(7);
      expect(repr.parse(packet, DEVICE, HOST, true)).to.equal(WireError.Ok);
      expect([repr.seq, repr.ack, repr.window]).to.deep.equal([0x12345678, 0xd4c3b2a2 | 0, 502]);
      expect([repr.mss, repr.windowScale, repr.sackPermitted]).to.deep.equal([0, -1, false]);
      expect([repr.hasTimestamp, repr.tsVal, repr.tsEcr]).to.deep.equal([true, 0x12345, 0x41a2c3]);
      expect([repr.payloadOff, repr.payloadLen]).to.deep.equal([3 + 32, 7]);
    });

    it('emits from a Repr, copying the payload from another buffer', () => {
      const ring = place(DATA_PAYLOAD, 100);
      const r = new TcpRepr();
      r.srcPort = 23;
      r.dstPort = 45678;
      r.seq = 0x12345678;
      r.ack = 0xd4c3b2a2 | 0;
      r.flags = TcpFlag.Psh | TcpFlag.Ack;
      r.window = 502;
      r.hasTimestamp = true;
      r.tsVal = 0x12345;
      r.tsEcr = 0x41a2c3;
      r.payloadOff = 100;
      r.payloadLen = 7;
      expect(r.bufferLen()).to.equal(DATA.length);
      const b = place([], 0, DATA.length + 1);
      r.emit(packet.reset(b, 0, DATA.length), DEVICE, HOST, ring, true);
      expect(octets(b, 0, DATA.length)).to.deep.equal(DATA);
      expect(b[DATA.length]).to.equal(0xa5);
    });

    it('emits around a payload already in place (srcBytes null), or in place in the same buffer', () => {
      const b = place(DATA);
      packet.reset(b, 0, DATA.length);
      expect(repr.parse(packet, DEVICE, HOST, true)).to.equal(WireError.Ok);
      b.fill(0, 0, 32);
      repr.emit(packet, DEVICE, HOST, null, true);
      expect(Array.from(b)).to.deep.equal(DATA);
      b.fill(0, 0, 32);
      repr.emit(packet, DEVICE, HOST, b, true);
      expect(Array.from(b)).to.deep.equal(DATA);
    });

    it('moves the payload when the header grows over it in the same buffer', () => {
      // Parsed with 12 option octets; re-emitted with MSS as well (16): payload moves 4 later.
      const b = place(DATA, 0, 8);
      packet.reset(b, 0, DATA.length);
      expect(repr.parse(packet, DEVICE, HOST, true)).to.equal(WireError.Ok);
      repr.mss = 1460;
      repr.emit(packet, DEVICE, HOST, b, true);
      expect(octets(b, 36, 7)).to.deep.equal(DATA_PAYLOAD);
      const check = new TcpRepr();
      expect(check.parse(packet.reset(b, 0, 36 + 7), DEVICE, HOST, true)).to.equal(WireError.Ok);
      expect([check.mss, check.tsVal, check.payloadLen]).to.deep.equal([1460, 0x12345, 7]);
    });

    it('rejects a shortened segment (a lost tail) by its checksum', () => {
      const b = place(DATA);
      for (let len = 32; len < DATA.length; len++) {
        expect(repr.parse(packet.reset(b, 0, len), DEVICE, HOST, true), `len ${len}`).to.equal(WireError.BadChecksum);
      }
    });
  });

  describe('options', () => {
    it('parses each option alone', () => {
      let { result, repr: r } = parseOptions([TcpOption.Mss, 4, 0x02, 0x18]);
      expect([result, r.mss, r.windowScale, r.sackPermitted, r.hasTimestamp, r.sackCount]).to.deep.equal([0, 536, -1, false, false, 0]);
      ({ result, repr: r } = parseOptions([TcpOption.WindowScale, 3, 14]));
      expect([result, r.mss, r.windowScale]).to.deep.equal([0, 0, 14]);
      ({ result, repr: r } = parseOptions([TcpOption.WindowScale, 3, 0]));
      expect([result, r.windowScale]).to.deep.equal([0, 0]);
      ({ result, repr: r } = parseOptions([TcpOption.SackPermitted, 2]));
      expect([result, r.sackPermitted, r.windowScale]).to.deep.equal([0, true, -1]);
      ({ result, repr: r } = parseOptions([TcpOption.Timestamp, 10, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 1]));
      expect([result, r.hasTimestamp, r.tsVal, r.tsEcr]).to.deep.equal([0, true, -2, 0x80000001 | 0]);
      ({ result, repr: r } = parseOptions([TcpOption.Nop, TcpOption.Nop, TcpOption.Nop]));
      expect([result, r.mss, r.windowScale, r.sackCount]).to.deep.equal([0, 0, -1, 0]);
    });

    it('parses options combined, in any order', () => {
      const { result, repr: r } = parseOptions([
        TcpOption.Nop, TcpOption.WindowScale, 3, 2,
        TcpOption.Timestamp, 10, 0, 0, 0, 9, 0, 0, 0, 8,
        TcpOption.SackPermitted, 2,
        TcpOption.Mss, 4, 0x05, 0x8c,
      ]);
      expect(result).to.equal(WireError.Ok);
      expect([r.mss, r.windowScale, r.sackPermitted, r.hasTimestamp, r.tsVal, r.tsEcr]).to.deep.equal([1420, 2, true, true, 9, 8]);
    });

    it('parses SACK with 1 to 4 blocks', () => {
      for (let n = 1; n <= 4; n++) {
        const option = [TcpOption.Sack, 2 + 8 * n];
        for (let i = 0; i < n; i++) {
          const left = (0xfffffff0 + i * 0x10) >>> 0; // wraps past 2^32 on the second block
          const right = (left + 8) >>> 0;
          option.push(left >>> 24, (left >>> 16) & 0xff, (left >>> 8) & 0xff, left & 0xff);
          option.push(right >>> 24, (right >>> 16) & 0xff, (right >>> 8) & 0xff, right & 0xff);
        }
        const { result, repr: r } = parseOptions([TcpOption.Nop, TcpOption.Nop, ...option]);
        expect(result, `${n} blocks`).to.equal(WireError.Ok);
        expect(r.sackCount).to.equal(n);
        for (let i = 0; i < n; i++) {
          expect(r.sackLeft[i]).to.equal((0xfffffff0 + i * 0x10) | 0);
          expect(seqDiff(r.sackRight[i]!, r.sackLeft[i]!)).to.equal(8);
        }
      }
    });

    it('skips an unknown option by its length', () => {
      const { result, repr: r } = parseOptions([
        30, 6, 0xde, 0xad, 0xbe, 0xef, // MPTCP-like, unknown here
        253, 2, // experimental, empty
        TcpOption.Mss, 4, 0x05, 0xb4,
      ]);
      expect(result).to.equal(WireError.Ok);
      expect(r.mss).to.equal(1460);
    });

    it('stops at End: whatever follows is not parsed', () => {
      const { result, repr: r } = parseOptions([
        TcpOption.Mss, 4, 0x05, 0xb4, TcpOption.End, 0, 0xff, 0x00, TcpOption.WindowScale, 3, 7, 0,
      ]);
      expect(result).to.equal(WireError.Ok);
      expect([r.mss, r.windowScale]).to.deep.equal([1460, -1]);
    });

    it('clamps a window scale above 14 to 14 (RFC 7323 §2.3)', () => {
      for (const shift of [15, 16, 255]) {
        const { result, repr: r } = parseOptions([TcpOption.WindowScale, 3, shift]);
        expect([result, r.windowScale], `shift ${shift}`).to.deep.equal([0, 14]);
      }
      const r = new TcpRepr();
      r.windowScale = 20;
      expect(emittedOptions(r)).to.deep.equal([TcpOption.Nop, TcpOption.WindowScale, 3, 14]);
    });

    it('rejects option lengths 0 and 1, lengths past the header, and a missing length octet', () => {
      for (const options of [
        [TcpOption.Mss, 0, 0, 0],
        [TcpOption.Mss, 1, 0, 0],
        [99, 0, 0, 0],
        [99, 1, 0, 0],
        [TcpOption.Nop, TcpOption.Nop, TcpOption.Nop, 99], // a kind with no room for its length
        [99, 5, 0, 0], // 5 > 4 octets left
        [TcpOption.Nop, 99, 4, 0],
        [TcpOption.Timestamp, 10, 0, 0, 0, 0, 0, 0], // 10 > 8
        [TcpOption.Sack, 10, 0, 0, 0, 0, 0, 0],
      ]) {
        expect(parseOptions(options).result, JSON.stringify(options)).to.equal(WireError.BadOption);
      }
    });

    it('rejects known options with the wrong length', () => {
      for (const options of [
        [TcpOption.Mss, 3, 0x05, 0],
        [TcpOption.Mss, 6, 0x05, 0xb4, 0, 0],
        [TcpOption.WindowScale, 2, 0, 0],
        [TcpOption.WindowScale, 4, 7, 0],
        [TcpOption.SackPermitted, 3, 0, 0],
        [TcpOption.Timestamp, 8, 0, 0, 0, 0, 0, 0],
        [TcpOption.Sack, 2, 0, 0],
        [TcpOption.Sack, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [TcpOption.Sack, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      ]) {
        expect(parseOptions(options).result, JSON.stringify(options)).to.equal(WireError.BadOption);
      }
    });

    it('clears options left over from the previous parse', () => {
      const r = new TcpRepr();
      expect(r.parse(packet.reset(place(SYN), 0, SYN.length), HOST, DEVICE, true)).to.equal(WireError.Ok);
      expect(r.parse(withOptions([]), HOST, DEVICE, false)).to.equal(WireError.Ok);
      expect([r.mss, r.windowScale, r.sackPermitted, r.hasTimestamp, r.tsVal, r.sackCount]).to.deep.equal([0, -1, false, false, 0, 0]);
    });

    it('emits each option alone, padded to a multiple of 4', () => {
      const r = new TcpRepr();
      expect(r.optionsLen()).to.equal(0);
      expect(r.headerLen()).to.equal(20);
      r.mss = 1460;
      expect(emittedOptions(r)).to.deep.equal([2, 4, 0x05, 0xb4]);
      r.clear();
      r.windowScale = 7;
      expect(emittedOptions(r)).to.deep.equal([1, 3, 3, 7]);
      r.clear();
      r.sackPermitted = true;
      expect(emittedOptions(r)).to.deep.equal([1, 1, 4, 2]);
      r.clear();
      r.hasTimestamp = true;
      r.tsVal = -1;
      r.tsEcr = 0x01020304;
      expect(emittedOptions(r)).to.deep.equal([1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
      r.clear();
      r.sackCount = 1;
      r.sackLeft[0] = 0x10;
      r.sackRight[0] = 0x20;
      expect(emittedOptions(r)).to.deep.equal([1, 1, 5, 10, 0, 0, 0, 0x10, 0, 0, 0, 0x20]);
    });

    it('emits SACK blocks up to the 40-octet limit: 4 alone, 3 with timestamps (RFC 2018 §3)', () => {
      const r = new TcpRepr();
      r.sackCount = 4;
      for (let i = 0; i < 4; i++) {
        r.sackLeft[i] = 100 * i;
        r.sackRight[i] = 100 * i + 50;
      }
      expect(r.optionsLen()).to.equal(36);
      let parsed = new TcpRepr();
      let b = new Uint8Array(r.bufferLen());
      r.emit(new TcpPacket(b, 0, b.length), HOST, DEVICE, null, true);
      expect(parsed.parse(new TcpPacket(b, 0, b.length), HOST, DEVICE, true)).to.equal(WireError.Ok);
      expect(parsed.sackCount).to.equal(4);
      expect(Array.from(parsed.sackRight)).to.deep.equal([50, 150, 250, 350]);

      r.hasTimestamp = true;
      expect(r.optionsLen()).to.equal(40);
      parsed = new TcpRepr();
      b = new Uint8Array(r.bufferLen());
      r.emit(new TcpPacket(b, 0, b.length), HOST, DEVICE, null, true);
      expect(parsed.parse(new TcpPacket(b, 0, b.length), HOST, DEVICE, true)).to.equal(WireError.Ok);
      expect([parsed.sackCount, parsed.hasTimestamp]).to.deep.equal([3, true]);
      expect(Array.from(parsed.sackLeft.slice(0, 3))).to.deep.equal([0, 100, 200]);

      r.mss = 536;
      r.windowScale = 0;
      r.sackPermitted = true;
      expect(r.optionsLen()).to.equal(40); // 4 + 12 + 4 + (4 + 8 x 2): two blocks left
      expect(r.headerLen()).to.equal(60);
    });

    it('round-trips random Reprs through emit and parse', () => {
      const random = new Xorshift32(0x7323);
      const next = (): number => random.next() | 0;
      const r = new TcpRepr();
      const back = new TcpRepr();
      const b = new Uint8Array(200);
      for (let n = 0; n < 2000; n++) {
        r.clear();
        r.srcPort = next() & 0xffff;
        r.dstPort = next() & 0xffff;
        r.seq = next();
        r.ack = next();
        r.flags = next() & 0xff & ~(TcpFlag.Syn);
        r.window = next() & 0xffff;
        r.urgent = next() & 0xffff;
        if ((n & 1) !== 0) r.mss = (next() & 0xfffe) + 1;
        if ((n & 2) !== 0) r.windowScale = (next() >>> 0) % 15;
        if ((n & 4) !== 0) r.sackPermitted = true;
        if ((n & 8) !== 0) {
          r.hasTimestamp = true;
          r.tsVal = next();
          r.tsEcr = next();
        }
        r.sackCount = (n >>> 4) % 5;
        for (let i = 0; i < r.sackCount; i++) {
          r.sackLeft[i] = next();
          r.sackRight[i] = next();
        }
        const payloadLen = (next() >>> 0) % 50;
        r.payloadOff = 150;
        r.payloadLen = payloadLen;
        const len = r.bufferLen();
        expect(r.optionsLen() % 4).to.equal(0);
        expect(r.optionsLen()).to.be.at.most(40);
        r.emit(packet.reset(b, 0, len), HOST, DEVICE, b, true);
        expect(back.parse(packet.reset(b, 0, len), HOST, DEVICE, true), `case ${n}`).to.equal(WireError.Ok);
        const fields = (t: TcpRepr): unknown[] => [t.srcPort, t.dstPort, t.seq, t.ack, t.flags, t.window, t.urgent,
          t.mss, t.windowScale, t.sackPermitted, t.hasTimestamp, t.tsVal, t.tsEcr];
        expect(fields(back), `case ${n}`).to.deep.equal(fields(r));
        const fixedLen = (r.mss !== 0 ? 4 : 0) + (r.hasTimestamp ? 12 : r.sackPermitted ? 4 : 0) + (r.windowScale >= 0 ? 4 : 0);
        expect(back.sackCount).to.equal(Math.min(r.sackCount, Math.floor((40 - fixedLen - 4) / 8)));
        for (let i = 0; i < back.sackCount; i++) {
          expect([back.sackLeft[i], back.sackRight[i]]).to.deep.equal([r.sackLeft[i], r.sackRight[i]]);
        }
        expect([back.payloadOff, back.payloadLen]).to.deep.equal([len - payloadLen, payloadLen]);
      }
    });

    it('clear() restores every default', () => {
      const r = synRepr();
      r.sackCount = 2;
      r.sackLeft[1] = 5;
      r.payloadOff = 9;
      r.payloadLen = 9;
      r.clear();
      expect(r).to.deep.equal(new TcpRepr());
    });
  });

  describe('sequence arithmetic (RFC 9293 §3.4)', () => {
    it('adds and subtracts modulo 2^32, returning int32', () => {
      expect(seqAdd(0x7fffffff, 1)).to.equal(-0x80000000);
      expect(seqAdd(-1, 1)).to.equal(0);
      expect(seqAdd(0xffffffff, 2)).to.equal(1); // uint32 input works too
      expect(seqAdd(0xfffffff0 | 0, 0x20)).to.equal(0x10);
      expect(seqDiff(0x10, 0xfffffff0 | 0)).to.equal(0x20);
      expect(seqDiff(0xfffffff0 | 0, 0x10)).to.equal(-0x20);
      expect(seqDiff(0x10, 0xfffffff0)).to.equal(0x20);
      expect(seqDiff(5, 5)).to.equal(0);
    });

    it('orders numbers across the 2^32 wrap', () => {
      const before = 0xfffffff0 | 0;
      const after = 0x10;
      expect(seqLt(before, after)).to.equal(true);
      expect(seqLe(before, after)).to.equal(true);
      expect(seqGt(before, after)).to.equal(false);
      expect(seqGe(before, after)).to.equal(false);
      expect(seqGt(after, before)).to.equal(true);
      expect(seqGe(after, before)).to.equal(true);
      expect(seqLt(after, before)).to.equal(false);
      expect(seqLe(after, after)).to.equal(true);
      expect(seqGe(after, after)).to.equal(true);
      expect(seqLt(after, after)).to.equal(false);
      expect(seqGt(after, after)).to.equal(false);
      // Mixed int32 / uint32 representations of the same numbers agree.
      expect(seqLt(0xfffffff0, 0x10)).to.equal(true);
      expect(seqLt(0x7ffffff0, 0x80000010)).to.equal(true);
      expect(seqLt(0x7ffffff0, 0x80000010 | 0)).to.equal(true);
      // Within 2^31 of each other the order is consistent; i + 2^31 - 1 is still "after" i.
      for (const i of [0, 1, 0x7fffffff, -0x80000000, -1, 0x12345678]) {
        expect(seqLt(i, seqAdd(i, 0x7fffffff)), `i ${i}`).to.equal(true);
        expect(seqGt(i, seqAdd(i, -1)), `i ${i}`).to.equal(true);
      }
    });
  });

  describe('allocation', () => {
    it('parses and emits the Linux SYN 100 000 times without allocating an octet', () => {
      const rx = place(SYN_DATAGRAM, 0, 0);
      const tx = new Uint8Array(2048);
      const ipIn = new Ipv4Packet(rx, 0, rx.length);
      const ipOut = new Ipv4Packet(tx, 0, tx.length);
      const tcpIn = new TcpPacket();
      const tcpOut = new TcpPacket();
      const ip = new Ipv4Repr();
      const tcp = new TcpRepr();
      let failures = 0;
      const round = (): void => {
        if (ip.parse(ipIn, true) !== WireError.Ok) failures++;
        tcpIn.reset(rx, ipIn.payloadOff, ipIn.payloadLen);
        if (tcp.parse(tcpIn, ip.src, ip.dst, true) !== WireError.Ok) failures++;
        // Answer: swap the ends and emit a SYN-ACK with the same options.
        const src = ip.src;
        ip.src = ip.dst;
        ip.dst = src;
        ip.payloadLen = tcp.bufferLen();
        ip.emit(ipOut, true);
        tcp.flags = TcpFlag.Syn | TcpFlag.Ack;
        tcp.ack = seqAdd(tcp.seq, 1);
        tcp.emit(tcpOut.reset(tx, ipOut.payloadOff, tcp.bufferLen()), ip.src, ip.dst, null, true);
      };
      const report = measureAlloc(round, 100_000, 20_000);
      expect(failures).to.equal(0);
      expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
      // And the answer is right.
      expect(new Ipv4Repr().parse(ipOut.reset(tx, 0, 60), true)).to.equal(WireError.Ok);
      const answer = new TcpRepr();
      expect(answer.parse(tcpOut.reset(tx, 20, 40), DEVICE, HOST, true)).to.equal(WireError.Ok);
      expect([answer.flags, answer.ack, answer.mss, answer.windowScale]).to.deep.equal([TcpFlag.Syn | TcpFlag.Ack, (0xd4c3b2a2 | 0), 1460, 7]);
    });
  });
});
