/**
 * Arena: one ArrayBuffer, carved at start-up into every region a stack needs.
 *
 * When the packet pool, the device's framing buffers and the socket rings all live in one
 * ArrayBuffer, every copy between them is a `copyWithin` on a single view (about 26 GB/s here)
 * instead of a loop across two buffers (see storage/copy.ts). Carving happens at construction
 * only; running out of arena is a configuration error and throws then, never later.
 */

export class Arena {
  readonly buffer: ArrayBuffer;
  /** The whole arena as octets. */
  readonly bytes: Uint8Array;
  private top = 0;

  /** @param size octets to preallocate. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`Arena: size must be a non-negative integer, got ${size}`);
    this.buffer = new ArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Octets carved so far (alignment padding included). */
  get used(): number {
    return this.top;
  }

  get size(): number {
    return this.buffer.byteLength;
  }

  /**
   * Carves `len` octets starting at a multiple of `align` (default 8) and returns a view of
   * them. Construction time only.
   * @throws RangeError when the arena is too small.
   */
  carve(len: number, align = 8): Uint8Array {
    const start = (this.top + align - 1) & -align;
    if (start + len > this.buffer.byteLength) {
      throw new RangeError(`Arena: ${len} octets requested, ${this.buffer.byteLength - start} left of ${this.buffer.byteLength}`);
    }
    this.top = start + len;
    return new Uint8Array(this.buffer, start, len);
  }
}
