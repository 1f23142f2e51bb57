/**
 * SLIP framing (RFC 1055), pure and allocation-free.
 *
 * `slipEncode` writes END, the escaped frame, END into a caller buffer. `SlipDecoder` is a byte
 * state machine that decodes arbitrary chunks straight into a target the caller hands in (a pool
 * slot), carrying a half-read escape or frame across calls, so it does not care where a serial
 * driver splits its reads. It holds no frame memory of its own.
 *
 * Promises: no allocation per frame or per octet once warm (the whole-buffer views it indexes
 * through are made once per ArrayBuffer, on its first use, and cached by storage/views.ts, so
 * switching between buffers allocates nothing), nothing thrown on bad input: every irregularity
 * is a counter in `SlipDecoder.stats`.
 *
 * Fast path: a run of ordinary octets is found and copied eight octets per step: two 32-bit words
 * are read, tested for an END or ESC octet with a SWAR "has byte" test, and stored as words. This
 * replaces the `indexOf(END)` / `indexOf(ESC)` plus copy scheme: on Node 20 `indexOf` on a
 * Uint8Array is a scalar loop (~2.3 GB/s per searched value, unbounded past the run), and a copy
 * between two ArrayBuffers without `subarray` is a loop too, so one fused, bounded pass that looks
 * for both specials while copying is the fastest allocation-free option measured.
 */
import { wholeViews } from '../storage/views.ts';

const EMPTY = wholeViews(new ArrayBuffer(0));

/** Frame end (RFC 1055 "END", 0300 octal). */
export const SLIP_END = 0xc0;
/** Escape (RFC 1055 "ESC", 0333 octal). */
export const SLIP_ESC = 0xdb;
/** After ESC: stands for a data octet equal to END (RFC 1055 "ESC_END", 0334 octal). */
export const SLIP_ESC_END = 0xdc;
/** After ESC: stands for a data octet equal to ESC (RFC 1055 "ESC_ESC", 0335 octal). */
export const SLIP_ESC_ESC = 0xdd;

// SWAR constants as int32 so the JIT keeps every step in 32-bit registers.
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const END_X4 = 0xc0c0c0c0 | 0;
const ESC_X4 = 0xdbdbdbdb | 0;
/** Below this many octets a run is copied by a byte loop: a `copyWithin` call costs ~25 ns. */
const COPY_WITHIN_MIN = 24;
/** Below this many octets a run between two buffers is copied by the byte loop alone. */
const WORD_COPY_MIN = 16;

/** Worst case encoded size of a frame of `len` octets: every octet escaped plus two ENDs, 2 * len + 2. */
export function slipEncodedMaxLen(len: number): number {
  return 2 * len + 2;
}

/**
 * Views over one whole ArrayBuffer (octets, aligned 32-bit words, DataView), pointed at the
 * caller's buffer per call; the views themselves come from storage/views.ts and are made once
 * per buffer. Indices into them are absolute: `array.byteOffset + index`.
 */
class BufferViews {
  buffer: ArrayBufferLike | null = null;
  bytes: Uint8Array = EMPTY.bytes;
  words: Int32Array = EMPTY.int32;
  view: DataView = EMPTY.data;

  /** Points the views at `array.buffer` (never allocates after a buffer's first use). */
  of(array: Uint8Array): this {
    const buffer = array.buffer;
    if (buffer !== this.buffer) {
      const v = wholeViews(buffer);
      this.buffer = buffer;
      this.bytes = v.bytes;
      this.words = v.int32;
      this.view = v.data;
    }
    return this;
  }
}

/**
 * Index of the first END or ESC octet in `bytes[i..end)`, or `end`. `bytes` and `words` view one
 * whole buffer, so word `k` is octets `4k..4k+3`; whole words are tested eight octets per step
 * with the SWAR "has byte" test and nothing at or past `end` is read.
 */
function findSpecial(bytes: Uint8Array, words: Int32Array, i: number, end: number): number {
  // Octets up to a word boundary.
  while ((i & 3) !== 0) {
    if (i === end) return end;
    const octet = bytes[i]!;
    if (octet === SLIP_END || octet === SLIP_ESC) return i;
    i++;
  }
  let k = i >> 2;
  const kEnd = (end >> 2) - 1;
  while (k < kEnd) {
    const w = words[k]!;
    const v = words[k + 1]!;
    // A word holds octet c iff (word ^ c*0x01010101) has a zero octet; "has a zero octet" is the
    // classic (x - 0x01..) & ~x & 0x80.. test, exact as to whether one exists.
    const a = w ^ END_X4, b = w ^ ESC_X4, c = v ^ END_X4, d = v ^ ESC_X4;
    if ((((a - ONES) & ~a) | ((b - ONES) & ~b) | ((c - ONES) & ~c) | ((d - ONES) & ~d)) & HIGHS) break;
    k += 2;
  }
  i = k << 2;
  while (i < end) {
    const octet = bytes[i]!;
    if (octet === SLIP_END || octet === SLIP_ESC) return i;
    i++;
  }
  return end;
}

/**
 * Copies `len` octets inside one buffer (`bytes` views all of it) from `from` to `to`; the
 * ranges do not overlap. Long runs are one `copyWithin` (memmove), short ones a byte loop.
 */
function copyInside(bytes: Uint8Array, to: number, from: number, len: number): void {
  if (len >= COPY_WITHIN_MIN) {
    bytes.copyWithin(to, from, from + len);
    return;
  }
  for (let k = 0; k < len; k++) bytes[to + k] = bytes[from + k]!;
}

/**
 * Between two buffers: copies octets from `src[i..limit)` to `dst[j..]` until the first END or
 * ESC octet; returns the index of that octet, or `limit` when the run reaches it. Indices are
 * absolute in the whole-buffer views. Eight octets per step: two words are read, tested with the
 * SWAR "has byte" test, and stored as words (DataView: the destination may be misaligned).
 * Never reads at or past `limit`.
 */
function copyRunAcross(src: BufferViews, i: number, limit: number, dst: BufferViews, j: number): number {
  const srcBytes = src.bytes, dstBytes = dst.bytes;
  if (limit - i >= WORD_COPY_MIN) {
    const srcView = src.view, dstView = dst.view;
    const limit8 = limit - 7;
    while (i < limit8) {
      const w = srcView.getInt32(i, true);
      const v = srcView.getInt32(i + 4, true);
      const a = w ^ END_X4, b = w ^ ESC_X4, c = v ^ END_X4, d = v ^ ESC_X4;
      if ((((a - ONES) & ~a) | ((b - ONES) & ~b) | ((c - ONES) & ~c) | ((d - ONES) & ~d)) & HIGHS) break;
      dstView.setInt32(j, w, true);
      dstView.setInt32(j + 4, v, true);
      i += 8;
      j += 8;
    }
  }
  while (i < limit) {
    const octet = srcBytes[i]!;
    if (octet === SLIP_END || octet === SLIP_ESC) return i;
    dstBytes[j++] = octet;
    i++;
  }
  return i;
}

/**
 * Copies the run of ordinary octets `src[i..limit)` up to the first END or ESC into `dst[j..]`
 * (absolute indices in whole-buffer views) and returns where it stopped. Inside one buffer (an
 * arena) the run is found by `findSpecial` and moved by `copyWithin`; across two it is the
 * fused word loop.
 */
function copyRun(src: BufferViews, i: number, limit: number, dst: BufferViews, j: number): number {
  if (src.buffer !== dst.buffer) return copyRunAcross(src, i, limit, dst, j);
  const stop = findSpecial(src.bytes, src.words, i, limit);
  copyInside(src.bytes, j, i, stop - i);
  return stop;
}

/**
 * A SLIP encoder holding its source and destination views; encoding between the same two
 * buffers (a pool and a TX buffer or link ring) does not even look them up again. Each
 * SlipDevice owns one; `slipEncode` uses a shared instance, which re-points its views from the
 * storage/views.ts cache when consecutive calls switch buffers (a lookup, not an allocation).
 * Fastest when source and destination share one ArrayBuffer (an Arena): runs between special
 * octets are then found eight octets per step and moved with `copyWithin`.
 */
export class SlipEncoder {
  private readonly srcViews = new BufferViews();
  private readonly dstViews = new BufferViews();

  /**
   * Encodes END, the escaped octets `src[off..off+len)`, END into `dst[dstOff..]` and returns the
   * number of octets written. `dst` must have room for `slipEncodedMaxLen(len)` octets from
   * `dstOff`. A zero-length frame encodes as END END (which decoders ignore).
   */
  encode(src: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
    const s = this.srcViews.of(src);
    const d = this.dstViews.of(dst);
    const out = d.bytes;
    const srcBase = src.byteOffset;
    const start = dst.byteOffset + dstOff;
    let j = start;
    // RFC 1055: send an END first so line noise before the frame ends up in a frame of its own,
    // which the receiver discards (Linux does the same).
    out[j++] = SLIP_END;
    const end = srcBase + off + len;
    let i = srcBase + off;
    const inBytes = s.bytes;
    while (i < end) {
      const stop = copyRun(s, i, end, d, j);
      j += stop - i;
      i = stop;
      if (i === end) break;
      // RFC 1055: a data END goes out as ESC ESC_END, a data ESC as ESC ESC_ESC.
      out[j++] = SLIP_ESC;
      out[j++] = inBytes[i++] === SLIP_END ? SLIP_ESC_END : SLIP_ESC_ESC;
    }
    // RFC 1055: END closes the frame.
    out[j++] = SLIP_END;
    return j - start;
  }
}

const sharedEncoder = new SlipEncoder();

/**
 * Encodes END, the escaped octets `src[off..off+len)`, END into `dst[dstOff..]` and returns the
 * number of octets written. `dst` must have room for `slipEncodedMaxLen(len)` octets from
 * `dstOff`. Uses a shared SlipEncoder; allocation-free whichever buffers it is given.
 */
export function slipEncode(src: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
  return sharedEncoder.encode(src, off, len, dst, dstOff);
}

/** What the decoder saw, lwIP `slipif` / Linux `sl` style. All counts are frames. */
export interface SlipDecoderStats {
  /** Good frames delivered (longer than 2 octets). */
  frames: number;
  /** END END: a frame with no octets, ignored. Includes the END a sender puts before each frame. */
  empty: number;
  /** Frames of 1 or 2 octets, ignored: Linux SLIP drops them too (no IPv4 packet is that short). */
  runt: number;
  /** Frames longer than the target's capacity, dropped up to the next END. */
  oversize: number;
  /** ESC followed by something other than ESC_END / ESC_ESC: the frame is dropped up to the next END. */
  badEscape: number;
}

const MODE_IDLE = 0; // after an END: the next non-END octet starts a frame
const MODE_FRAME = 1; // collecting a frame into the target
const MODE_DISCARD = 2; // dropping octets up to and including the next END

/**
 * Decodes a SLIP octet stream, chunk by chunk, into caller-provided memory.
 *
 * Protocol: call `decode()` with whatever arrived; it returns how many octets it consumed and
 * stops early in two cases:
 * - `frameReady`: a frame of `frameLen` octets (> 2) is complete in the target. The decoder has
 *   then let go of the target; the caller takes the frame and, when the next frame starts,
 *   supplies a new target.
 * - `needTarget`: a frame starts and no target is set. The caller either calls `setTarget()`
 *   (for example with a freshly allocated pool slot) or `discardFrame()` (no memory), then calls
 *   `decode()` again with the rest of the chunk.
 * A target that only received ignored frames (empty, runt, oversize, bad escape) stays set and is
 * reused. Both flags are cleared by the next `decode()` call.
 */
export class SlipDecoder {
  readonly stats: SlipDecoderStats = { frames: 0, empty: 0, runt: 0, oversize: 0, badEscape: 0 };
  /** True after a decode() call that completed a frame; `frameLen` is its length in octets. */
  frameReady = false;
  /** Length in octets of the frame just completed (valid while `frameReady`). */
  frameLen = 0;
  /** True after a decode() call that stopped at the first octet of a frame for want of a target. */
  needTarget = false;

  private target: Uint8Array | null = null;
  private targetOff = 0;
  private targetCap = 0;
  /** Octets of the current frame written to the target so far. */
  private count = 0;
  private mode = MODE_IDLE;
  /** The previous octet was ESC (possibly at the end of the previous chunk). */
  private escaped = false;
  private readonly srcViews = new BufferViews();
  private readonly dstViews = new BufferViews();

  /** True while a target is set. */
  get hasTarget(): boolean {
    return this.target !== null;
  }

  /**
   * Sets where the next frame's octets go: up to `capacity` octets at `dst[dstOff..]`. Call it
   * between frames (initially, or after `frameReady` / `needTarget`). Resets nothing else.
   */
  setTarget(dst: Uint8Array, dstOff: number, capacity: number): void {
    this.target = dst;
    this.targetOff = dstOff;
    this.targetCap = capacity;
  }

  /** Forgets the target (the caller keeps whatever memory it was); a frame in progress is discarded. */
  clearTarget(): void {
    this.target = null;
    if (this.mode === MODE_FRAME) this.mode = MODE_DISCARD;
    this.count = 0;
  }

  /** Drops the frame that is starting or in progress up to the next END, without counting it (the caller counts why). */
  discardFrame(): void {
    this.mode = MODE_DISCARD;
    this.escaped = false;
    this.count = 0;
    this.needTarget = false;
  }

  /** Discards any partial frame (after a link error, say) and waits for the next frame. The target stays set. */
  reset(): void {
    this.mode = MODE_IDLE;
    this.escaped = false;
    this.count = 0;
    this.frameReady = false;
    this.needTarget = false;
  }

  /**
   * Decodes `src[off..off+len)` until a frame completes (`frameReady`), a frame starts without a
   * target (`needTarget`), or the input ends. Returns the octets consumed; the caller passes the
   * rest again. Never reads outside `src[off..off+len)`.
   */
  decode(src: Uint8Array, off: number, len: number): number {
    this.frameReady = false;
    this.needTarget = false;
    const end = off + len;
    let i = off;
    while (i < end) {
      if (this.mode === MODE_DISCARD) {
        // Dropping: skip to the next END, which always ends a frame, escaped or not (RFC 1055).
        let k = i;
        while (k < end && src[k] !== SLIP_END) k++;
        if (k === end) return len;
        i = k + 1;
        this.mode = MODE_IDLE;
        this.escaped = false;
        this.count = 0;
        continue;
      }

      if (this.mode === MODE_IDLE) {
        const octet = src[i]!;
        if (octet === SLIP_END) {
          // RFC 1055: back-to-back ENDs make empty frames; ignore them.
          this.stats.empty++;
          i++;
          continue;
        }
        if (this.target === null) {
          this.needTarget = true;
          return i - off;
        }
        this.mode = MODE_FRAME;
        this.count = 0;
      }

      // Collecting: the inner loop keeps the frame state in locals and writes it back on exit.
      // Indices below are absolute in whole-buffer views: `at` walks the source, `out` the target.
      const target = this.target!;
      const s = this.srcViews.of(src);
      const d = this.dstViews.of(target);
      const inBytes = s.bytes, outBytes = d.bytes;
      const srcBase = src.byteOffset;
      const absEnd = srcBase + end;
      const outStart = target.byteOffset + this.targetOff;
      const outCap = outStart + this.targetCap;
      let at = srcBase + i;
      let out = outStart + this.count;
      let escaped = this.escaped;
      let ended = false;
      while (at < absEnd) {
        if (escaped) {
          escaped = false;
          const octet = inBytes[at++]!;
          let value: number;
          if (octet === SLIP_ESC_END) value = SLIP_END;
          else if (octet === SLIP_ESC_ESC) value = SLIP_ESC;
          else {
            // RFC 1055 leaves "ESC + other" undefined (its sample code keeps the octet); we count
            // it and drop the frame, since the frame can no longer be trusted.
            this.stats.badEscape++;
            this.mode = octet === SLIP_END ? MODE_IDLE : MODE_DISCARD;
            out = outStart;
            break;
          }
          if (out >= outCap) {
            this.stats.oversize++;
            this.mode = MODE_DISCARD;
            out = outStart;
            break;
          }
          outBytes[out++] = value;
          continue;
        }
        // Fast path: copy the run of ordinary octets up to the next END/ESC or the capacity.
        const limit = absEnd - at < outCap - out ? absEnd : at + (outCap - out);
        const stop = copyRun(s, at, limit, d, out);
        out += stop - at;
        at = stop;
        if (at === absEnd) break;
        const octet = inBytes[at]!;
        if (octet === SLIP_ESC) {
          escaped = true;
          at++;
          continue;
        }
        if (octet !== SLIP_END) {
          // An ordinary octet with the target full: longer than the MTU, drop to the next END.
          this.stats.oversize++;
          this.mode = MODE_DISCARD;
          out = outStart;
          break;
        }
        // RFC 1055: END completes the frame.
        at++;
        ended = true;
        break;
      }
      i = at - srcBase;
      this.escaped = escaped;
      const count = out - outStart;
      if (!ended) {
        this.count = count;
        continue;
      }
      this.mode = MODE_IDLE;
      this.count = 0;
      if (count <= 2) {
        // Linux `sl_bump` only passes frames of more than 2 octets; do the same.
        this.stats.runt++;
        continue;
      }
      this.stats.frames++;
      this.frameLen = count;
      this.frameReady = true;
      this.target = null;
      return i - off;
    }
    return len;
  }
}
