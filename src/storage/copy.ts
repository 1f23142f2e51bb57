/**
 * Octet copies without allocation.
 *
 * `Uint8Array#subarray` costs a 96-octet object per call, so the core never uses it on a packet
 * path. Copies inside one ArrayBuffer use `copyWithin` (about 26 GB/s here); a copy of a whole
 * source array uses `set` (35 GB/s); anything else falls back to a word loop, which allocates
 * nothing (see shared/research/toolchain.md §4).
 */

/**
 * Copies `len` octets from `src[srcOff..]` to `dst[dstOff..]`. Ranges may overlap only when both
 * arrays view the same ArrayBuffer (then it behaves like memmove). Bounds are the caller's job.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (len <= 0) return;
  if (dst.buffer === src.buffer) {
    // Same memory: copyWithin on dst, with src's offset translated into dst's coordinates.
    const shift = src.byteOffset - dst.byteOffset;
    dst.copyWithin(dstOff, srcOff + shift, srcOff + shift + len);
    return;
  }
  if (srcOff === 0 && len === src.length) {
    dst.set(src, dstOff);
    return;
  }
  let i = 0;
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
