/**
 * Packet templates for tests, written independently of src/wire (a naive byte-by-byte
 * implementation), so the stack is checked against a second opinion.
 */
import { HOST_A, HOST_B } from '../../support/addresses.ts';

/** Naive RFC 1071 checksum. */
export function naiveChecksum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, (v >>> 16) & 0xffff);
  put16(b, o + 2, v & 0xffff);
}

export function read16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function read32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) | 0;
}

export interface IpFields {
  src?: number;
  dst?: number;
  protocol: number;
  ttl?: number;
  ident?: number;
  dontFrag?: boolean;
  moreFrags?: boolean;
  fragOffset?: number;
}

/** A 20-octet IPv4 header plus payload, checksum filled. */
export function ipv4(fields: IpFields, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b[0] = 0x45;
  put16(b, 2, b.length);
  put16(b, 4, fields.ident ?? 0x1234);
  put16(b, 6, (fields.dontFrag ? 0x4000 : 0) | (fields.moreFrags ? 0x2000 : 0) | ((fields.fragOffset ?? 0) >>> 3));
  b[8] = fields.ttl ?? 64;
  b[9] = fields.protocol;
  put32(b, 12, fields.src ?? HOST_A);
  put32(b, 16, fields.dst ?? HOST_B);
  put16(b, 10, naiveChecksum(b, 0, 20));
  b.set(payload, 20);
  return b;
}

/** ICMP echo request (type 8) or reply (type 0) message, checksum filled. */
export function icmpEcho(type: number, ident: number, seq: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  b[0] = type;
  put16(b, 4, ident);
  put16(b, 6, seq);
  b.set(data, 8);
  put16(b, 2, naiveChecksum(b));
  return b;
}

/** UDP datagram with pseudo-header checksum. */
export function udp(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  put16(b, 0, srcPort);
  put16(b, 2, dstPort);
  put16(b, 4, b.length);
  b.set(data, 8);
  const pseudo = new Uint8Array(12);
  put32(pseudo, 0, src);
  put32(pseudo, 4, dst);
  pseudo[9] = 17;
  put16(pseudo, 10, b.length);
  let sum = 0;
  for (let i = 0; i < 12; i += 2) sum += read16(pseudo, i);
  let c = naiveChecksum(b, 0, b.length, sum);
  if (c === 0) c = 0xffff;
  put16(b, 6, c);
  return b;
}

/** A whole echo request datagram from A to B. */
export function echoRequest(data: Uint8Array, seq = 1, ident = 0x4242, fields: Partial<IpFields> = {}): Uint8Array {
  return ipv4({ protocol: 1, ...fields }, icmpEcho(8, ident, seq, data));
}

/** Splits a datagram (20-octet header) into fragments carrying at most `chunk` payload octets (rounded down to 8). */
export function fragment(datagram: Uint8Array, chunk: number): Uint8Array[] {
  const payload = datagram.subarray(20);
  const step = chunk & ~7;
  const out: Uint8Array[] = [];
  const ident = read16(datagram, 4);
  for (let at = 0; at < payload.length; at += step) {
    const piece = payload.subarray(at, Math.min(payload.length, at + step));
    out.push(ipv4({
      protocol: datagram[9]!, src: read32(datagram, 12), dst: read32(datagram, 16), ident, ttl: datagram[8]!,
      fragOffset: at, moreFrags: at + piece.length < payload.length,
    }, piece));
  }
  return out;
}

/** Reassembles fragments naively (by offset) into the payload octets; null if anything is missing. */
export function naiveReassemble(frames: Uint8Array[]): { protocol: number; src: number; dst: number; payload: Uint8Array } | null {
  if (frames.length === 0) return null;
  let total = -1;
  const pieces: { at: number; data: Uint8Array }[] = [];
  for (const f of frames) {
    const ihl = (f[0]! & 0x0f) * 4;
    const flags = read16(f, 6);
    const at = (flags & 0x1fff) * 8;
    const data = f.subarray(ihl, read16(f, 2));
    if ((flags & 0x2000) === 0) total = at + data.length;
    pieces.push({ at, data });
  }
  if (total < 0) return null;
  const payload = new Uint8Array(total);
  const have = new Uint8Array(total);
  for (const p of pieces) {
    payload.set(p.data, p.at);
    have.fill(1, p.at, p.at + p.data.length);
  }
  if (have.includes(0)) return null;
  const f0 = frames[0]!;
  return { protocol: f0[9]!, src: read32(f0, 12), dst: read32(f0, 16), payload };
}
