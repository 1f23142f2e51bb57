/**
 * ICMPv4 messages (RFC 792): a view with one accessor per field, and a Repr.
 *
 * `Icmpv4Packet` is a lossless window on an ICMP message of `len` octets (the IPv4 payload); its
 * checksum covers the whole message. `Icmpv4Repr.parse()` checks the length first, then the
 * checksum, then the code of the types we know; it never throws and allocates nothing. Echo
 * payloads and quoted datagrams are not copied: the Repr records where they are
 * (`dataOff`, `dataLen`), and `emit()` copies them once, or not at all when an echo reply is
 * written over its own request.
 */

import { copyBytes } from '../storage/copy.ts';
import { checksum as internetChecksum } from './checksum.ts';
import { WireError } from './error.ts';
import { WireView, get16, set16 } from './view.ts';

/** ICMP message types we know (RFC 792). */
export const Icmpv4Type = { EchoReply: 0, DestUnreachable: 3, EchoRequest: 8, TimeExceeded: 11 } as const;

/** Codes of Destination Unreachable (RFC 792; 4 is RFC 1191's "fragmentation needed and DF set"). */
export const Icmpv4Unreachable = {
  NetUnreachable: 0, HostUnreachable: 1, ProtoUnreachable: 2, PortUnreachable: 3, FragRequired: 4,
} as const;

/** Length of the fixed ICMP header (type, code, checksum, 4 octets of rest-of-header), in octets. */
export const ICMPV4_HEADER_LEN = 8;

// Field offsets, in octets from the start of the message (RFC 792).
const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const ECHO_IDENT = 4;
const ECHO_SEQ_NO = 6;
const UNUSED = 4; // Destination Unreachable and Time Exceeded: 4 octets zero (first 2 with FragRequired)
const NEXT_HOP_MTU = 6; // RFC 1191 §4: Destination Unreachable, code 4

/** Highest Destination Unreachable code assigned (RFC 1812 §5.2.7.1: 0..15). */
const MAX_UNREACHABLE_CODE = 15;
/** Time Exceeded codes: 0 TTL exceeded in transit, 1 fragment reassembly time exceeded. */
const MAX_TIME_EXCEEDED_CODE = 1;

/** A view of an ICMPv4 message inside `bytes[off .. off + len)`. */
export class Icmpv4Packet extends WireView {
  // Here `len` is: Length of the whole message (header and data), in octets.

  /** `WireError.Ok` when the 8-octet header fits, else `Truncated`. */
  checkLen(): number {
    return this.len < ICMPV4_HEADER_LEN ? WireError.Truncated : WireError.Ok;
  }

  /** Message type (`Icmpv4Type`). */
  get msgType(): number {
    return this.bytes[this.off + TYPE]!;
  }
  set msgType(value: number) {
    this.bytes[this.off + TYPE] = value;
  }

  /** Message code (for Destination Unreachable, `Icmpv4Unreachable`). */
  get msgCode(): number {
    return this.bytes[this.off + CODE]!;
  }
  set msgCode(value: number) {
    this.bytes[this.off + CODE] = value;
  }

  /** The checksum field as stored. */
  get checksum(): number {
    return get16(this.bytes, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    set16(this.bytes, this.off + CHECKSUM, value);
  }

  /** Echo identifier (octets 4-5). */
  get ident(): number {
    return get16(this.bytes, this.off + ECHO_IDENT);
  }
  set ident(value: number) {
    set16(this.bytes, this.off + ECHO_IDENT, value);
  }

  /** Echo sequence number (octets 6-7). */
  get seqNo(): number {
    return get16(this.bytes, this.off + ECHO_SEQ_NO);
  }
  set seqNo(value: number) {
    set16(this.bytes, this.off + ECHO_SEQ_NO, value);
  }

  /** Next-hop MTU in octets of a "fragmentation needed" message (octets 6-7, RFC 1191 §4). */
  get nextHopMtu(): number {
    return get16(this.bytes, this.off + NEXT_HOP_MTU);
  }
  set nextHopMtu(octets: number) {
    set16(this.bytes, this.off + NEXT_HOP_MTU, octets);
  }

  /** Absolute offset of the data (echo payload or quoted datagram): `off + 8`. */
  get dataOff(): number {
    return this.off + ICMPV4_HEADER_LEN;
  }

  /** Data length in octets: `len - 8`. */
  get dataLen(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }

  /** True when the checksum over the whole `len` octets verifies (RFC 792). */
  verifyChecksum(): boolean {
    return internetChecksum(this.bytes, this.off, this.len) === 0;
  }

  /** Computes the checksum over the whole `len` octets and writes it. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, this.off, this.len);
  }
}

/** The meaning of an ICMPv4 message. Create once, reuse. */
export class Icmpv4Repr {
  /** Message type (`Icmpv4Type`); other values pass through parse unchanged. */
  type = 0;
  code = 0;
  /** Echo identifier (echo request and reply only, else 0). */
  ident = 0;
  /** Echo sequence number (echo request and reply only, else 0). */
  seqNo = 0;
  /** Next-hop MTU in octets (Destination Unreachable / FragRequired only, else 0). */
  nextHopMtu = 0;
  /** Absolute offset of the echo payload or quoted datagram in the parsed (or source) bytes. */
  dataOff = 0;
  /** Length of the echo payload or quoted datagram, in octets. */
  dataLen = 0;

  /**
   * Validates and reads a message: length >= 8 first, then the checksum (if `checksum`), then
   * the code of known types (echo: 0; Destination Unreachable: 0..15; Time Exceeded: 0..1),
   * else `Unsupported`. Unknown types parse Ok with `type` and `code` set, `ident`/`seqNo` 0, and
   * the data after the 8-octet header (RFC 1122 §3.2.2: unknown types are silently discarded,
   * which is the caller's decision). The quoted datagram of an error is not checked here.
   * @returns a `WireError` code
   */
  parse(p: Icmpv4Packet, checksum: boolean): number {
    const lenError = p.checkLen();
    if (lenError !== WireError.Ok) return lenError;
    if (checksum && !p.verifyChecksum()) return WireError.BadChecksum;
    const type = p.msgType;
    const code = p.msgCode;
    this.type = type;
    this.code = code;
    this.ident = 0;
    this.seqNo = 0;
    this.nextHopMtu = 0;
    this.dataOff = p.dataOff;
    this.dataLen = p.dataLen;
    switch (type) {
      case Icmpv4Type.EchoRequest:
      case Icmpv4Type.EchoReply:
        // RFC 792, Echo or Echo Reply Message: code 0; identifier and sequence number.
        if (code !== 0) return WireError.Unsupported;
        this.ident = p.ident;
        this.seqNo = p.seqNo;
        break;
      case Icmpv4Type.DestUnreachable:
        if (code > MAX_UNREACHABLE_CODE) return WireError.Unsupported;
        // RFC 1191 §4: the next-hop MTU rides in the low 16 bits of the unused field.
        if (code === Icmpv4Unreachable.FragRequired) this.nextHopMtu = p.nextHopMtu;
        break;
      case Icmpv4Type.TimeExceeded:
        if (code > MAX_TIME_EXCEEDED_CODE) return WireError.Unsupported;
        break;
      default:
        break;
    }
    return WireError.Ok;
  }

  /** Octets `emit()` writes: 8 + dataLen. */
  bufferLen(): number {
    return ICMPV4_HEADER_LEN + this.dataLen;
  }

  /**
   * Writes the 8-octet header at `p.off` (echo: ident and seqNo; Destination Unreachable:
   * nextHopMtu in octets 6-7, 0 unless FragRequired; otherwise zeros), copies `dataLen`
   * octets from `srcBytes[dataOff..]` to `p.dataOff` (no copy when that is the same place, as
   * for a reply written over its request; overlapping ranges in one buffer are fine), then the
   * checksum over `8 + dataLen` octets when `checksum` (else the field is 0). `p.len` is not
   * changed; the view must have room for `bufferLen()` octets.
   */
  emit(p: Icmpv4Packet, srcBytes: Uint8Array, checksum: boolean): void {
    const b = p.bytes;
    const o = p.off;
    // Data first: the source may overlap where the header goes (a reply moved within a slot).
    const dataOff = o + ICMPV4_HEADER_LEN;
    if (srcBytes !== b || this.dataOff !== dataOff) copyBytes(b, dataOff, srcBytes, this.dataOff, this.dataLen);
    b[o + TYPE] = this.type;
    b[o + CODE] = this.code;
    set16(b, o + CHECKSUM, 0);
    if (this.type === Icmpv4Type.EchoRequest || this.type === Icmpv4Type.EchoReply) {
      set16(b, o + ECHO_IDENT, this.ident);
      set16(b, o + ECHO_SEQ_NO, this.seqNo);
    } else {
      set16(b, o + UNUSED, 0);
      set16(b, o + NEXT_HOP_MTU, this.type === Icmpv4Type.DestUnreachable ? this.nextHopMtu : 0);
    }
    if (checksum) set16(b, o + CHECKSUM, internetChecksum(b, o, ICMPV4_HEADER_LEN + this.dataLen));
  }
}


