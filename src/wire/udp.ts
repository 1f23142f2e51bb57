/**
 * UDP header (RFC 768): a view with one accessor per field, and a Repr.
 *
 * `UdpPacket` is a lossless window on a UDP datagram (`len` = the IPv4 payload length). The
 * `length` field, not `len`, bounds the datagram; `UdpRepr.parse()` checks it first (8 <=
 * length <= len) and only then reads ports or verifies the checksum. The checksum covers the
 * IPv4 pseudo-header; 0 means "not computed" (RFC 768). Nothing here throws or allocates.
 */

import { copyBytes } from '../storage/copy.ts';
import { fold, pseudoHeaderSum, sumWords } from './checksum.ts';
import { WireError } from './error.ts';
import { IpProtocol } from './ipv4.ts';
import { PortsView, get16, set16 } from './view.ts';

/** Length of the UDP header, in octets. */
export const UDP_HEADER_LEN = 8;

// Field offsets, in octets from the start of the header (RFC 768).
const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

/** A view of a UDP datagram inside `bytes[off .. off + len)`. */
export class UdpPacket extends PortsView {
  // Here `len` is: Octets available to the view (the IPv4 payload length).

  /**
   * `WireError.Ok` when the header fits and 8 <= `length` <= `len`; `Truncated` when the view is
   * shorter than the header or than `length`; `BadLength` when `length` < 8.
   */
  checkLen(): number {
    if (this.len < UDP_HEADER_LEN) return WireError.Truncated;
    const length = this.length;
    if (length < UDP_HEADER_LEN) return WireError.BadLength;
    if (length > this.len) return WireError.Truncated;
    return WireError.Ok;
  }

  /** The length field: header plus data, in octets. */
  get length(): number {
    return get16(this.bytes, this.off + LENGTH);
  }
  set length(octets: number) {
    set16(this.bytes, this.off + LENGTH, octets);
  }

  /** The checksum field as stored (0 = not computed by the sender). */
  get checksum(): number {
    return get16(this.bytes, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    set16(this.bytes, this.off + CHECKSUM, value);
  }

  /** Absolute offset of the payload: `off + 8`. */
  get payloadOff(): number {
    return this.off + UDP_HEADER_LEN;
  }

  /** Payload length in octets: `length - 8`. */
  get payloadLen(): number {
    return this.length - UDP_HEADER_LEN;
  }

  /**
   * True when the checksum over the pseudo-header and `length` octets verifies, or when the
   * field is 0 (RFC 768: "all zero ... means that the transmitter generated no checksum").
   * @param src  IPv4 source address (int32)
   * @param dst  IPv4 destination address (int32)
   */
  verifyChecksum(src: number, dst: number): boolean {
    if (this.checksum === 0) return true;
    const length = this.length;
    const sum = sumWords(this.bytes, this.off, length, pseudoHeaderSum(src, dst, IpProtocol.Udp, length));
    return fold(sum) === 0xffff;
  }

  /**
   * Computes the checksum over the pseudo-header and `length` octets and writes it; a computed
   * 0 is sent as 0xffff (RFC 768: "all ones" stands for zero, since 0 means no checksum).
   */
  fillChecksum(src: number, dst: number): void {
    this.checksum = 0;
    const length = this.length;
    const sum = sumWords(this.bytes, this.off, length, pseudoHeaderSum(src, dst, IpProtocol.Udp, length));
    const check = ~fold(sum) & 0xffff;
    this.checksum = check === 0 ? 0xffff : check;
  }
}

/** The meaning of a UDP header. Create once, reuse. */
export class UdpRepr {
  srcPort = 0;
  dstPort = 0;
  /** Absolute offset of the payload in the parsed view's bytes (or in `srcBytes` for emit). */
  payloadOff = 0;
  /** Payload length in octets. */
  payloadLen = 0;

  /**
   * Validates and reads a datagram: the header fits, 8 <= length field <= view length, then the
   * checksum (if `checksum` and the field is not 0). Octets past the length field are ignored.
   * @returns a `WireError` code
   */
  parse(p: UdpPacket, src: number, dst: number, checksum: boolean): number {
    const lenError = p.checkLen();
    if (lenError !== WireError.Ok) return lenError;
    if (checksum && !p.verifyChecksum(src, dst)) return WireError.BadChecksum;
    this.srcPort = p.srcPort;
    this.dstPort = p.dstPort;
    this.payloadOff = p.payloadOff;
    this.payloadLen = p.payloadLen;
    return WireError.Ok;
  }

  /** Octets `emit()` writes: 8 + payloadLen. */
  bufferLen(): number {
    return UDP_HEADER_LEN + this.payloadLen;
  }

  /**
   * Writes the header at `p.off` with length = 8 + payloadLen. With `srcBytes`, first copies
   * `payloadLen` octets from `srcBytes[payloadOff..]` to `p.payloadOff` (skipped when that is
   * the same place); with null, the payload must already be there. Then the checksum when
   * `checksum`, else the field is 0. `p.len` is not changed.
   */
  emit(p: UdpPacket, src: number, dst: number, srcBytes: Uint8Array | null, checksum: boolean): void {
    const b = p.bytes;
    const o = p.off;
    // Payload first: the source may overlap where the header goes.
    const payloadOff = o + UDP_HEADER_LEN;
    if (srcBytes !== null && (srcBytes !== b || this.payloadOff !== payloadOff)) {
      copyBytes(b, payloadOff, srcBytes, this.payloadOff, this.payloadLen);
    }
    set16(b, o + SRC_PORT, this.srcPort);
    set16(b, o + DST_PORT, this.dstPort);
    set16(b, o + LENGTH, UDP_HEADER_LEN + this.payloadLen);
    set16(b, o + CHECKSUM, 0);
    if (checksum) p.fillChecksum(src, dst);
  }
}


