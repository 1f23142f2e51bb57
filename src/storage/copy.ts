/**
 * Octet copies without allocation.
 *
 * `Uint8Array#subarray` costs a 96-octet object per call, so the core never uses it on a packet
 * path. Instead:
 * - Inside one ArrayBuffer (pool slots, rings and device buffers carved from one Arena) a copy
 *   is `copyWithin` on a view of the whole buffer: about 26 GB/s here.
 * - Between two ArrayBuffers at the same alignment modulo 4, a 32-bit word loop over
 *   whole-buffer Int32Array views: about 5.6 GB/s.
 * - A copy of a whole source array uses `set` (35 GB/s); anything else an unrolled byte loop
 *   (about 1.9 GB/s).
 * Whole-buffer views come from storage/views.ts (made once per ArrayBuffer), so steady state
 * allocates nothing (docs/memory-and-time.md).
 */
import { wholeViews } from './views.ts';


/**
 * Copies `len` octets from `src[srcOff..]` to `dst[dstOff..]`. When both view the same
 * ArrayBuffer the ranges may overlap (memmove semantics). Bounds are the caller's job.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (len <= 0) return;
  const from = src.byteOffset + srcOff;
  const to = dst.byteOffset + dstOff;
  if (dst.buffer === src.buffer) {
    const rel = from - dst.byteOffset;
    // Both ranges inside dst's own view (always so when src === dst): no lookup at all.
    if (rel >= 0 && rel + len <= dst.length) dst.copyWithin(dstOff, rel, rel + len);
    else wholeViews(dst.buffer).bytes.copyWithin(to, from, from + len);
    return;
  }
  if (srcOff === 0 && len === src.length) {
    dst.set(src, dstOff);
    return;
  }
  let i = 0;
  if (len >= 64 && (from & 3) === (to & 3)) {
    // Bytes up to a word boundary, then words, then the tail.
    const head = (4 - (from & 3)) & 3;
    for (; i < head; i++) dst[dstOff + i] = src[srcOff + i]!;
    const s32 = wholeViews(src.buffer).int32;
    const d32 = wholeViews(dst.buffer).int32;
    let si = (from + i) >>> 2;
    let di = (to + i) >>> 2;
    const words = (len - i) >>> 2;
    const end = di + words;
    for (const end4 = end - 3; di < end4; di += 4, si += 4) {
      d32[di] = s32[si]!;
      d32[di + 1] = s32[si + 1]!;
      d32[di + 2] = s32[si + 2]!;
      d32[di + 3] = s32[si + 3]!;
    }
    for (; di < end; di++, si++) d32[di] = s32[si]!;
    i += words << 2;
  }
  // Eight octets per turn; the JIT keeps this loop free of allocation.
  for (const end8 = len - 7; i < end8; i += 8) {
    dst[dstOff + i] = src[srcOff + i]!;
    dst[dstOff + i + 1] = src[srcOff + i + 1]!;
    dst[dstOff + i + 2] = src[srcOff + i + 2]!;
    dst[dstOff + i + 3] = src[srcOff + i + 3]!;
    dst[dstOff + i + 4] = src[srcOff + i + 4]!;
    dst[dstOff + i + 5] = src[srcOff + i + 5]!;
    dst[dstOff + i + 6] = src[srcOff + i + 6]!;
    dst[dstOff + i + 7] = src[srcOff + i + 7]!;
  }
  for (; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
}
