/**
 * Van Jacobson TCP/IP header compression (RFC 1144), the "C" of CSLIP: a compressor for the
 * frames a link sends and a decompressor for the frames it receives, each with its own table of
 * connection slots (16, as Linux `slhc` keeps for SLIP).
 *
 * A frame on a compressing link is one of three types, told apart by its first octet (RFC 1144
 * §3.2, Linux `slhc_vj.h`):
 * - TYPE_IP (0x4X): an ordinary IPv4 packet, passed untouched (anything that is not a
 *   compressible TCP segment: other protocols, fragments, SYN, FIN, RST, segments without ACK).
 * - UNCOMPRESSED_TCP (0x7X): the whole TCP/IP packet, with 0x70 or-ed into the first octet and the
 *   connection slot in place of the IP protocol field; it (re)loads the receiver's saved header.
 * - COMPRESSED_TCP (0x8X and up): a change mask, maybe the slot number, the TCP checksum and
 *   the deltas against the saved header (3 to 16 octets instead of 40 or more; 4 or more as
 *   this compressor sends them by default, see `VjConnectionId`), then the data.
 *
 * Both directions work in place on a pool slot (absolute offsets into one `bytes` array): the
 * compressor writes the short header over the end of the full one and moves the frame's start
 * forward; the decompressor rebuilds the full header in front of the data, in the slot's
 * headroom when there is enough of it (`VJ_HEADROOM`), else by moving the data. Saved headers
 * live in one fixed table per direction. No allocation per packet; nothing thrown: malformed
 * input is counted and answered with a code.
 *
 * Error recovery (RFC 1144 §4): the decompressor starts in, and after any damaged or lost frame
 * (`frameError()`, or a compressed frame it cannot apply) enters, the "toss" state, in which it
 * discards COMPRESSED_TCP frames until one names its connection explicitly (C bit) or an
 * UNCOMPRESSED_TCP frame arrives. The compressor sends a segment uncompressed whenever it may be
 * a retransmission (nothing changed, or a sequence number went backwards), so the receiver's
 * saved header is refreshed exactly when TCP recovers from a loss.
 *
 * Stricter than the RFC's sample code in one place: a segment whose TCP flags other than PSH
 * and URG differ from the saved header's (ECE, CWR, reserved bits) is sent uncompressed, since
 * the compressed format cannot carry them.
 */
import { checksum } from '../wire/checksum.ts';
import { IpProtocol } from '../wire/ipv4.ts';
import { TcpFlag } from '../wire/tcp.ts';
import { get16, get32, set16, set32 } from '../wire/view.ts';

/** Connection slots per direction (Linux `slhc_init(16, 16)` for SLIP). */
export const VJ_SLOTS = 16;
/** Longest TCP/IP header a slot saves: 60 octets of IPv4 and 60 of TCP, options included. */
export const VJ_MAX_HEADER_LEN = 120;
/**
 * Pool headroom that lets the decompressor rebuild any header in front of the data without
 * moving it: the longest header less the shortest compressed one (3 octets), rounded up.
 */
export const VJ_HEADROOM = 128;
/** Longest compressed header: mask, slot, checksum, and five 3-octet deltas. */
export const VJ_MAX_COMPRESSED_LEN = 1 + 1 + 2 + 5 * 3;

/** Frame types, the first octet's high bits (RFC 1144 §3.2; Linux `SL_TYPE_*`). */
export const VjType = {
  Ip: 0x40,
  UncompressedTcp: 0x70,
  CompressedTcp: 0x80,
} as const;

/** Change-mask bits of a COMPRESSED_TCP frame (RFC 1144 §3.2.2, figure 5). */
export const VjChange = {
  /** The connection number follows. */
  C: 0x40,
  /** IP ID changed by other than 1: its delta follows. */
  I: 0x20,
  /** The TCP PSH flag. */
  P: 0x10,
  /** Sequence number delta follows. */
  S: 0x08,
  /** Acknowledgment number delta follows. */
  A: 0x04,
  /** Window delta follows. */
  W: 0x02,
  /** URG set: the urgent pointer follows. */
  U: 0x01,
} as const;

/** S+W+U, a combination real traffic never has: echoed terminal traffic (seq and ack both advance by the last data length). */
export const VJ_SPECIAL_I = VjChange.S | VjChange.W | VjChange.U;
/** S+A+W+U: unidirectional data (seq advances by the last data length). */
export const VJ_SPECIAL_D = VjChange.S | VjChange.A | VjChange.W | VjChange.U;
const SPECIALS_MASK = VjChange.S | VjChange.A | VjChange.W | VjChange.U;

/**
 * When a COMPRESSED_TCP frame names its connection (the C bit and the slot number), which RFC
 * 1144 §3.2.3 allows whenever, and requires when the connection differs from the last frame's:
 * - 'when-changed': only then, as the RFC's sample code and Linux `slhc` do (3-octet headers for
 *   SPECIAL_D and SPECIAL_I);
 * - 'unless-shortest' (the default): also when the header would otherwise be 3 octets. Debian's
 *   slirp 1.0.17 (amd64) fails the TCP checksum of every 3-octet-header packet it decompresses
 *   (measured here: 17 of 18 in a chargen stream, and none once they carry the connection), and
 *   the extra octet costs a bulk stream 0.4 % at MTU 296;
 * - 'always'.
 */
export type VjConnectionId = 'when-changed' | 'unless-shortest' | 'always';

/** What `VjDecompressor.decompress` did with a frame. */
export const VjResult = {
  /** The frame now holds a plain IPv4 packet at `outOff`, `outLen` octets: pass it on. */
  Deliver: 0,
  /** Discarded in the toss state (counted in `tossed`): free the slot. */
  Tossed: 1,
  /** Malformed or refers to unknown state (counted in `errors`; the toss state begins): free the slot. */
  Error: 2,
  /** A valid frame whose rebuilt packet does not fit the slot (counted in `noRoom`): free the slot. */
  NoRoom: 3,
} as const;

/** Compressor counters (Linux `sls_o_*`). */
export interface VjCompressorStats {
  /** COMPRESSED_TCP frames sent. */
  compressed: number;
  /** UNCOMPRESSED_TCP frames sent (a new or changed connection, a likely retransmission). */
  uncompressed: number;
  /** TCP segments sent as TYPE_IP (SYN, FIN, RST, no ACK, fragments, odd lengths). */
  tcpAsIs: number;
  /** Non-TCP packets sent as TYPE_IP. */
  notTcp: number;
  /** Slot look-ups for compressible segments. */
  searches: number;
  /** Look-ups that found no slot for the connection (the least recently used one was taken). */
  misses: number;
}

/** Decompressor counters (Linux `sls_i_*`). */
export interface VjDecompressorStats {
  /** COMPRESSED_TCP frames rebuilt. */
  compressed: number;
  /** UNCOMPRESSED_TCP frames taken. */
  uncompressed: number;
  /** TYPE_IP frames passed through. */
  ip: number;
  /** Frames rejected: truncated, bad IP header checksum, unknown or out-of-range slot. */
  errors: number;
  /** COMPRESSED_TCP frames discarded in the toss state (RFC 1144 §4.3). */
  tossed: number;
  /** Frames whose rebuilt packet did not fit the slot. */
  noRoom: number;
}

// IPv4 (RFC 791) and TCP (RFC 9293) field offsets, from the start of each header.
const IP_VER_IHL = 0;
const IP_TOS = 1;
const IP_TOTAL_LEN = 2;
const IP_IDENT = 4;
const IP_FLAGS_FRAG = 6;
const IP_TTL = 8;
const IP_PROTOCOL = 9;
const IP_CHECKSUM = 10;
const IP_SRC = 12;
const IP_DST = 16;
const TCP_PORTS = 0;
const TCP_SEQ = 4;
const TCP_ACK = 8;
const TCP_DATA_OFFSET = 12;
const TCP_FLAGS = 13;
const TCP_WINDOW = 14;
const TCP_CHECKSUM = 16;
const TCP_URGENT = 18;
/** The fragment offset and MF: a packet with either set is a fragment. */
const FRAGMENT_MASK = 0x3fff;
/** Flags the compressed format carries (P bit, U bit); the rest must match the saved header. */
const CARRIED_FLAGS = TcpFlag.Psh | TcpFlag.Urg;

/** Octets per saved-header slot (VJ_MAX_HEADER_LEN rounded up to a multiple of 8). */
const SLOT_STRIDE = 128;

/**
 * Writes `value` (0..0xffff) in RFC 1144's variable-length form into `dst[at..]`: 1..255 as one
 * octet, anything else as 0 followed by the 16-bit value, MSB first ("decimal 15 is encoded as
 * hex 0f, 255 as ff, 65534 as 00 ff fe, and zero as 00 00 00", §3.2.2). Returns the octets written.
 */
export function vjEncodeDelta(dst: Uint8Array, at: number, value: number): number {
  if (value >= 1 && value <= 255) {
    dst[at] = value;
    return 1;
  }
  dst[at] = 0;
  dst[at + 1] = value >>> 8;
  dst[at + 2] = value;
  return 3;
}

/** The saved headers of one direction: 16 slots of up to 120 octets, with their lengths. */
class SlotTable {
  readonly bytes: Uint8Array;
  /** Per slot: saved header length in octets (IP + TCP), 0 when the slot holds nothing. */
  readonly headerLen: Uint8Array;
  /** Per slot: the IP header's length in octets. */
  readonly ipLen: Uint8Array;

  constructor(slots: number) {
    this.bytes = new Uint8Array(slots * SLOT_STRIDE);
    this.headerLen = new Uint8Array(slots);
    this.ipLen = new Uint8Array(slots);
  }

  /** Offset in `bytes` of slot `s`. */
  base(s: number): number {
    return s * SLOT_STRIDE;
  }

  /** Saves the header `src[off .. off + headerLen)` in slot `s`. */
  save(s: number, src: Uint8Array, off: number, ipLen: number, headerLen: number): void {
    const dst = this.bytes;
    const base = s * SLOT_STRIDE;
    for (let i = 0; i < headerLen; i++) dst[base + i] = src[off + i]!;
    this.headerLen[s] = headerLen;
    this.ipLen[s] = ipLen;
  }

  clear(): void {
    this.headerLen.fill(0);
    this.ipLen.fill(0);
  }
}

/**
 * The sending half: turns TCP/IP packets into UNCOMPRESSED_TCP or COMPRESSED_TCP frames, in
 * place, and leaves everything else as TYPE_IP.
 */
export class VjCompressor {
  readonly stats: VjCompressorStats = { compressed: 0, uncompressed: 0, tcpAsIs: 0, notTcp: 0, searches: 0, misses: 0 };
  /** After `compress`: where the frame now starts (absolute offset) and its length. */
  outOff = 0;
  outLen = 0;
  /** When the compressed header may leave out the connection number (`VjConnectionId`). */
  connectionId: VjConnectionId;

  private readonly table: SlotTable;
  /** Slot numbers, most recently used first; the last is taken on a miss (so slot 0 first, as Linux). */
  private readonly lru: Uint8Array;
  /** The slot named by the last COMPRESSED or UNCOMPRESSED frame sent; -1 before the first. */
  private lastSent = -1;
  /** The compressed header, built here before it is written over the packet's header. */
  private readonly scratch = new Uint8Array(VJ_MAX_COMPRESSED_LEN);

  constructor(slots = VJ_SLOTS, connectionId: VjConnectionId = 'unless-shortest') {
    if (!Number.isInteger(slots) || slots < 1 || slots > 256) throw new RangeError(`VjCompressor: slots must be 1..256, got ${slots}`);
    this.table = new SlotTable(slots);
    this.lru = new Uint8Array(slots);
    this.resetOrder();
    this.connectionId = connectionId;
  }

  /** Forgets every connection (after the line was re-established, say). */
  reset(): void {
    this.table.clear();
    this.resetOrder();
    this.lastSent = -1;
  }

  private resetOrder(): void {
    const n = this.lru.length;
    for (let i = 0; i < n; i++) this.lru[i] = n - 1 - i;
  }

  /**
   * Compresses the IPv4 packet `bytes[off .. off + len)` in place and returns its frame type
   * (`VjType`); the frame is then `bytes[outOff .. outOff + outLen)`. A COMPRESSED_TCP frame
   * starts later than the packet did; the other two start where it did.
   */
  compress(bytes: Uint8Array, off: number, len: number): number {
    this.outOff = off;
    this.outLen = len;
    const ipLen = this.candidate(bytes, off, len);
    if (ipLen === 0) return VjType.Ip;
    const tcp = off + ipLen;
    const tcpLen = (bytes[tcp + TCP_DATA_OFFSET]! >>> 4) << 2;
    const headerLen = ipLen + tcpLen;
    const flags = bytes[tcp + TCP_FLAGS]!;

    // Find the connection's slot (addresses and ports), most recently used first; on a miss
    // take the least recently used one and send the header whole.
    this.stats.searches++;
    const table = this.table;
    const saved = table.bytes;
    const src = get32(bytes, off + IP_SRC);
    const dst = get32(bytes, off + IP_DST);
    const ports = get32(bytes, tcp + TCP_PORTS);
    const lru = this.lru;
    let pos = 0;
    let s = -1;
    for (; pos < lru.length; pos++) {
      const k = lru[pos]!;
      if (table.headerLen[k] === 0) continue;
      const b = table.base(k);
      if (get32(saved, b + IP_SRC) === src && get32(saved, b + IP_DST) === dst && get32(saved, b + table.ipLen[k]! + TCP_PORTS) === ports) {
        s = k;
        break;
      }
    }
    const miss = s < 0;
    if (miss) {
      this.stats.misses++;
      pos = lru.length - 1;
      s = lru[pos]!;
    }
    for (let i = pos; i > 0; i--) lru[i] = lru[i - 1]!;
    lru[0] = s;
    if (miss || table.headerLen[s] !== headerLen || table.ipLen[s] !== ipLen) {
      return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
    }

    // Everything that does not travel in a compressed header must be as saved: version, IHL,
    // TOS, DF, TTL, options of both headers, and the TCP flags other than PSH and URG.
    const b = table.base(s);
    const savedTcp = b + ipLen;
    if (bytes[off + IP_VER_IHL] !== saved[b + IP_VER_IHL] || bytes[off + IP_TOS] !== saved[b + IP_TOS]
      || get16(bytes, off + IP_FLAGS_FRAG) !== get16(saved, b + IP_FLAGS_FRAG) || bytes[off + IP_TTL] !== saved[b + IP_TTL]
      || bytes[tcp + TCP_DATA_OFFSET] !== saved[savedTcp + TCP_DATA_OFFSET]
      || (flags & ~CARRIED_FLAGS) !== (saved[savedTcp + TCP_FLAGS]! & ~CARRIED_FLAGS)) {
      return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
    }
    for (let i = 20; i < ipLen; i++) {
      if (bytes[off + i] !== saved[b + i]) return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
    }
    for (let i = 20; i < tcpLen; i++) {
      if (bytes[tcp + i] !== saved[savedTcp + i]) return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
    }

    // The deltas, in the order they travel: U, W, A, S (then I).
    const out = this.scratch;
    const DELTAS = 4; // mask, slot, checksum come first
    let n = DELTAS;
    let changes = 0;
    const urgent = get16(bytes, tcp + TCP_URGENT);
    if ((flags & TcpFlag.Urg) !== 0) {
      n += vjEncodeDelta(out, n, urgent);
      changes |= VjChange.U;
    } else if (urgent !== get16(saved, savedTcp + TCP_URGENT)) {
      // URG clear yet the pointer moved: legal, not expressible (RFC 1144 §3.2.3).
      return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
    }
    const window = (get16(bytes, tcp + TCP_WINDOW) - get16(saved, savedTcp + TCP_WINDOW)) & 0xffff;
    if (window !== 0) {
      n += vjEncodeDelta(out, n, window);
      changes |= VjChange.W;
    }
    const ack = (get32(bytes, tcp + TCP_ACK) - get32(saved, savedTcp + TCP_ACK)) >>> 0;
    if (ack !== 0) {
      // Negative (backwards) or 64K and more: send it whole.
      if (ack > 0xffff) return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
      n += vjEncodeDelta(out, n, ack);
      changes |= VjChange.A;
    }
    const seq = (get32(bytes, tcp + TCP_SEQ) - get32(saved, savedTcp + TCP_SEQ)) >>> 0;
    if (seq !== 0) {
      if (seq > 0xffff) return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
      n += vjEncodeDelta(out, n, seq);
      changes |= VjChange.S;
    }
    const savedTotal = get16(saved, b + IP_TOTAL_LEN);
    const lastDataLen = savedTotal - headerLen;
    const savedUrgent = (saved[savedTcp + TCP_FLAGS]! & TcpFlag.Urg) !== 0;
    switch (changes) {
      case 0:
        // Nothing moved. Data after a pure ACK is the interactive case: compress it. Anything
        // else is a retransmission, a repeated ACK or a window probe: send it whole, in case
        // the receiver missed the compressed original (RFC 1144 §3.2.3).
        if (len !== savedTotal && lastDataLen === 0) break;
        return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
      case VJ_SPECIAL_I:
      case VJ_SPECIAL_D:
        // Real changes that look like a special case: not expressible, send it whole.
        return this.sendUncompressed(bytes, off, ipLen, headerLen, s);
      case VjChange.S | VjChange.A:
        // Echoed terminal traffic: both advance by the last segment's data. (The special cases
        // keep the saved URG flag at the receiver, so they cannot follow an urgent segment.)
        if (seq === ack && seq === lastDataLen && !savedUrgent) {
          changes = VJ_SPECIAL_I;
          n = DELTAS;
        }
        break;
      case VjChange.S:
        // Unidirectional data: the sequence number advances by the last segment's data.
        if (seq === lastDataLen && !savedUrgent) {
          changes = VJ_SPECIAL_D;
          n = DELTAS;
        }
        break;
    }
    const ident = (get16(bytes, off + IP_IDENT) - get16(saved, b + IP_IDENT)) & 0xffff;
    if (ident !== 1) {
      n += vjEncodeDelta(out, n, ident);
      changes |= VjChange.I;
    }
    if ((flags & TcpFlag.Psh) !== 0) changes |= VjChange.P;

    // The packet's header becomes the saved one; the compressed header is written over its tail.
    const check = get16(bytes, tcp + TCP_CHECKSUM);
    table.save(s, bytes, off, ipLen, headerLen);
    const deltaLen = n - DELTAS;
    const mode = this.connectionId;
    const explicit = mode === 'always' || this.lastSent !== s || (mode === 'unless-shortest' && deltaLen === 0);
    const compressedLen = (explicit ? 4 : 3) + deltaLen;
    let at = off + headerLen - compressedLen;
    this.outOff = at;
    this.outLen = len - headerLen + compressedLen;
    bytes[at++] = VjType.CompressedTcp | changes | (explicit ? VjChange.C : 0);
    if (explicit) bytes[at++] = s;
    bytes[at++] = check >>> 8;
    bytes[at++] = check;
    for (let i = DELTAS; i < n; i++) bytes[at++] = out[i]!;
    this.lastSent = s;
    this.stats.compressed++;
    return VjType.CompressedTcp;
  }

  /**
   * True when the packet would be compressed or sent as UNCOMPRESSED_TCP, without touching the
   * saved headers (a sender that must send it whole asks, to count it); else counted as `compress`
   * counts it.
   */
  isCandidate(bytes: Uint8Array, off: number, len: number): boolean {
    return this.candidate(bytes, off, len) !== 0;
  }

  /**
   * RFC 1144 §3.2.3: only whole, well-formed TCP/IP packets of the IPv4 kind with ACK set and no
   * SYN, FIN or RST are candidates. Returns the IP header's length, or 0 (counted in `notTcp` or
   * `tcpAsIs`) when the packet goes as it is.
   */
  private candidate(bytes: Uint8Array, off: number, len: number): number {
    if (len < 20 || bytes[off + IP_VER_IHL]! >>> 4 !== 4 || bytes[off + IP_PROTOCOL] !== IpProtocol.Tcp) {
      this.stats.notTcp++;
      return 0;
    }
    const ipLen = (bytes[off + IP_VER_IHL]! & 0x0f) << 2;
    if (ipLen < 20 || (get16(bytes, off + IP_FLAGS_FRAG) & FRAGMENT_MASK) !== 0 || len < ipLen + 20 || get16(bytes, off + IP_TOTAL_LEN) !== len) {
      this.stats.tcpAsIs++;
      return 0;
    }
    const tcp = off + ipLen;
    const tcpLen = (bytes[tcp + TCP_DATA_OFFSET]! >>> 4) << 2;
    const flags = bytes[tcp + TCP_FLAGS]!;
    // Connection set-up and tear-down go as they are: SYN, FIN, RST, or no ACK.
    if (tcpLen < 20 || ipLen + tcpLen > len || (flags & (TcpFlag.Syn | TcpFlag.Fin | TcpFlag.Rst)) !== 0 || (flags & TcpFlag.Ack) === 0) {
      this.stats.tcpAsIs++;
      return 0;
    }
    return ipLen;
  }

  /** Saves the header in slot `s` and marks the packet UNCOMPRESSED_TCP, naming the slot in its protocol field. */
  private sendUncompressed(bytes: Uint8Array, off: number, ipLen: number, headerLen: number, s: number): number {
    this.table.save(s, bytes, off, ipLen, headerLen);
    bytes[off + IP_PROTOCOL] = s;
    bytes[off + IP_VER_IHL] = bytes[off + IP_VER_IHL]! | VjType.UncompressedTcp;
    this.lastSent = s;
    this.stats.uncompressed++;
    return VjType.UncompressedTcp;
  }
}

/**
 * The receiving half: turns UNCOMPRESSED_TCP and COMPRESSED_TCP frames back into IPv4 packets,
 * in place, and passes TYPE_IP frames through.
 */
export class VjDecompressor {
  readonly stats: VjDecompressorStats = { compressed: 0, uncompressed: 0, ip: 0, errors: 0, tossed: 0, noRoom: 0 };
  /** After `decompress` returned Deliver: where the packet starts (absolute offset) and its length. */
  outOff = 0;
  outLen = 0;
  /** True while compressed frames without an explicit connection number are discarded (RFC 1144 §4.3). */
  tossing = true;

  private readonly table: SlotTable;
  /** The slot of the last frame received (explicitly or implicitly named); -1 before any. */
  private current = -1;
  /** Read position while parsing a compressed header. */
  private at = 0;

  constructor(slots = VJ_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 256) throw new RangeError(`VjDecompressor: slots must be 1..256, got ${slots}`);
    this.table = new SlotTable(slots);
  }

  /** Forgets every connection and starts tossing, as at start-up. */
  reset(): void {
    this.table.clear();
    this.current = -1;
    this.tossing = true;
  }

  /**
   * The framing layer lost or damaged a frame (RFC 1144's TYPE_ERROR pseudo-frame): compressed
   * frames are tossed until one names its connection or an uncompressed one arrives.
   */
  frameError(): void {
    this.tossing = true;
  }

  /**
   * Decompresses the frame `bytes[off .. off + len)` in place and returns a `VjResult`. The
   * rebuilt packet may start before `off` (down to `floor`, the start of the slot's headroom)
   * or, when there is not enough room there, the data is moved towards `limit` (the end of the
   * slot). After `Deliver`, the packet is `bytes[outOff .. outOff + outLen)`.
   */
  decompress(bytes: Uint8Array, off: number, len: number, floor: number, limit: number): number {
    this.outOff = off;
    this.outLen = len;
    const first = len > 0 ? bytes[off]! : 0;
    if ((first & VjType.CompressedTcp) !== 0) return this.compressed(bytes, off, len, floor, limit);
    if (first >= VjType.UncompressedTcp) return this.uncompressed(bytes, off, len);
    this.stats.ip++;
    return VjResult.Deliver;
  }

  private fail(): number {
    this.stats.errors++;
    this.tossing = true;
    return VjResult.Error;
  }

  /** UNCOMPRESSED_TCP: restore the version and protocol octets, check the packet, save its header (Linux `slhc_remember`). */
  private uncompressed(bytes: Uint8Array, off: number, len: number): number {
    // 0x7X back to 0x4X: the low nibble (IHL) is untouched.
    bytes[off] = bytes[off]! & 0x4f;
    if (len < 40) return this.fail();
    const ipLen = (bytes[off + IP_VER_IHL]! & 0x0f) << 2;
    if (ipLen < 20 || len < ipLen + 20) return this.fail();
    const s = bytes[off + IP_PROTOCOL]!;
    bytes[off + IP_PROTOCOL] = IpProtocol.Tcp;
    // The sender computed the IP checksum with the protocol in place: it must verify now.
    if (checksum(bytes, off, ipLen) !== 0) return this.fail();
    const tcpLen = (bytes[off + ipLen + TCP_DATA_OFFSET]! >>> 4) << 2;
    if (tcpLen < 20 || len < ipLen + tcpLen) return this.fail();
    if (s >= this.table.headerLen.length) return this.fail();
    this.table.save(s, bytes, off, ipLen, ipLen + tcpLen);
    this.current = s;
    this.tossing = false;
    this.stats.uncompressed++;
    return VjResult.Deliver;
  }

  /** Reads one RFC 1144 delta at `this.at`, or returns -1 when the frame ends first. */
  private delta(bytes: Uint8Array, end: number): number {
    const at = this.at;
    if (at >= end) return -1;
    const first = bytes[at]!;
    if (first !== 0) {
      this.at = at + 1;
      return first;
    }
    if (at + 3 > end) return -1;
    this.at = at + 3;
    return (bytes[at + 1]! << 8) | bytes[at + 2]!;
  }

  /** COMPRESSED_TCP: apply the deltas to the saved header and put it back in front of the data (Linux `slhc_uncompress`). */
  private compressed(bytes: Uint8Array, off: number, len: number, floor: number, limit: number): number {
    const end = off + len;
    const changes = bytes[off]!;
    this.at = off + 1;
    const table = this.table;
    if ((changes & VjChange.C) !== 0) {
      // An explicit connection number: it must name a slot that holds a header. It ends the toss state.
      if (this.at >= end) return this.fail();
      const s = bytes[this.at++]!;
      if (s >= table.headerLen.length || table.headerLen[s] === 0) return this.fail();
      this.current = s;
      this.tossing = false;
    } else if (this.tossing) {
      // RFC 1144 §4.3: after an error, an implicit connection cannot be trusted.
      this.stats.tossed++;
      return VjResult.Tossed;
    }
    const s = this.current;
    if (s < 0 || table.headerLen[s] === 0) return this.fail();
    if (this.at + 2 > end) return this.fail();
    const saved = table.bytes;
    const b = table.base(s);
    const ipLen = table.ipLen[s]!;
    const headerLen = table.headerLen[s]!;
    const tcp = b + ipLen;
    // Work on copies of the fields and write them back only once the whole header has parsed,
    // so a truncated frame leaves the saved header as it was.
    const check = get16(bytes, this.at);
    this.at += 2;
    let flags = saved[tcp + TCP_FLAGS]!;
    flags = (changes & VjChange.P) !== 0 ? flags | TcpFlag.Psh : flags & ~TcpFlag.Psh;
    let seq = get32(saved, tcp + TCP_SEQ);
    let ack = get32(saved, tcp + TCP_ACK);
    let window = get16(saved, tcp + TCP_WINDOW);
    let urgent = get16(saved, tcp + TCP_URGENT);
    const lastDataLen = get16(saved, b + IP_TOTAL_LEN) - headerLen;
    switch (changes & SPECIALS_MASK) {
      case VJ_SPECIAL_I:
        seq = (seq + lastDataLen) | 0;
        ack = (ack + lastDataLen) | 0;
        break;
      case VJ_SPECIAL_D:
        seq = (seq + lastDataLen) | 0;
        break;
      default: {
        if ((changes & VjChange.U) !== 0) {
          flags |= TcpFlag.Urg;
          const u = this.delta(bytes, end);
          if (u < 0) return this.fail();
          urgent = u;
        } else flags &= ~TcpFlag.Urg;
        if ((changes & VjChange.W) !== 0) {
          const w = this.delta(bytes, end);
          if (w < 0) return this.fail();
          window = (window + w) & 0xffff;
        }
        if ((changes & VjChange.A) !== 0) {
          const a = this.delta(bytes, end);
          if (a < 0) return this.fail();
          ack = (ack + a) | 0;
        }
        if ((changes & VjChange.S) !== 0) {
          const d = this.delta(bytes, end);
          if (d < 0) return this.fail();
          seq = (seq + d) | 0;
        }
      }
    }
    let ident = get16(saved, b + IP_IDENT);
    if ((changes & VjChange.I) !== 0) {
      const i = this.delta(bytes, end);
      if (i < 0) return this.fail();
      ident = (ident + i) & 0xffff;
    } else ident = (ident + 1) & 0xffff;

    const dataOff = this.at;
    const dataLen = end - dataOff;
    const totalLen = headerLen + dataLen;
    if (totalLen > 0xffff) return this.fail();
    // The saved header becomes this packet's header.
    set16(saved, tcp + TCP_CHECKSUM, check);
    saved[tcp + TCP_FLAGS] = flags;
    set32(saved, tcp + TCP_SEQ, seq);
    set32(saved, tcp + TCP_ACK, ack);
    set16(saved, tcp + TCP_WINDOW, window);
    set16(saved, tcp + TCP_URGENT, urgent);
    set16(saved, b + IP_IDENT, ident);
    set16(saved, b + IP_TOTAL_LEN, totalLen);
    set16(saved, b + IP_CHECKSUM, 0);
    set16(saved, b + IP_CHECKSUM, checksum(saved, b, ipLen));
    this.stats.compressed++;

    // Put it in front of the data: in the headroom when it fits, else move the data up.
    const growth = headerLen - (dataOff - off);
    let start = off - growth;
    if (start < floor) {
      if (off + totalLen > limit) {
        this.stats.noRoom++;
        return VjResult.NoRoom;
      }
      bytes.copyWithin(off + headerLen, dataOff, end);
      start = off;
    }
    for (let i = 0; i < headerLen; i++) bytes[start + i] = saved[b + i]!;
    this.outOff = start;
    this.outLen = totalLen;
    return VjResult.Deliver;
  }
}
