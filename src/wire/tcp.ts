/**
 * TCP header and options (RFC 9293 §3.1, RFC 7323, RFC 2018): a view, a Repr, and sequence
 * arithmetic.
 *
 * `TcpPacket` is a lossless window on a segment (`len` = the IPv4 payload length; TCP has no
 * length field of its own). `TcpRepr.parse()` checks the data offset against `len` before it
 * reads anything else, then the checksum over the pseudo-header, then the flags, then walks the
 * options; it returns a `WireError` code and never throws. Options are decoded into fixed
 * fields (SACK blocks into two Int32Arrays), so parse and emit allocate nothing.
 *
 * Sequence numbers are kept as int32 (`| 0`); compare them only with the `seq*` helpers, which
 * work modulo 2^32 (RFC 9293 §3.4).
 */

import { copyBytes } from '../storage/copy.ts';
import { fold, pseudoHeaderSum, sumWords } from './checksum.ts';
import { WireError } from './error.ts';
import { IpProtocol } from './ipv4.ts';
import { PortsView, get16, set16, get32, set32 } from './view.ts';

/** Length of a TCP header without options, in octets. */
export const TCP_HEADER_LEN = 20;

/** Most option octets this stack emits (RFC 9293 §3.1: data offset 15 allows 40). */
const MAX_OPTIONS_LEN = 40;

/** Control bits, the octet at offset 13 (RFC 9293 §3.1; ECE and CWR from RFC 3168). */
export const TcpFlag = { Fin: 1, Syn: 2, Rst: 4, Psh: 8, Ack: 16, Urg: 32, Ece: 64, Cwr: 128 } as const;

/** Option kinds (RFC 9293 §3.2, RFC 7323 §2-3, RFC 2018 §2-3). */
export const TcpOption = { End: 0, Nop: 1, Mss: 2, WindowScale: 3, SackPermitted: 4, Sack: 5, Timestamp: 8 } as const;

/** Largest window shift (RFC 7323 §2.3); larger received values are used as 14. */
export const TCP_MAX_WINDOW_SCALE = 14;

/** SACK blocks a Repr holds (RFC 2018 §3: at most 4 fit in 40 option octets). */
export const TCP_MAX_SACK_BLOCKS = 4;

// Field offsets, in octets from the start of the header (RFC 9293 §3.1).
const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ_NUM = 4;
const ACK_NUM = 8;
const DATA_OFFSET = 12; // high nibble: header length in 32-bit words; low nibble reserved
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

// Option lengths, in octets including kind and length.
const MSS_LEN = 4;
const WINDOW_SCALE_LEN = 3;
const SACK_PERMITTED_LEN = 2;
const TIMESTAMP_LEN = 10;
const SACK_BLOCK_LEN = 8;

/** `(a + n) | 0`: sequence number `a` advanced by `n` octets, modulo 2^32, as int32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
}

/** `(a - b) | 0`: the signed distance from `b` to `a` modulo 2^32 (RFC 9293 §3.4). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a` comes before `b` modulo 2^32. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a` comes before or is `b` modulo 2^32. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a` comes after `b` modulo 2^32. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a` comes after or is `b` modulo 2^32. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** A view of a TCP segment inside `bytes[off .. off + len)`. */
export class TcpPacket extends PortsView {
  // Here `len` is: Length of the segment (header, options, payload), in octets.

  /**
   * `WireError.Ok` when the fixed header fits and 20 <= data offset * 4 <= `len`;
   * `Truncated` when the view is shorter than either; `BadHeaderLength` when the data offset
   * is below 5 (RFC 9293 §3.1).
   */
  checkLen(): number {
    if (this.len < TCP_HEADER_LEN) return WireError.Truncated;
    const headerLen = this.headerLen;
    if (headerLen < TCP_HEADER_LEN) return WireError.BadHeaderLength;
    if (headerLen > this.len) return WireError.Truncated;
    return WireError.Ok;
  }

  /** Sequence number, as int32. */
  get seqNumber(): number {
    return get32(this.bytes, this.off + SEQ_NUM);
  }
  set seqNumber(value: number) {
    set32(this.bytes, this.off + SEQ_NUM, value);
  }

  /** Acknowledgment number, as int32. */
  get ackNumber(): number {
    return get32(this.bytes, this.off + ACK_NUM);
  }
  set ackNumber(value: number) {
    set32(this.bytes, this.off + ACK_NUM, value);
  }

  /** Header length in octets, options included: the data offset field times 4 (20..60). */
  get headerLen(): number {
    return (this.bytes[this.off + DATA_OFFSET]! >>> 4) << 2;
  }
  set headerLen(octets: number) {
    const at = this.off + DATA_OFFSET;
    this.bytes[at] = (this.bytes[at]! & 0x0f) | (((octets >>> 2) & 0x0f) << 4);
  }

  /** The eight control bits (`TcpFlag`). */
  get flags(): number {
    return this.bytes[this.off + FLAGS]!;
  }
  set flags(value: number) {
    this.bytes[this.off + FLAGS] = value;
  }

  /** The raw 16-bit window field (unscaled). */
  get windowLen(): number {
    return get16(this.bytes, this.off + WINDOW);
  }
  set windowLen(value: number) {
    set16(this.bytes, this.off + WINDOW, value);
  }

  /** The checksum field as stored. */
  get checksum(): number {
    return get16(this.bytes, this.off + CHECKSUM);
  }
  set checksum(value: number) {
    set16(this.bytes, this.off + CHECKSUM, value);
  }

  /** The urgent pointer field. */
  get urgentAt(): number {
    return get16(this.bytes, this.off + URGENT);
  }
  set urgentAt(value: number) {
    set16(this.bytes, this.off + URGENT, value);
  }

  /** Absolute offset of the options: `off + 20`. */
  get optionsOff(): number {
    return this.off + TCP_HEADER_LEN;
  }

  /** Option octets: `headerLen - 20`. */
  get optionsLen(): number {
    return this.headerLen - TCP_HEADER_LEN;
  }

  /** Absolute offset of the payload: `off + headerLen`. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }

  /** Payload length in octets: `len - headerLen`. */
  get payloadLen(): number {
    return this.len - this.headerLen;
  }

  /** True when the checksum over the pseudo-header and all `len` octets verifies (RFC 9293 §3.1). */
  verifyChecksum(src: number, dst: number): boolean {
    const sum = sumWords(this.bytes, this.off, this.len, pseudoHeaderSum(src, dst, IpProtocol.Tcp, this.len));
    return fold(sum) === 0xffff;
  }

  /** Computes the checksum over the pseudo-header and all `len` octets and writes it. */
  fillChecksum(src: number, dst: number): void {
    this.checksum = 0;
    this.checksum = segmentChecksum(this.bytes, this.off, this.len, src, dst);
  }
}

function segmentChecksum(b: Uint8Array, off: number, len: number, src: number, dst: number): number {
  return ~fold(sumWords(b, off, len, pseudoHeaderSum(src, dst, IpProtocol.Tcp, len))) & 0xffff;
}

/** The meaning of a TCP header and its options. Create once, reuse; `clear()` before filling. */
export class TcpRepr {
  srcPort = 0;
  dstPort = 0;
  /** Sequence number, int32. */
  seq = 0;
  /** Acknowledgment number, int32 (meaningful with `TcpFlag.Ack`). */
  ack = 0;
  /** Control bits (`TcpFlag`). */
  flags = 0;
  /** The raw 16-bit window field, unscaled. */
  window = 0;
  /** Urgent pointer field. */
  urgent = 0;
  /** Maximum segment size option in octets; 0 = absent. */
  mss = 0;
  /** Window scale shift: -1 = absent, else 0..14 (RFC 7323 §2.3: a received value > 14 is used as 14). */
  windowScale = -1;
  /** SACK-permitted option present (RFC 2018 §2). */
  sackPermitted = false;
  /** Timestamps option present (RFC 7323 §3). */
  hasTimestamp = false;
  /** TSval, int32. */
  tsVal = 0;
  /** TSecr, int32. */
  tsEcr = 0;
  /** SACK blocks held in `sackLeft` / `sackRight`, 0..4. */
  sackCount = 0;
  /** Left edges of the SACK blocks (RFC 2018 §3), int32; first = most recent. */
  readonly sackLeft = new Int32Array(TCP_MAX_SACK_BLOCKS);
  /** Right edges of the SACK blocks (first sequence number after the block), int32. */
  readonly sackRight = new Int32Array(TCP_MAX_SACK_BLOCKS);
  /** Absolute offset of the payload in the parsed view's bytes (or in `srcBytes` for emit). */
  payloadOff = 0;
  /** Payload length in octets. */
  payloadLen = 0;

  /** Resets every field to its default (no options, no payload). */
  clear(): void {
    this.srcPort = 0;
    this.dstPort = 0;
    this.seq = 0;
    this.ack = 0;
    this.flags = 0;
    this.window = 0;
    this.urgent = 0;
    this.clearOptions();
    this.payloadOff = 0;
    this.payloadLen = 0;
  }

  private clearOptions(): void {
    this.mss = 0;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.sackLeft.fill(0);
    this.sackRight.fill(0);
  }

  /**
   * Validates and reads a segment of `p.len` octets, in this order:
   * 1. lengths: the fixed header fits, 20 <= data offset * 4 <= len (`Truncated`, `BadHeaderLength`);
   * 2. the checksum over the pseudo-header and the segment, when `checksum` (`BadChecksum`);
   * 3. flags: SYN with RST or FIN is `BadFlags` (no RFC 9293 state accepts either);
   * 4. options (`BadOption`): see below.
   *
   * Options (RFC 9293 §3.1-3.2): End stops the walk; Nop is one octet; every other option has a
   * length octet that must be >= 2 and stay inside the header (RFC 9293 §3.2: "MUST be prepared
   * to handle an illegal option length (e.g., zero)"). Known kinds must have their fixed length:
   * MSS 4, window scale 3, SACK-permitted 2, timestamps 10, SACK 2 + 8n with n 1..4. Unknown
   * kinds are skipped by their length (RFC 9293 §3.2, MUST-6). A repeated option overwrites.
   * An MSS of 0 reads as "absent".
   * @returns a `WireError` code; on anything but `Ok` the fields are unspecified
   */
  parse(p: TcpPacket, src: number, dst: number, checksum: boolean): number {
    const lenError = p.checkLen();
    if (lenError !== WireError.Ok) return lenError;
    if (checksum && !p.verifyChecksum(src, dst)) return WireError.BadChecksum;
    const flags = p.flags;
    if ((flags & TcpFlag.Syn) !== 0 && (flags & (TcpFlag.Rst | TcpFlag.Fin)) !== 0) return WireError.BadFlags;
    this.srcPort = p.srcPort;
    this.dstPort = p.dstPort;
    this.seq = p.seqNumber;
    this.ack = p.ackNumber;
    this.flags = flags;
    this.window = p.windowLen;
    this.urgent = p.urgentAt;
    const headerLen = p.headerLen;
    this.payloadOff = p.off + headerLen;
    this.payloadLen = p.len - headerLen;
    return this.parseOptions(p.bytes, p.off + TCP_HEADER_LEN, p.off + headerLen);
  }

  private parseOptions(b: Uint8Array, at: number, end: number): number {
    this.clearOptions();
    while (at < end) {
      const kind = b[at]!;
      if (kind === TcpOption.End) break; // RFC 9293 §3.2: end of the option list
      if (kind === TcpOption.Nop) {
        at++;
        continue;
      }
      if (at + 1 >= end) return WireError.BadOption; // no room for the length octet
      const optionLen = b[at + 1]!;
      if (optionLen < 2 || at + optionLen > end) return WireError.BadOption;
      switch (kind) {
        case TcpOption.Mss:
          if (optionLen !== MSS_LEN) return WireError.BadOption;
          this.mss = get16(b, at + 2);
          break;
        case TcpOption.WindowScale: {
          if (optionLen !== WINDOW_SCALE_LEN) return WireError.BadOption;
          // RFC 7323 §2.3: a shift above 14 is used as 14 (and may be logged).
          const shift = b[at + 2]!;
          this.windowScale = shift > TCP_MAX_WINDOW_SCALE ? TCP_MAX_WINDOW_SCALE : shift;
          break;
        }
        case TcpOption.SackPermitted:
          if (optionLen !== SACK_PERMITTED_LEN) return WireError.BadOption;
          this.sackPermitted = true;
          break;
        case TcpOption.Timestamp:
          if (optionLen !== TIMESTAMP_LEN) return WireError.BadOption;
          this.hasTimestamp = true;
          this.tsVal = get32(b, at + 2);
          this.tsEcr = get32(b, at + 6);
          break;
        case TcpOption.Sack: {
          // RFC 2018 §3: length 2 + 8n; 40 option octets leave room for at most 4 blocks.
          const blocksLen = optionLen - 2;
          if (blocksLen === 0 || blocksLen % SACK_BLOCK_LEN !== 0) return WireError.BadOption;
          const count = blocksLen / SACK_BLOCK_LEN;
          if (count > TCP_MAX_SACK_BLOCKS) return WireError.BadOption;
          for (let i = 0; i < count; i++) {
            this.sackLeft[i] = get32(b, at + 2 + i * SACK_BLOCK_LEN);
            this.sackRight[i] = get32(b, at + 6 + i * SACK_BLOCK_LEN);
          }
          this.sackCount = count;
          break;
        }
        default:
          break; // RFC 9293 §3.2 (MUST-6): ignore unknown options, skip by their length
      }
      at += optionLen;
    }
    return WireError.Ok;
  }

  /** Option octets before the SACK option. */
  private fixedOptionsLen(): number {
    let len = 0;
    if (this.mss !== 0) len += MSS_LEN;
    if (this.hasTimestamp) len += 12; // NOP NOP TS, or SACK-permitted TS
    else if (this.sackPermitted) len += 4; // NOP NOP SACK-permitted
    if (this.windowScale >= 0) len += 4; // NOP WS
    return len;
  }

  /** SACK blocks emit writes: `sackCount`, cut to what fits in 40 option octets. */
  private sackBlocksToEmit(fixedLen: number): number {
    if (this.sackCount <= 0) return 0;
    const room = ((MAX_OPTIONS_LEN - fixedLen - 4) / SACK_BLOCK_LEN) | 0; // NOP NOP SACK len
    const count = this.sackCount > TCP_MAX_SACK_BLOCKS ? TCP_MAX_SACK_BLOCKS : this.sackCount;
    return room < count ? (room > 0 ? room : 0) : count;
  }

  /**
   * Option octets `emit()` writes, a multiple of 4, at most 40. Layout (Linux's order, so a SYN
   * reads like one from Linux): MSS (4); SACK-permitted + timestamps (2 + 10) when both, else
   * NOP NOP timestamps (12) or NOP NOP SACK-permitted (4); NOP window scale (4); NOP NOP SACK
   * (4 + 8n). SACK blocks that do not fit are left off from the end (RFC 2018 §3: with
   * timestamps, 3 blocks fit).
   */
  optionsLen(): number {
    const fixedLen = this.fixedOptionsLen();
    const blocks = this.sackBlocksToEmit(fixedLen);
    return blocks > 0 ? fixedLen + 4 + blocks * SACK_BLOCK_LEN : fixedLen;
  }

  /** Header length `emit()` writes, in octets: 20 + `optionsLen()`. */
  headerLen(): number {
    return TCP_HEADER_LEN + this.optionsLen();
  }

  /** Octets `emit()` writes: `headerLen()` + payloadLen. */
  bufferLen(): number {
    return this.headerLen() + this.payloadLen;
  }

  /**
   * Writes the header and options at `p.off`; with `srcBytes`, copies `payloadLen` octets from
   * `srcBytes[payloadOff..]` to just after the header (skipped when that is the same place; an
   * overlapping range in the same buffer is moved correctly); with null, the payload must
   * already be after the header. Then the checksum over pseudo-header + `bufferLen()` octets
   * when `checksum`, else the field is 0. `p.len` is not changed; the view must have room for
   * `bufferLen()` octets.
   */
  emit(p: TcpPacket, src: number, dst: number, srcBytes: Uint8Array | null, checksum: boolean): void {
    const b = p.bytes;
    const o = p.off;
    const fixedLen = this.fixedOptionsLen();
    const blocks = this.sackBlocksToEmit(fixedLen);
    const optionsLen = blocks > 0 ? fixedLen + 4 + blocks * SACK_BLOCK_LEN : fixedLen;
    const headerLen = TCP_HEADER_LEN + optionsLen;
    // Payload first: the source may overlap where the header and options go.
    const payloadOff = o + headerLen;
    if (srcBytes !== null && (srcBytes !== b || this.payloadOff !== payloadOff)) {
      copyBytes(b, payloadOff, srcBytes, this.payloadOff, this.payloadLen);
    }
    set16(b, o + SRC_PORT, this.srcPort);
    set16(b, o + DST_PORT, this.dstPort);
    set32(b, o + SEQ_NUM, this.seq);
    set32(b, o + ACK_NUM, this.ack);
    b[o + DATA_OFFSET] = (headerLen >>> 2) << 4;
    b[o + FLAGS] = this.flags;
    set16(b, o + WINDOW, this.window);
    set16(b, o + CHECKSUM, 0);
    set16(b, o + URGENT, this.urgent);

    let at = o + TCP_HEADER_LEN;
    if (this.mss !== 0) {
      b[at] = TcpOption.Mss;
      b[at + 1] = MSS_LEN;
      set16(b, at + 2, this.mss);
      at += MSS_LEN;
    }
    if (this.hasTimestamp) {
      if (this.sackPermitted) {
        b[at] = TcpOption.SackPermitted;
        b[at + 1] = SACK_PERMITTED_LEN;
      } else {
        b[at] = TcpOption.Nop;
        b[at + 1] = TcpOption.Nop;
      }
      b[at + 2] = TcpOption.Timestamp;
      b[at + 3] = TIMESTAMP_LEN;
      set32(b, at + 4, this.tsVal);
      set32(b, at + 8, this.tsEcr);
      at += 12;
    } else if (this.sackPermitted) {
      b[at] = TcpOption.Nop;
      b[at + 1] = TcpOption.Nop;
      b[at + 2] = TcpOption.SackPermitted;
      b[at + 3] = SACK_PERMITTED_LEN;
      at += 4;
    }
    if (this.windowScale >= 0) {
      b[at] = TcpOption.Nop;
      b[at + 1] = TcpOption.WindowScale;
      b[at + 2] = WINDOW_SCALE_LEN;
      // RFC 7323 §2.3: never send a shift above 14.
      b[at + 3] = this.windowScale > TCP_MAX_WINDOW_SCALE ? TCP_MAX_WINDOW_SCALE : this.windowScale;
      at += 4;
    }
    if (blocks > 0) {
      b[at] = TcpOption.Nop;
      b[at + 1] = TcpOption.Nop;
      b[at + 2] = TcpOption.Sack;
      b[at + 3] = 2 + blocks * SACK_BLOCK_LEN;
      at += 4;
      for (let i = 0; i < blocks; i++) {
        set32(b, at, this.sackLeft[i]!);
        set32(b, at + 4, this.sackRight[i]!);
        at += SACK_BLOCK_LEN;
      }
    }

    if (checksum) set16(b, o + CHECKSUM, segmentChecksum(b, o, headerLen + this.payloadLen, src, dst));
  }
}




