/**
 * Views over a whole ArrayBuffer (octets, 32-bit words signed and unsigned, a DataView), made
 * once per buffer and kept for as long as the buffer lives. The checksum, copies and the SLIP
 * codec index packet memory through them with absolute offsets (`array.byteOffset + i`), so no
 * view is ever created per packet, whichever buffers the callers alternate between.
 */

export interface WholeViews {
  readonly buffer: ArrayBufferLike;
  readonly bytes: Uint8Array;
  /** Words 0 .. byteLength/4 (the tail octets of an odd-sized buffer are not covered). */
  readonly int32: Int32Array;
  readonly uint32: Uint32Array;
  readonly data: DataView;
}

const byBuffer = new WeakMap<ArrayBufferLike, WholeViews>();

/** The last buffer asked about, in front of the WeakMap (the common case is one pool). */
class Last {
  buffer: ArrayBufferLike | null = null;
  views: WholeViews | null = null;
}
const last = new Last();

/** The views of `buffer`, created on first use. */
export function wholeViews(buffer: ArrayBufferLike): WholeViews {
  if (last.buffer === buffer) return last.views!;
  let views = byBuffer.get(buffer);
  if (views === undefined) {
    const words = buffer.byteLength >>> 2;
    views = {
      buffer,
      bytes: new Uint8Array(buffer),
      int32: new Int32Array(buffer, 0, words),
      uint32: new Uint32Array(buffer, 0, words),
      data: new DataView(buffer),
    };
    byBuffer.set(buffer, views);
  }
  last.buffer = buffer;
  last.views = views;
  return views;
}
