/**
 * Van Jacobson header compression (RFC 1144): byte fixtures for the delta encoding (the RFC's
 * own examples), for each frame type and every change-mask case, the connection number and its
 * omission, the toss state, malformed frames; then a long randomized round trip of a modelled
 * conversation, and the allocation check.
 */
import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import {
  VJ_HEADROOM, VJ_SPECIAL_D, VJ_SPECIAL_I, VjChange, VjCompressor, VjDecompressor, VjResult, VjType, vjEncodeDelta,
} from '../../src/phy/vj.ts';
import { naiveChecksum, put16, put32, read16, read32 } from '../helpers/packets.ts';
import { Xorshift32 as Rng } from '../../src/random.ts';

/** Literal TCP/IP packets: 192.0.2.2:23 -> 192.0.2.1:45678, PSH|ACK, window 4096, 2 data octets each. */
const P1 = [
  0x45, 0x00, 0x00, 0x2a, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xc9, 0xc0, 0x00, 0x02, 0x02,
  0xc0, 0x00, 0x02, 0x01, 0x00, 0x17, 0xb2, 0x6e, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00,
  0x50, 0x18, 0x10, 0x00, 0xd0, 0xd7, 0x00, 0x00, 0x68, 0x69,
];
/** P1's successor: ID + 1, seq + 2 (P1's data), "yo". */
const P2 = [
  0x45, 0x00, 0x00, 0x2a, 0x00, 0x02, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xc8, 0xc0, 0x00, 0x02, 0x02,
  0xc0, 0x00, 0x02, 0x01, 0x00, 0x17, 0xb2, 0x6e, 0x00, 0x00, 0x10, 0x02, 0x00, 0x00, 0x20, 0x00,
  0x50, 0x18, 0x10, 0x00, 0xbf, 0xcf, 0x00, 0x00, 0x79, 0x6f,
];
/** P2's successor as an echo: seq + 2 and ack + 2, "ok". */
const P3 = [
  0x45, 0x00, 0x00, 0x2a, 0x00, 0x03, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xc7, 0xc0, 0x00, 0x02, 0x02,
  0xc0, 0x00, 0x02, 0x01, 0x00, 0x17, 0xb2, 0x6e, 0x00, 0x00, 0x10, 0x04, 0x00, 0x00, 0x20, 0x02,
  0x50, 0x18, 0x10, 0x00, 0xc9, 0xcf, 0x00, 0x00, 0x6f, 0x6b,
];

const HEADROOM = VJ_HEADROOM;

/** A frame in a slot-like buffer: `HEADROOM` octets of 0xa5, the frame, `tail` more. */
interface Slot {
  bytes: Uint8Array;
  off: number;
  len: number;
}

function slot(frame: readonly number[] | Uint8Array, headroom = HEADROOM, tail = 64): Slot {
  const bytes = new Uint8Array(headroom + frame.length + tail).fill(0xa5);
  bytes.set(frame, headroom);
  return { bytes, off: headroom, len: frame.length };
}

/** Compresses a copy of `packet`; returns the type and the frame octets. */
function compress(c: VjCompressor, packet: readonly number[] | Uint8Array): { type: number; frame: number[] } {
  const s = slot(packet, 0);
  const type = c.compress(s.bytes, s.off, s.len);
  return { type, frame: Array.from(s.bytes.slice(c.outOff, c.outOff + c.outLen)) };
}

/** Decompresses `frame` in a slot with headroom; returns the result and the packet octets. */
function decompress(d: VjDecompressor, frame: readonly number[], headroom = HEADROOM, tail = 64): { result: number; packet: number[] } {
  const s = slot(frame, headroom, tail);
  const result = d.decompress(s.bytes, s.off, s.len, 0, s.bytes.length);
  return { result, packet: result === VjResult.Deliver ? Array.from(s.bytes.slice(d.outOff, d.outOff + d.outLen)) : [] };
}

/** The fields of a TCP/IP packet the tests vary. */
interface Fields {
  src?: number;
  dst?: number;
  srcPort?: number;
  dstPort?: number;
  ident?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgent?: number;
  ttl?: number;
  tos?: number;
  dontFrag?: boolean;
  fragOffset?: number;
  protocol?: number;
  tcpOptions?: number[];
  ipOptions?: number[];
  data?: Uint8Array;
}

const A = 0xc0000201 | 0;
const B = 0xc0000202 | 0;
const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40;

/** A TCP/IP packet built octet by octet (independently of src/), both checksums filled. */
function tcpip(f: Fields): Uint8Array {
  const ipOpt = f.ipOptions ?? [];
  const tcpOpt = f.tcpOptions ?? [];
  const ipLen = 20 + ipOpt.length;
  const tcpLen = 20 + tcpOpt.length;
  const data = f.data ?? new Uint8Array(0);
  const b = new Uint8Array(ipLen + tcpLen + data.length);
  b[0] = 0x40 | (ipLen >>> 2);
  b[1] = f.tos ?? 0;
  put16(b, 2, b.length);
  put16(b, 4, f.ident ?? 1);
  put16(b, 6, (f.dontFrag ?? true ? 0x4000 : 0) | ((f.fragOffset ?? 0) >>> 3));
  b[8] = f.ttl ?? 64;
  b[9] = f.protocol ?? 6;
  put32(b, 12, f.src ?? B);
  put32(b, 16, f.dst ?? A);
  b.set(ipOpt, 20);
  put16(b, 10, naiveChecksum(b, 0, ipLen));
  const t = ipLen;
  put16(b, t, f.srcPort ?? 23);
  put16(b, t + 2, f.dstPort ?? 45678);
  put32(b, t + 4, f.seq ?? 0x1000);
  put32(b, t + 8, f.ack ?? 0x2000);
  b[t + 12] = (tcpLen >>> 2) << 4;
  b[t + 13] = f.flags ?? ACK;
  put16(b, t + 14, f.window ?? 4096);
  put16(b, t + 18, f.urgent ?? 0);
  b.set(tcpOpt, t + 20);
  b.set(data, ipLen + tcpLen);
  const pseudo = new Uint8Array(12);
  put32(pseudo, 0, f.src ?? B);
  put32(pseudo, 4, f.dst ?? A);
  pseudo[9] = 6;
  put16(pseudo, 10, tcpLen + data.length);
  let sum = 0;
  for (let i = 0; i < 12; i += 2) sum += read16(pseudo, i);
  put16(b, t + 16, naiveChecksum(b, t, b.length, sum));
  return b;
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The TCP checksum octets of a packet (20-octet IP header). */
function tcpCheck(p: Uint8Array | readonly number[]): number[] {
  return [p[36]!, p[37]!];
}

describe('phy/vj: Van Jacobson header compression (RFC 1144)', () => {
  describe('the delta encoding', () => {
    it('encodes RFC 1144 §3.2.2\'s examples: 15 as 0f, 255 as ff, 65534 as 00 ff fe, zero as 00 00 00', () => {
      const cases: [number, number[]][] = [[15, [0x0f]], [255, [0xff]], [65534, [0x00, 0xff, 0xfe]], [0, [0x00, 0x00, 0x00]], [1, [0x01]], [256, [0x00, 0x01, 0x00]]];
      for (const [value, want] of cases) {
        const b = new Uint8Array(4).fill(0xa5);
        const n = vjEncodeDelta(b, 0, value);
        expect(Array.from(b.slice(0, n)), `delta ${value}`).to.deep.equal(want);
        expect(b[n], 'nothing written beyond').to.equal(0xa5);
      }
    });
  });

  describe('byte fixtures', () => {
    it('the first segment of a connection goes UNCOMPRESSED_TCP: 0x70 or-ed into octet 0, slot 0 in the protocol field', () => {
      const c = new VjCompressor();
      const { type, frame } = compress(c, P1);
      expect(type).to.equal(VjType.UncompressedTcp);
      const want = P1.slice();
      want[0] = 0x75;
      want[9] = 0x00;
      expect(frame).to.deep.equal(want);
      // The receiver restores octets 0 and 9 and takes the header.
      const d = new VjDecompressor();
      const r = decompress(d, frame);
      expect(r.result).to.equal(VjResult.Deliver);
      expect(r.packet).to.deep.equal(P1);
      expect(d.stats.uncompressed).to.equal(1);
      expect(d.tossing).to.equal(false);
    });

    it('unidirectional data: seq advanced by the last data length is SPECIAL_D, 3 octets as Linux sends it: 9f + checksum', () => {
      const c = new VjCompressor(16, 'when-changed');
      compress(c, P1);
      const { type, frame } = compress(c, P2);
      expect(type).to.equal(VjType.CompressedTcp);
      // 0x80 | P (0x10) | S+A+W+U (0x0f); same connection as the last frame: no C, no slot.
      expect(frame).to.deep.equal([0x9f, 0xbf, 0xcf, 0x79, 0x6f]);
      expect(0x9f & 0x0f).to.equal(VJ_SPECIAL_D);
      const d = new VjDecompressor();
      decompress(d, compress(new VjCompressor(), P1).frame);
      const r = decompress(d, frame);
      expect(r.result).to.equal(VjResult.Deliver);
      expect(r.packet).to.deep.equal(P2);
    });

    it('echoed terminal traffic: seq and ack both advanced by the last data length is SPECIAL_I: 9b + checksum', () => {
      const c = new VjCompressor(16, 'when-changed');
      const d = new VjDecompressor();
      for (const p of [P1, P2]) decompress(d, compress(c, p).frame);
      const { frame } = compress(c, P3);
      expect(frame).to.deep.equal([0x9b, 0xc9, 0xcf, 0x6f, 0x6b]);
      expect(0x9b & 0x0f).to.equal(VJ_SPECIAL_I);
      expect(decompress(d, frame).packet).to.deep.equal(P3);
    });

    it('by default a header that would be 3 octets names its connection (4 octets: df 00 + checksum), which slirp needs', () => {
      const c = new VjCompressor();
      const d = new VjDecompressor();
      decompress(d, compress(c, P1).frame);
      const special = compress(c, P2).frame;
      expect(special).to.deep.equal([0xdf, 0x00, 0xbf, 0xcf, 0x79, 0x6f]);
      expect(decompress(d, special).packet).to.deep.equal(P2);
      // A header with a delta in it stays without the connection number.
      const p = tcpip({ ident: 4, seq: 0x1004, ack: 0x2001, data: bytesOf('ok') });
      // ack + 1, seq + 2, IP ID + 2: A, S and I deltas, no C.
      expect(compress(c, p).frame.slice(0, 6)).to.deep.equal([0x80 | VjChange.I | VjChange.S | VjChange.A, ...tcpCheck(p), 1, 2, 2]);
    });

    it('each change-mask bit alone, with its delta in the RFC order U, W, A, S, I', () => {
      const base: Fields = { ident: 10, seq: 0x1000, ack: 0x2000, window: 4096, data: bytesOf('x') };
      // Each case: the next packet's fields, and the expected mask and delta octets.
      const cases: { name: string; next: Fields; mask: number; deltas: number[] }[] = [
        { name: 'A: a pure ack of 100', next: { ident: 11, ack: 0x2000 + 100 }, mask: VjChange.A, deltas: [100] },
        { name: 'A: 256 needs three octets', next: { ident: 11, ack: 0x2000 + 256 }, mask: VjChange.A, deltas: [0, 1, 0] },
        { name: 'W: window up 255', next: { ident: 11, window: 4096 + 255, data: bytesOf('x') }, mask: VjChange.W, deltas: [255] },
        { name: 'W: window down 1 (the delta is 16-bit)', next: { ident: 11, window: 4095, data: bytesOf('x') }, mask: VjChange.W, deltas: [0, 0xff, 0xff] },
        { name: 'S: seq by other than the last data length', next: { ident: 11, seq: 0x1000 + 7, data: bytesOf('x') }, mask: VjChange.S, deltas: [7] },
        { name: 'I: the IP ID by other than 1', next: { ident: 15, ack: 0x2000 + 1 }, mask: VjChange.A | VjChange.I, deltas: [1, 5] },
        { name: 'I: the IP ID unchanged (delta 0)', next: { ident: 10, ack: 0x2000 + 1 }, mask: VjChange.A | VjChange.I, deltas: [1, 0, 0, 0] },
        { name: 'P: PSH', next: { ident: 11, ack: 0x2000 + 1, flags: ACK | PSH }, mask: VjChange.A | VjChange.P, deltas: [1] },
        { name: 'U: urgent pointer 3', next: { ident: 11, flags: ACK | URG, urgent: 3, data: bytesOf('x') }, mask: VjChange.U, deltas: [3] },
        { name: 'U: urgent pointer 0 is sent as 00 00 00', next: { ident: 11, ack: 0x2000 + 1, flags: ACK | URG, urgent: 0 }, mask: VjChange.U | VjChange.A, deltas: [0, 0, 0, 1] },
        {
          name: 'U W A I at once, in that order', next: { ident: 20, ack: 0x2000 + 300, window: 5000, flags: ACK | URG, urgent: 2, data: bytesOf('yy') },
          mask: VjChange.U | VjChange.W | VjChange.A | VjChange.I, deltas: [2, 0, 0x03, 0x88, 0, 0x01, 0x2c, 10],
        },
        {
          name: 'W A S I at once, in that order', next: { ident: 20, seq: 0x1000 + 9, ack: 0x2000 + 300, window: 5000, data: bytesOf('yy') },
          mask: VjChange.W | VjChange.A | VjChange.S | VjChange.I, deltas: [0, 0x03, 0x88, 0, 0x01, 0x2c, 9, 10],
        },
        { name: 'U A S at once', next: { ident: 11, seq: 0x1000 + 4, ack: 0x2000 + 2, flags: ACK | URG, urgent: 1 }, mask: VjChange.U | VjChange.A | VjChange.S, deltas: [1, 2, 4] },
      ];
      for (const k of cases) {
        const c = new VjCompressor();
        const d = new VjDecompressor();
        const first = tcpip(base);
        decompress(d, compress(c, first).frame);
        const p = tcpip({ ...base, data: new Uint8Array(0), ...k.next });
        const { type, frame } = compress(c, p);
        expect(type, k.name).to.equal(VjType.CompressedTcp);
        expect(frame.slice(0, 3 + k.deltas.length), k.name).to.deep.equal([0x80 | k.mask, ...tcpCheck(p), ...k.deltas]);
        expect(frame.length, k.name).to.equal(3 + k.deltas.length + p.length - 40);
        const r = decompress(d, frame);
        expect(r.result, k.name).to.equal(VjResult.Deliver);
        expect(r.packet, k.name).to.deep.equal(Array.from(p));
      }
    });

    it('data after a pure ACK with nothing else changed is compressed with an empty mask (the interactive case)', () => {
      const c = new VjCompressor(16, 'when-changed');
      const d = new VjDecompressor();
      decompress(d, compress(c, tcpip({ ident: 1 })).frame); // a pure ACK
      const p = tcpip({ ident: 2, data: bytesOf('ls\r\n') });
      const { type, frame } = compress(c, p);
      expect(type).to.equal(VjType.CompressedTcp);
      expect(frame.slice(0, 3)).to.deep.equal([0x80, ...tcpCheck(p)]);
      expect(decompress(d, frame).packet).to.deep.equal(Array.from(p));
    });

    it('goes uncompressed when the changes cannot be expressed', () => {
      const base: Fields = { ident: 1, seq: 0x1000, ack: 0x2000, data: bytesOf('abcd') };
      const cases: { name: string; next: Fields }[] = [
        { name: 'nothing changed (a retransmission)', next: { ident: 2 } },
        { name: 'seq went backwards', next: { ident: 2, seq: 0x0ff0 } },
        { name: 'seq jumped 64K', next: { ident: 2, seq: 0x1000 + 0x10000 } },
        { name: 'ack went backwards', next: { ident: 2, ack: 0x1fff } },
        { name: 'ack jumped 64K', next: { ident: 2, ack: 0x2000 + 0x10000 } },
        { name: 'real changes S+W+U look like SPECIAL_I', next: { ident: 2, seq: 0x1000 + 1, window: 5000, flags: ACK | URG, urgent: 1 } },
        { name: 'real changes S+A+W+U look like SPECIAL_D', next: { ident: 2, seq: 0x1000 + 1, ack: 0x2000 + 1, window: 5000, flags: ACK | URG, urgent: 1 } },
        { name: 'the urgent pointer moved without URG', next: { ident: 2, ack: 0x2001, urgent: 5 } },
        { name: 'TTL changed', next: { ident: 2, ack: 0x2001, ttl: 63 } },
        { name: 'TOS changed', next: { ident: 2, ack: 0x2001, tos: 0x10 } },
        { name: 'DF cleared', next: { ident: 2, ack: 0x2001, dontFrag: false } },
        { name: 'ECE set (a flag the format cannot carry)', next: { ident: 2, ack: 0x2001, flags: ACK | ECE } },
        { name: 'TCP options appeared', next: { ident: 2, ack: 0x2001, tcpOptions: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] } },
      ];
      for (const k of cases) {
        const c = new VjCompressor();
        const d = new VjDecompressor();
        decompress(d, compress(c, tcpip(base)).frame);
        const p = tcpip({ ...base, ...k.next });
        const { type, frame } = compress(c, p);
        expect(type, k.name).to.equal(VjType.UncompressedTcp);
        expect(decompress(d, frame).packet, k.name).to.deep.equal(Array.from(p));
      }
    });

    it('changed TCP options (a timestamp every segment) always go uncompressed', () => {
      const c = new VjCompressor();
      for (let i = 0; i < 4; i++) {
        const ts = [1, 1, 8, 10, 0, 0, 0, i, 0, 0, 0, 0];
        expect(compress(c, tcpip({ ident: i, ack: 0x2000 + i, tcpOptions: ts })).type).to.equal(VjType.UncompressedTcp);
      }
      // Options that stay the same compress.
      const same = [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 9];
      compress(c, tcpip({ ident: 10, ack: 0x3000, tcpOptions: same }));
      const p = tcpip({ ident: 11, ack: 0x3001, tcpOptions: same });
      const { type, frame } = compress(c, p);
      expect(type).to.equal(VjType.CompressedTcp);
      expect(frame.slice(0, 4)).to.deep.equal([0x80 | VjChange.A, ...tcpCheck(p), 1]);
    });

    it('leaves non-TCP, SYN, FIN, RST, segments without ACK and fragments as TYPE_IP', () => {
      const cases: { name: string; p: Uint8Array; counter: 'notTcp' | 'tcpAsIs' }[] = [
        { name: 'UDP', p: tcpip({ protocol: 17 }), counter: 'notTcp' },
        { name: 'SYN', p: tcpip({ flags: SYN }), counter: 'tcpAsIs' },
        { name: 'SYN-ACK', p: tcpip({ flags: SYN | ACK }), counter: 'tcpAsIs' },
        { name: 'FIN-ACK', p: tcpip({ flags: FIN | ACK }), counter: 'tcpAsIs' },
        { name: 'RST', p: tcpip({ flags: RST | ACK }), counter: 'tcpAsIs' },
        { name: 'no ACK', p: tcpip({ flags: PSH }), counter: 'tcpAsIs' },
        { name: 'a fragment', p: tcpip({ fragOffset: 64, dontFrag: false }), counter: 'tcpAsIs' },
      ];
      for (const k of cases) {
        const c = new VjCompressor();
        const { type, frame } = compress(c, k.p);
        expect(type, k.name).to.equal(VjType.Ip);
        expect(frame, k.name).to.deep.equal(Array.from(k.p));
        expect(c.stats[k.counter], k.name).to.equal(1);
        // And the decompressor passes TYPE_IP through.
        const d = new VjDecompressor();
        expect(decompress(d, frame).packet, k.name).to.deep.equal(Array.from(k.p));
        expect(d.stats.ip).to.equal(1);
      }
    });

    it('IP options are saved and compared like TCP options', () => {
      const ipOptions = [0x94, 0x04, 0x00, 0x00]; // router alert
      const c = new VjCompressor(16, 'when-changed');
      const d = new VjDecompressor();
      const p1 = tcpip({ ident: 1, ipOptions, data: bytesOf('ab') });
      expect(compress(c, p1).type).to.equal(VjType.UncompressedTcp);
      decompress(d, compress(new VjCompressor(), p1).frame);
      const p2 = tcpip({ ident: 2, seq: 0x1002, ipOptions, data: bytesOf('cd') });
      const { type, frame } = compress(c, p2);
      expect(type).to.equal(VjType.CompressedTcp);
      expect(frame.slice(0, 3)).to.deep.equal([0x80 | VJ_SPECIAL_D, p2[40]!, p2[41]!]);
      expect(decompress(d, frame).packet).to.deep.equal(Array.from(p2));
    });
  });

  describe('connection numbers', () => {
    it('names the slot (C bit) when the connection differs from the last frame\'s, omits it when the same', () => {
      const c = new VjCompressor();
      const d = new VjDecompressor();
      const x = (i: number, f: Fields): Uint8Array => tcpip({ srcPort: 2000 + i, ident: 1, ...f });
      // Two connections: slots 0 and 1, each announced uncompressed.
      let r = compress(c, x(0, { ident: 1 }));
      expect([r.type, r.frame[9]]).to.deep.equal([VjType.UncompressedTcp, 0]);
      decompress(d, r.frame);
      r = compress(c, x(1, { ident: 2 }));
      expect([r.type, r.frame[9]]).to.deep.equal([VjType.UncompressedTcp, 1]);
      decompress(d, r.frame);
      // Back to connection 0: C and its slot number.
      let p = x(0, { ident: 3, ack: 0x2001 });
      r = compress(c, p);
      expect(r.frame.slice(0, 5)).to.deep.equal([0x80 | VjChange.C | VjChange.A | VjChange.I, 0, ...tcpCheck(p), 1]);
      expect(decompress(d, r.frame).packet).to.deep.equal(Array.from(p));
      // Connection 0 again: no C.
      p = x(0, { ident: 4, ack: 0x2002 });
      r = compress(c, p);
      expect(r.frame.slice(0, 4)).to.deep.equal([0x80 | VjChange.A, ...tcpCheck(p), 1]);
      expect(decompress(d, r.frame).packet).to.deep.equal(Array.from(p));
      expect(c.stats).to.deep.include({ compressed: 2, uncompressed: 2, searches: 4, misses: 2 });
    });

    it('with omission off every compressed frame names its slot', () => {
      const c = new VjCompressor(16, 'always');
      compress(c, tcpip({ ident: 1 }));
      const p = tcpip({ ident: 2, ack: 0x2001 });
      expect(compress(c, p).frame.slice(0, 2)).to.deep.equal([0x80 | VjChange.C | VjChange.A, 0]);
    });

    it('a 17th connection takes the least recently used slot and goes uncompressed', () => {
      const c = new VjCompressor();
      for (let i = 0; i < 16; i++) expect(compress(c, tcpip({ srcPort: 3000 + i })).frame[9]).to.equal(i);
      // Touch connection 0 so slot 1 is now the least recently used.
      expect(compress(c, tcpip({ srcPort: 3000, ident: 2, ack: 0x2001 })).type).to.equal(VjType.CompressedTcp);
      const r = compress(c, tcpip({ srcPort: 4000 }));
      expect([r.type, r.frame[9]]).to.deep.equal([VjType.UncompressedTcp, 1]);
      // Connection 1 lost its slot: its next segment misses and is sent whole again.
      expect(compress(c, tcpip({ srcPort: 3001, ident: 2, ack: 0x2001 })).type).to.equal(VjType.UncompressedTcp);
      expect(c.stats.misses).to.equal(18);
    });
  });

  describe('errors and the toss state (RFC 1144 §4)', () => {
    function primed(): { c: VjCompressor; d: VjDecompressor } {
      const c = new VjCompressor();
      const d = new VjDecompressor();
      decompress(d, compress(c, tcpip({ ident: 1 })).frame);
      return { c, d };
    }

    it('starts tossing: a compressed frame with an implicit connection before any state is discarded', () => {
      const d = new VjDecompressor();
      expect(d.tossing).to.equal(true);
      expect(decompress(d, [0x80 | VjChange.A, 0x12, 0x34, 1]).result).to.equal(VjResult.Tossed);
      expect(d.stats.tossed).to.equal(1);
    });

    it('after a frame error, implicit frames are tossed until one with C; then it decodes again', () => {
      const { c, d } = primed();
      d.frameError();
      const lost = tcpip({ ident: 2, ack: 0x2001 });
      const f1 = compress(c, lost).frame;
      expect(f1[0]! & VjChange.C).to.equal(0);
      expect(decompress(d, f1).result).to.equal(VjResult.Tossed);
      // The sender names the connection (another connection in between makes it do so).
      const other = compress(c, tcpip({ srcPort: 999 })).frame;
      expect(decompress(d, other).result).to.equal(VjResult.Deliver);
      // The first connection's state on the receiver lacks `lost`: the C frame decodes, though
      // to a header TCP will refuse (its checksum) until the sender resends uncompressed.
      const p = tcpip({ ident: 3, ack: 0x2002 });
      const f2 = compress(c, p).frame;
      expect(f2[0]! & VjChange.C).to.equal(VjChange.C);
      expect(decompress(d, f2).result).to.equal(VjResult.Deliver);
      expect(d.tossing).to.equal(false);
      expect(d.stats.tossed).to.equal(1);
    });

    it('after a frame error, an UNCOMPRESSED_TCP frame ends the toss state', () => {
      const { c, d } = primed();
      d.frameError();
      // A retransmission (nothing changed) goes uncompressed.
      const again = compress(c, tcpip({ ident: 2 })).frame;
      expect(again[0]! >>> 4).to.equal(7);
      expect(decompress(d, again).result).to.equal(VjResult.Deliver);
      expect(d.tossing).to.equal(false);
      const p = tcpip({ ident: 3, ack: 0x2001 });
      expect(decompress(d, compress(c, p).frame).packet).to.deep.equal(Array.from(p));
    });

    it('rejects malformed frames, counts them and starts tossing', () => {
      const cases: { name: string; frame: number[] }[] = [
        { name: 'C naming a slot out of range', frame: [0x80 | VjChange.C, 16, 0, 0] },
        { name: 'C naming an empty slot', frame: [0x80 | VjChange.C, 5, 0, 0] },
        { name: 'C with no slot octet', frame: [0x80 | VjChange.C] },
        { name: 'no room for the checksum', frame: [0x80 | VjChange.C, 0, 0x12] },
        { name: 'a delta cut short', frame: [0x80 | VjChange.C | VjChange.A, 0, 0x12, 0x34, 0x00, 0x01] },
        { name: 'a delta missing', frame: [0x80 | VjChange.C | VjChange.S, 0, 0x12, 0x34] },
      ];
      for (const k of cases) {
        const { d } = primed();
        expect(decompress(d, k.frame).result, k.name).to.equal(VjResult.Error);
        expect(d.stats.errors, k.name).to.equal(1);
        expect(d.tossing, k.name).to.equal(true);
      }
    });

    it('a truncated frame leaves the saved header as it was', () => {
      const { c, d } = primed();
      const p = tcpip({ ident: 2, ack: 0x2000 + 300 });
      const frame = compress(c, p).frame; // 80|A, checksum, 00 01 2c
      expect(decompress(d, frame.slice(0, 5)).result).to.equal(VjResult.Error);
      // Named again after the error, the intact frame decodes against the unchanged state.
      const withC = [frame[0]! | VjChange.C, 0, ...frame.slice(1)];
      expect(decompress(d, withC).packet).to.deep.equal(Array.from(p));
    });

    it('rejects UNCOMPRESSED_TCP with a bad IP checksum, a slot out of range, or cut short', () => {
      const good = compress(new VjCompressor(), tcpip({})).frame;
      const badSum = good.slice();
      badSum[8] = 63; // TTL changed after the checksum
      const badSlot = good.slice();
      badSlot[9] = 16;
      const cases: [string, number[]][] = [['bad checksum', badSum], ['slot 16', badSlot], ['cut short', good.slice(0, 30)]];
      for (const [name, frame] of cases) {
        const d = new VjDecompressor();
        expect(decompress(d, frame).result, name).to.equal(VjResult.Error);
        expect(d.stats.errors, name).to.equal(1);
      }
    });
  });

  describe('where the header is rebuilt', () => {
    it('in the headroom when there is enough, else by moving the data up, else not at all (noRoom)', () => {
      const c = new VjCompressor(16, 'when-changed');
      const d = new VjDecompressor();
      decompress(d, compress(c, P1).frame);
      const frame = compress(c, P2).frame;
      // No headroom, room at the end: the data moves.
      let s = slot(frame, 0, 64);
      expect(d.decompress(s.bytes, 0, s.len, 0, s.bytes.length)).to.equal(VjResult.Deliver);
      expect([d.outOff, d.outLen]).to.deep.equal([0, 42]);
      expect(Array.from(s.bytes.slice(0, 42))).to.deep.equal(P2);
      // Headroom: the data stays, the header goes in front of it.
      const c2 = new VjCompressor(16, 'when-changed');
      const d2 = new VjDecompressor();
      decompress(d2, compress(c2, P1).frame);
      s = slot(compress(c2, P2).frame, 40, 0);
      expect(d2.decompress(s.bytes, 40, s.len, 0, s.bytes.length)).to.equal(VjResult.Deliver);
      expect(d2.outOff).to.equal(40 + 3 - 40);
      // Neither: counted, the slot is the caller's to free.
      const c3 = new VjCompressor(16, 'when-changed');
      const d3 = new VjDecompressor();
      decompress(d3, compress(c3, P1).frame);
      s = slot(compress(c3, P2).frame, 0, 0);
      expect(d3.decompress(s.bytes, 0, s.len, 0, s.bytes.length)).to.equal(VjResult.NoRoom);
      expect(d3.stats.noRoom).to.equal(1);
    });
  });

  describe('a modelled conversation, round trip', () => {
    /**
     * Two endpoints' segments in both directions over several connections, changing every field
     * VJ tracks in the ways real traffic does (data, acks, echoes, window moves, urgent data,
     * ID jumps, retransmissions, new connections); each direction through its own compressor and
     * decompressor. Every packet must come out exactly as it went in.
     */
    it('200 000 segments over 40 connections come out octet for octet; every mask case occurs', () => {
      const rng = new Rng(0x1144);
      interface Conn { port: number; seq: [number, number]; ack: [number, number]; win: [number, number]; ident: [number, number]; last: [number, number] }
      const conns: Conn[] = [];
      for (let i = 0; i < 40; i++) {
        conns.push({ port: 1000 + i, seq: [rng.next() | 0, rng.next() | 0], ack: [0, 0], win: [8192, 8192], ident: [rng.below(65536), rng.below(65536)], last: [0, 0] });
        conns[i]!.ack = [conns[i]!.seq[1], conns[i]!.seq[0]];
      }
      const comp = [new VjCompressor(), new VjCompressor()];
      const decomp = [new VjDecompressor(), new VjDecompressor()];
      const seen = new Set<number>();
      const types = new Set<number>();
      const buf = new Uint8Array(HEADROOM + 1600);
      let active = 0;
      for (let n = 0; n < 200_000; n++) {
        // Mostly one or two busy connections; sometimes any of the 40 (slot misses).
        if (rng.below(100) < 3) active = rng.below(40);
        else if (rng.below(100) < 20) active = rng.below(3);
        const k = conns[active]!;
        const dir = rng.below(2);
        const other = 1 - dir;
        let flags = ACK;
        let dataLen = 0;
        let urgent = 0;
        const roll = rng.below(100);
        if (roll < 45) dataLen = 1 + rng.below(rng.below(10) === 0 ? 1400 : 64);
        if (roll >= 45 && roll < 55) {
          // An echo: data back, acknowledging the other side's last data.
          dataLen = k.last[other]!;
          k.ack[dir] = (k.seq[other]!) | 0;
        }
        if (rng.below(100) < 30) k.ack[dir] = k.seq[other]!;
        if (rng.below(100) < 10) k.win[dir] = (k.win[dir]! + rng.below(2000) - 1000) & 0xffff;
        if (rng.below(100) < 3) { flags |= URG; urgent = rng.below(3) === 0 ? 0 : rng.below(5000); }
        if (rng.below(100) < 40) flags |= PSH;
        if (rng.below(1000) < 5) flags |= FIN; // goes as TYPE_IP
        k.ident[dir] = (k.ident[dir]! + (rng.below(100) < 85 ? 1 : rng.below(300))) & 0xffff;
        let seq = k.seq[dir]!;
        if (rng.below(100) < 2) seq = (seq - rng.below(3000)) | 0; // a retransmission
        const data = new Uint8Array(dataLen);
        for (let i = 0; i < dataLen; i += 97) data[i] = rng.below(256);
        const p = tcpip({
          src: dir === 0 ? A : B, dst: dir === 0 ? B : A, srcPort: dir === 0 ? k.port : 23, dstPort: dir === 0 ? 23 : k.port,
          ident: k.ident[dir]!, seq, ack: k.ack[dir]!, flags, window: k.win[dir]!, urgent, data,
        });
        if (seq === k.seq[dir]) {
          k.seq[dir] = (seq + dataLen) | 0;
          k.last[dir] = dataLen;
        }
        buf.fill(0xa5);
        buf.set(p, HEADROOM);
        const c = comp[dir]!;
        const type = c.compress(buf, HEADROOM, p.length);
        types.add(type);
        if (type === VjType.CompressedTcp) seen.add(buf[c.outOff]! & 0x3f & ~VjChange.C);
        const d = decomp[dir]!;
        expect(d.decompress(buf, c.outOff, c.outLen, 0, buf.length), `segment ${n}`).to.equal(VjResult.Deliver);
        expect(d.outLen, `segment ${n}: length`).to.equal(p.length);
        for (let i = 0; i < p.length; i++) {
          if (buf[d.outOff + i] !== p[i]) expect.fail(`segment ${n} (type ${type}): octet ${i} is ${buf[d.outOff + i]}, sent ${p[i]}`);
        }
        expect(read32(buf, d.outOff + 24)).to.equal(seq | 0);
      }
      expect([...types].sort()).to.deep.equal([VjType.Ip, VjType.UncompressedTcp, VjType.CompressedTcp].sort());
      // Every change-mask case: each of U, W, A, S, I, P alone, and both specials.
      for (const bit of [VjChange.U, VjChange.W, VjChange.A, VjChange.S, VjChange.I, VjChange.P]) {
        expect([...seen].some((m) => (m & bit) !== 0 && (m & 0x0f) !== VJ_SPECIAL_I && (m & 0x0f) !== VJ_SPECIAL_D), `mask bit ${bit}`).to.equal(true);
      }
      expect([...seen].some((m) => (m & 0x0f) === VJ_SPECIAL_I), 'SPECIAL_I').to.equal(true);
      expect([...seen].some((m) => (m & 0x0f) === VJ_SPECIAL_D), 'SPECIAL_D').to.equal(true);
      expect([...seen].some((m) => (m & 0x2f) === 0), 'empty mask').to.equal(true);
      expect(comp[0]!.stats.misses).to.be.greaterThan(40);
    });
  });

  it('compresses and decompresses with no allocation', () => {
    const c = new VjCompressor();
    const d = new VjDecompressor();
    const buf = new Uint8Array(HEADROOM + 1600);
    const packets = [tcpip({ ident: 1, data: bytesOf('a') })];
    for (let i = 1; i < 64; i++) packets.push(tcpip({ ident: 1 + i, seq: 0x1000 + i, ack: 0x2000 + (i >> 1), data: bytesOf('a') }));
    const step = (i: number): void => {
      const p = packets[i & 63]!;
      buf.set(p, HEADROOM);
      c.compress(buf, HEADROOM, p.length);
      d.decompress(buf, c.outOff, c.outLen, 0, buf.length);
    };
    const report = measureAlloc(step, 50_000, 10_000);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
  });
});
