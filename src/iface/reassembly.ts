/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815) in a fixed number of fixed-size buffers.
 *
 * A datagram being reassembled is keyed by (source, destination, protocol, identification)
 * and lives in one buffer: a 20-octet header followed by the payload at its fragment offset.
 * Received ranges are tracked by an Assembler. A fragment that partly overlaps data already
 * held makes the whole datagram suspect, so it is dropped (RFC 5722's rule, applied to IPv4 as
 * Linux does since FragmentSmack); a fragment wholly inside data already held is a duplicate and
 * is ignored. A datagram that outgrows its buffer, or is not complete within the timeout
 * (RFC 791 suggests 15 s), is freed and counted. No buffer free means the fragment is dropped.
 */
import { Assembler } from '../storage/assembler.ts';
import { copyBytes } from '../storage/copy.ts';
import { NEVER } from '../time.ts';

export interface ReassemblyStats {
  /** Fragments accepted into a buffer. */
  fragments: number;
  /** Datagrams completed. */
  reassembled: number;
  /** Datagrams freed because the timeout expired. */
  timeout: number;
  /** Datagrams dropped because fragments overlapped. */
  overlap: number;
  /** Duplicate fragments ignored. */
  duplicate: number;
  /** Fragments dropped because their datagram would not fit a buffer (the datagram is freed). */
  tooBig: number;
  /** Fragments dropped because every buffer was busy. */
  noBuffer: number;
  /** Datagrams dropped because the holes outnumbered what a buffer tracks. */
  tooManyHoles: number;
}

/** Octets in front of the payload in each buffer: room for a rebuilt 20-octet header. */
export const REASSEMBLY_HEADER_LEN = 20;

export class Reassembler {
  /** All buffers, `count` × `size` octets. */
  readonly bytes: Uint8Array;
  readonly count: number;
  /** Octets per buffer, header included: the largest datagram that can be reassembled. */
  readonly size: number;
  readonly timeoutMs: number;
  readonly stats: ReassemblyStats = {
    fragments: 0, reassembled: 0, timeout: 0, overlap: 0, duplicate: 0, tooBig: 0, noBuffer: 0, tooManyHoles: 0,
  };

  private readonly active: Uint8Array;
  private readonly src: Int32Array;
  private readonly dst: Int32Array;
  private readonly protocol: Int32Array;
  private readonly ident: Int32Array;
  private readonly ttl: Int32Array;
  /** Payload length once the last fragment (MF = 0) arrived, else -1. */
  private readonly total: Int32Array;
  private readonly deadline: Float64Array;
  private readonly ranges: Assembler[];

  constructor(count: number, size: number, timeoutMs: number) {
    this.count = count;
    this.size = (size + 3) & ~3;
    this.timeoutMs = timeoutMs;
    this.bytes = new Uint8Array(count * this.size);
    this.active = new Uint8Array(count);
    this.src = new Int32Array(count);
    this.dst = new Int32Array(count);
    this.protocol = new Int32Array(count);
    this.ident = new Int32Array(count);
    this.ttl = new Int32Array(count);
    this.total = new Int32Array(count);
    this.deadline = new Float64Array(count);
    this.ranges = [];
    // A datagram of `size` octets in 8-octet fragments has at most size/16 holes; 16 is plenty for real traffic.
    for (let i = 0; i < count; i++) this.ranges.push(new Assembler(16));
  }

  /** Offset in `bytes` where buffer `i`'s datagram (header first) begins. */
  datagramOff(i: number): number {
    return i * this.size;
  }

  /** Length of buffer `i`'s completed datagram, header included. */
  datagramLen(i: number): number {
    return REASSEMBLY_HEADER_LEN + this.total[i]!;
  }

  /** Buffers in use. */
  get used(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += this.active[i]!;
    return n;
  }

  /**
   * Adds one fragment: `payloadLen` octets at `src[payloadOff..]`, at `fragOffset` octets into the
   * datagram, `moreFrags` as in its header. Returns the index of a buffer whose datagram is now
   * complete (its header rebuilt: total length set, no fragment fields, checksum left 0), or -1.
   * The caller must `release()` a completed buffer when done with it.
   */
  add(
    now: number, srcAddr: number, dstAddr: number, protocol: number, ident: number, ttl: number,
    fragOffset: number, moreFrags: boolean, src: Uint8Array, payloadOff: number, payloadLen: number,
  ): number {
    let i = this.find(srcAddr, dstAddr, protocol, ident);
    if (i < 0) {
      i = this.claim(now, srcAddr, dstAddr, protocol, ident, ttl);
      if (i < 0) {
        this.stats.noBuffer++;
        return -1;
      }
    }
    const end = fragOffset + payloadLen;
    if (REASSEMBLY_HEADER_LEN + end > this.size) {
      this.stats.tooBig++;
      this.release(i);
      return -1;
    }
    // RFC 791: the fragment with MF = 0 fixes the total length; a second, different one is nonsense.
    const total = this.total[i]!;
    if ((!moreFrags && total >= 0 && total !== end) || (total >= 0 && end > total)) {
      this.stats.overlap++;
      this.release(i);
      return -1;
    }
    // Non-last fragments carry a multiple of 8 octets (RFC 791); anything else is malformed.
    if (moreFrags && (payloadLen & 7) !== 0) {
      this.stats.overlap++;
      this.release(i);
      return -1;
    }
    const ranges = this.ranges[i]!;
    const held = ranges.rangeCount;
    if (!moreFrags && held > 0 && ranges.rangeEnd(held - 1) > end) {
      this.stats.overlap++;
      this.release(i);
      return -1;
    }
    for (let r = 0; r < ranges.rangeCount; r++) {
      const s = ranges.rangeStart(r);
      const e = ranges.rangeEnd(r);
      if (fragOffset >= s && end <= e) {
        this.stats.duplicate++;
        return -1;
      }
      if (fragOffset < e && end > s) {
        this.stats.overlap++;
        this.release(i);
        return -1;
      }
    }
    if (!ranges.add(fragOffset, end)) {
      this.stats.tooManyHoles++;
      this.release(i);
      return -1;
    }
    this.stats.fragments++;
    copyBytes(this.bytes, this.datagramOff(i) + REASSEMBLY_HEADER_LEN + fragOffset, src, payloadOff, payloadLen);
    if (!moreFrags) this.total[i] = end;
    const t = this.total[i]!;
    if (t >= 0 && ranges.rangeCount === 1 && ranges.rangeStart(0) === 0 && ranges.rangeEnd(0) === t) {
      this.writeHeader(i);
      this.stats.reassembled++;
      return i;
    }
    return -1;
  }

  /** Frees buffer `i`. */
  release(i: number): void {
    this.active[i] = 0;
    this.ranges[i]!.clear();
  }

  /** Frees every datagram whose deadline has passed (counted as timeouts). */
  expire(now: number): void {
    for (let i = 0; i < this.count; i++) {
      if (this.active[i] === 1 && now >= this.deadline[i]!) {
        this.stats.timeout++;
        this.release(i);
      }
    }
  }

  /** The earliest reassembly deadline, or NEVER. */
  pollAt(): number {
    let t = NEVER;
    for (let i = 0; i < this.count; i++) {
      if (this.active[i] === 1 && this.deadline[i]! < t) t = this.deadline[i]!;
    }
    return t;
  }

  private find(srcAddr: number, dstAddr: number, protocol: number, ident: number): number {
    for (let i = 0; i < this.count; i++) {
      if (this.active[i] === 1 && this.ident[i] === ident && this.src[i] === srcAddr &&
          this.dst[i] === dstAddr && this.protocol[i] === protocol) return i;
    }
    return -1;
  }

  private claim(now: number, srcAddr: number, dstAddr: number, protocol: number, ident: number, ttl: number): number {
    for (let i = 0; i < this.count; i++) {
      if (this.active[i] === 0) {
        this.active[i] = 1;
        this.src[i] = srcAddr;
        this.dst[i] = dstAddr;
        this.protocol[i] = protocol;
        this.ident[i] = ident;
        this.ttl[i] = ttl;
        this.total[i] = -1;
        // RFC 791 §3.2: the timer is set when the first fragment arrives and not restarted.
        this.deadline[i] = now + this.timeoutMs;
        this.ranges[i]!.clear();
        return i;
      }
    }
    return -1;
  }

  /** Rebuilds a plain 20-octet header in front of the payload (checksum 0; the caller re-parses it). */
  private writeHeader(i: number): void {
    const b = this.bytes;
    const o = this.datagramOff(i);
    const totalLen = REASSEMBLY_HEADER_LEN + this.total[i]!;
    b[o] = 0x45;
    b[o + 1] = 0;
    b[o + 2] = totalLen >>> 8;
    b[o + 3] = totalLen;
    b[o + 4] = this.ident[i]! >>> 8;
    b[o + 5] = this.ident[i]!;
    b[o + 6] = 0;
    b[o + 7] = 0;
    b[o + 8] = this.ttl[i]!;
    b[o + 9] = this.protocol[i]!;
    b[o + 10] = 0;
    b[o + 11] = 0;
    const s = this.src[i]!;
    const d = this.dst[i]!;
    b[o + 12] = s >>> 24; b[o + 13] = s >>> 16; b[o + 14] = s >>> 8; b[o + 15] = s;
    b[o + 16] = d >>> 24; b[o + 17] = d >>> 16; b[o + 18] = d >>> 8; b[o + 19] = d;
  }
}
