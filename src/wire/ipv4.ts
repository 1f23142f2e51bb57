/**
 * IPv4 header (RFC 791 §3.1): a view with one accessor per field, and a Repr.
 *
 * `Ipv4Packet` is a lossless, re-pointable window on octets (`reset(bytes, off, len)`); it reads
 * and writes big-endian fields with byte arithmetic and allocates nothing. Its accessors trust
 * the caller to have called `checkLen()` first. `Ipv4Repr.parse()` checks lengths before it reads
 * any other field, then version, then the checksum, and returns a `WireError` code; it never
 * throws. `Ipv4Repr.emit()` writes a 20-octet header without options.
 *
 * Addresses are signed int32 numbers (192.0.2.2 is `0xc0000202 | 0`). `ipv4Address()` and
 * `formatIpv4()` convert text for configuration and display; they are not for the packet path.
 */

import { checksum as internetChecksum } from './checksum.ts';
import { WireError } from './error.ts';
import { WireView, get16, set16, get32, set32 } from './view.ts';

/** Length of an IPv4 header without options, in octets. */
export const IPV4_HEADER_LEN = 20;

/** IP protocol numbers (RFC 790 / IANA) carried in the `protocol` field. */
export const IpProtocol = { Icmp: 1, Tcp: 6, Udp: 17 } as const;

// Field offsets, in octets from the start of the header (RFC 791 §3.1).
const VER_IHL = 0;
const DSCP_ECN = 1;
const TOTAL_LEN = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC_ADDR = 12;
const DST_ADDR = 16;

// Flag bits in the octet at FLAGS_FRAG (bit 0x80 is reserved, must be zero).
const FLAG_DF = 0x40;
const FLAG_MF = 0x20;

/** A view of an IPv4 header and its payload inside `bytes[off .. off + len)`. */
export class Ipv4Packet extends WireView {
  // Here `len` is: Octets available to the view (the frame length), which may exceed `totalLen` (padding).

  /**
   * Checks that the header and the datagram fit the view (smoltcp `check_len`). Reads only
   * octets inside `len` and in this order: length >= 20, IHL >= 5, header fits, totalLen >=
   * header length, totalLen fits. Does not look at the version.
   * @returns `WireError.Ok`, `Truncated`, `BadHeaderLength` or `BadLength`
   */
  checkLen(): number {
    if (this.len < IPV4_HEADER_LEN) return WireError.Truncated;
    const headerLen = this.headerLen;
    if (headerLen < IPV4_HEADER_LEN) return WireError.BadHeaderLength;
    if (this.len < headerLen) return WireError.Truncated;
    const totalLen = this.totalLen;
    if (totalLen < headerLen) return WireError.BadLength;
    if (this.len < totalLen) return WireError.Truncated;
    return WireError.Ok;
  }

  /** IP version, the high nibble of octet 0 (4 for IPv4). */
  get version(): number {
    return this.bytes[this.off + VER_IHL]! >>> 4;
  }
  set version(value: number) {
    const at = this.off + VER_IHL;
    this.bytes[at] = (this.bytes[at]! & 0x0f) | ((value & 0x0f) << 4);
  }

  /** Header length in octets: the IHL field (32-bit words) times 4; 20..60. */
  get headerLen(): number {
    return (this.bytes[this.off + VER_IHL]! & 0x0f) << 2;
  }
  set headerLen(octets: number) {
    const at = this.off + VER_IHL;
    this.bytes[at] = (this.bytes[at]! & 0xf0) | ((octets >>> 2) & 0x0f);
  }

  /** The type-of-service octet: DSCP (6 bits) and ECN (2 bits), RFC 2474 / RFC 3168. */
  get dscpEcn(): number {
    return this.bytes[this.off + DSCP_ECN]!;
  }
  set dscpEcn(value: number) {
    this.bytes[this.off + DSCP_ECN] = value;
  }

  /** Total length of the datagram (header and payload), in octets. */
  get totalLen(): number {
    return get16(this.bytes, this.off + TOTAL_LEN);
  }
  set totalLen(octets: number) {
    set16(this.bytes, this.off + TOTAL_LEN, octets);
  }

  /** Identification, for reassembly. */
  get ident(): number {
    return get16(this.bytes, this.off + IDENT);
  }
  set ident(value: number) {
    set16(this.bytes, this.off + IDENT, value);
  }

  /** The DF (don't fragment) flag. */
  get dontFrag(): boolean {
    return (this.bytes[this.off + FLAGS_FRAG]! & FLAG_DF) !== 0;
  }
  set dontFrag(value: boolean) {
    const at = this.off + FLAGS_FRAG;
    this.bytes[at] = value ? this.bytes[at]! | FLAG_DF : this.bytes[at]! & ~FLAG_DF;
  }

  /** The MF (more fragments) flag. */
  get moreFrags(): boolean {
    return (this.bytes[this.off + FLAGS_FRAG]! & FLAG_MF) !== 0;
  }
  set moreFrags(value: boolean) {
    const at = this.off + FLAGS_FRAG;
    this.bytes[at] = value ? this.bytes[at]! | FLAG_MF : this.bytes[at]! & ~FLAG_MF;
  }

  /**
   * Fragment offset in octets (the 13-bit field counts 8-octet units, RFC 791 §3.1). Setting it
   * keeps DF and MF and clears the reserved flag bit ("must be zero").
   */
  get fragOffset(): number {
    return (get16(this.bytes, this.off + FLAGS_FRAG) & 0x1fff) << 3;
  }
  set fragOffset(octets: number) {
    const at = this.off + FLAGS_FRAG;
    set16(this.bytes, at, ((this.bytes[at]! & (FLAG_DF | FLAG_MF)) << 8) | ((octets >>> 3) & 0x1fff));
  }

  /** Time to live, in hops. */
  get ttl(): number {
    return this.bytes[this.off + TTL]!;
  }
  set ttl(value: number) {
    this.bytes[this.off + TTL] = value;
  }

  /** Protocol of the payload (`IpProtocol`). */
  get protocol(): number {
    return this.bytes[this.off + PROTOCOL]!;
  }
  set protocol(value: number) {
    this.bytes[this.off + PROTOCOL] = value;
  }

  /** The header checksum field as stored. */
  get headerChecksum(): number {
    return get16(this.bytes, this.off + CHECKSUM);
  }
  set headerChecksum(value: number) {
    set16(this.bytes, this.off + CHECKSUM, value);
  }

  /** Source address, a signed int32. */
  get src(): number {
    return get32(this.bytes, this.off + SRC_ADDR);
  }
  set src(addr: number) {
    set32(this.bytes, this.off + SRC_ADDR, addr);
  }

  /** Destination address, a signed int32. */
  get dst(): number {
    return get32(this.bytes, this.off + DST_ADDR);
  }
  set dst(addr: number) {
    set32(this.bytes, this.off + DST_ADDR, addr);
  }

  /** Absolute offset of the payload in `bytes`: `off + headerLen`. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }

  /** Payload length in octets: `totalLen - headerLen`. */
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }

  /** True when the header checksum verifies (RFC 791 §3.1: the sum over the header, options included, is 0xffff). */
  verifyChecksum(): boolean {
    return internetChecksum(this.bytes, this.off, this.headerLen) === 0;
  }

  /** Computes the header checksum over `headerLen` octets and writes it. */
  fillChecksum(): void {
    this.headerChecksum = 0;
    this.headerChecksum = internetChecksum(this.bytes, this.off, this.headerLen);
  }
}

/** The meaning of an IPv4 header: what parse accepts and emit writes. Create once, reuse. */
export class Ipv4Repr {
  /** Source address, signed int32. */
  src = 0;
  /** Destination address, signed int32. */
  dst = 0;
  /** Payload protocol (`IpProtocol`). */
  protocol = 0;
  /** Time to live, hops. Default 64 (RFC 1700 / Linux default). */
  ttl = 64;
  /** Payload length in octets (`totalLen - headerLen`). */
  payloadLen = 0;
  /** Identification. */
  ident = 0;
  dontFrag = false;
  moreFrags = false;
  /** Fragment offset in octets, a multiple of 8. */
  fragOffset = 0;
  /** The type-of-service octet (DSCP and ECN). */
  tos = 0;

  /**
   * Validates and reads a header: length >= 20 first, then version 4, IHL >= 5, the header
   * fits, header length <= totalLen <= view length, then (if `checksum`) the header checksum.
   * Options are allowed and skipped (RFC 1122 §3.2.1.8: options we do not know are ignored).
   * Octets past `totalLen` (link padding) are ignored. Fragments parse normally; reassembly is
   * the caller's business.
   * @param checksum  verify the header checksum (false on links that guarantee integrity)
   * @returns a `WireError` code; the fields are meaningful only on `Ok`
   */
  parse(p: Ipv4Packet, checksum: boolean): number {
    if (p.len < IPV4_HEADER_LEN) return WireError.Truncated;
    // RFC 791 §3.1: version 4; anything else (IPv6 from a TUN) is not ours.
    if (p.version !== 4) return WireError.BadVersion;
    const lenError = p.checkLen();
    if (lenError !== WireError.Ok) return lenError;
    if (checksum && !p.verifyChecksum()) return WireError.BadChecksum;
    this.src = p.src;
    this.dst = p.dst;
    this.protocol = p.protocol;
    this.ttl = p.ttl;
    this.payloadLen = p.totalLen - p.headerLen;
    this.ident = p.ident;
    this.dontFrag = p.dontFrag;
    this.moreFrags = p.moreFrags;
    this.fragOffset = p.fragOffset;
    this.tos = p.dscpEcn;
    return WireError.Ok;
  }

  /** Octets `emit()` writes: always 20 (we never emit options). */
  bufferLen(): number {
    return IPV4_HEADER_LEN;
  }

  /**
   * Writes a 20-octet header at `p.off`: version 4, IHL 5, totalLen = 20 + payloadLen, and the
   * checksum when `checksum` (else the field is 0). The view must have room for 20 octets;
   * `p.len` is not changed.
   */
  emit(p: Ipv4Packet, checksum: boolean): void {
    const b = p.bytes;
    const o = p.off;
    b[o + VER_IHL] = 0x45;
    b[o + DSCP_ECN] = this.tos;
    set16(b, o + TOTAL_LEN, IPV4_HEADER_LEN + this.payloadLen);
    set16(b, o + IDENT, this.ident);
    set16(b, o + FLAGS_FRAG,
      (this.dontFrag ? FLAG_DF << 8 : 0) | (this.moreFrags ? FLAG_MF << 8 : 0) | ((this.fragOffset >>> 3) & 0x1fff));
    b[o + TTL] = this.ttl;
    b[o + PROTOCOL] = this.protocol;
    set16(b, o + CHECKSUM, 0);
    set32(b, o + SRC_ADDR, this.src);
    set32(b, o + DST_ADDR, this.dst);
    if (checksum) set16(b, o + CHECKSUM, internetChecksum(b, o, IPV4_HEADER_LEN));
  }
}





/**
 * Parses dotted-quad text ("192.0.2.2") into a signed int32 address. Configuration time only.
 * @throws RangeError when the text is not four decimal numbers 0..255 separated by dots
 */
export function ipv4Address(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  let addr = 0;
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(part) || Number(part) > 255) {
      throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
    }
    addr = (addr << 8) | Number(part);
  }
  return addr | 0;
}

/** Formats a (signed or unsigned) 32-bit address as dotted-quad text. Configuration and UI only. */
export function formatIpv4(addr: number): string {
  return `${(addr >>> 24) & 0xff}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}
