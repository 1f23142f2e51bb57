/**
 * RingBuffer: a byte FIFO over caller memory (socket send and receive rings).
 *
 * The storage is handed in and never reallocated. Besides enqueue/dequeue it offers the two
 * random-access operations TCP needs: `readAt` (copy out unacknowledged data for a
 * retransmission without dequeuing it) and `writeAt` (place out-of-order data beyond the
 * contiguous tail; `commit` makes it readable once the gap before it is filled).
 * Modelled on smoltcp `storage/ring_buffer.rs`.
 */
import { copyBytes } from './copy.ts';

export class RingBuffer {
  /** The storage, owned by the caller; this ring uses all of it. */
  readonly storage: Uint8Array;
  /** Capacity in octets. */
  readonly capacity: number;
  private readIndex = 0;
  private used = 0;

  constructor(storage: Uint8Array) {
    this.storage = storage;
    this.capacity = storage.length;
  }

  /** Octets readable now. */
  get length(): number {
    return this.used;
  }

  /** Octets that can be enqueued now. */
  get window(): number {
    return this.capacity - this.used;
  }

  isEmpty(): boolean {
    return this.used === 0;
  }

  isFull(): boolean {
    return this.used === this.capacity;
  }

  clear(): void {
    this.readIndex = 0;
    this.used = 0;
  }

  /** Appends up to `len` octets from `src[off..]`; returns how many were taken. */
  enqueue(src: Uint8Array, off: number, len: number): number {
    const n = this.writeAt(0, src, off, len);
    this.used += n;
    return n;
  }

  /** Removes up to `len` octets into `dst[off..]`; returns how many were copied. */
  dequeue(dst: Uint8Array, off: number, len: number): number {
    const n = this.readAt(0, dst, off, len);
    this.discard(n);
    return n;
  }

  /**
   * Copies up to `len` readable octets starting `offset` octets after the read point into
   * `dst[off..]`, without removing them. Returns how many were copied.
   */
  readAt(offset: number, dst: Uint8Array, off: number, len: number): number {
    if (offset >= this.used || len <= 0) return 0;
    let n = this.used - offset;
    if (n > len) n = len;
    const cap = this.capacity;
    let at = this.readIndex + offset;
    if (at >= cap) at -= cap;
    const first = cap - at < n ? cap - at : n;
    copyBytes(dst, off, this.storage, at, first);
    if (first < n) copyBytes(dst, off + first, this.storage, 0, n - first);
    return n;
  }

  /**
   * Writes up to `len` octets at `offset` octets past the end of the readable data, without
   * making them readable (see `commit`). Returns how many fit.
   */
  writeAt(offset: number, src: Uint8Array, off: number, len: number): number {
    const free = this.capacity - this.used;
    if (offset >= free || len <= 0) return 0;
    let n = free - offset;
    if (n > len) n = len;
    const cap = this.capacity;
    let at = this.readIndex + this.used + offset;
    while (at >= cap) at -= cap;
    const first = cap - at < n ? cap - at : n;
    copyBytes(this.storage, at, src, off, first);
    if (first < n) copyBytes(this.storage, 0, src, off + first, n - first);
    return n;
  }

  /** Makes `n` octets written past the tail (by `writeAt(0, …)`) readable. Clamped to the free space. */
  commit(n: number): void {
    const free = this.capacity - this.used;
    this.used += n < free ? n : free;
  }

  /** Drops up to `n` octets from the front; returns how many were dropped. */
  discard(n: number): number {
    if (n > this.used) n = this.used;
    this.used -= n;
    this.readIndex += n;
    if (this.readIndex >= this.capacity) this.readIndex -= this.capacity;
    // No rewind to 0 when the ring empties: octets placed past the tail by `writeAt` (TCP
    // out-of-order data) are addressed from the read point and would be lost.
    return n;
  }

  /** Storage offset of the contiguous readable run at the front, and its length via `contiguousReadLength`. */
  get readOffset(): number {
    return this.readIndex;
  }

  /** Length of the readable run that starts at `readOffset` without wrapping. */
  get contiguousReadLength(): number {
    const toEnd = this.capacity - this.readIndex;
    return this.used < toEnd ? this.used : toEnd;
  }

  /** Storage offset where the next enqueued octet goes. */
  get writeOffset(): number {
    let at = this.readIndex + this.used;
    if (at >= this.capacity) at -= this.capacity;
    return at;
  }

  /** Length of the free run at `writeOffset` without wrapping. */
  get contiguousWriteLength(): number {
    const free = this.capacity - this.used;
    const toEnd = this.capacity - this.writeOffset;
    return free < toEnd ? free : toEnd;
  }
}
