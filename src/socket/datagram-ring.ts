/**
 * DatagramRing: whole datagrams with a small address header, kept in a RingBuffer.
 *
 * Each record is 8 octets of metadata (address: int32, port or sequence: u16, payload length:
 * u16) followed by the payload. A datagram is stored whole or not at all, so a reader never sees
 * half a message. Used by the UDP and ICMP sockets for both directions.
 */
import { RingBuffer } from '../storage/ring-buffer.ts';

/** Octets of metadata in front of each record. */
export const RECORD_HEADER_LEN = 8;

export class DatagramRing {
  readonly ring: RingBuffer;
  /** Records held. */
  count = 0;
  /** Metadata of the record at the front, valid after `peek()` returned true. */
  headAddress = 0;
  headPort = 0;
  headLen = 0;
  private readonly header = new Uint8Array(RECORD_HEADER_LEN);

  constructor(storage: Uint8Array) {
    this.ring = new RingBuffer(storage);
  }

  /** Largest payload that could ever fit. */
  get maxPayload(): number {
    const max = this.ring.capacity - RECORD_HEADER_LEN;
    return max < 0xffff ? max : 0xffff;
  }

  /** True if a payload of `len` octets fits now. */
  fits(len: number): boolean {
    return len <= 0xffff && RECORD_HEADER_LEN + len <= this.ring.window;
  }

  /** Appends one record; returns false (changing nothing) if it does not fit. */
  push(address: number, port: number, src: Uint8Array, off: number, len: number): boolean {
    if (!this.fits(len)) return false;
    const h = this.header;
    h[0] = address >>> 24;
    h[1] = address >>> 16;
    h[2] = address >>> 8;
    h[3] = address;
    h[4] = port >>> 8;
    h[5] = port;
    h[6] = len >>> 8;
    h[7] = len;
    this.ring.enqueue(h, 0, RECORD_HEADER_LEN);
    this.ring.enqueue(src, off, len);
    this.count++;
    return true;
  }

  /** Loads the front record's metadata into head*; false if empty. */
  peek(): boolean {
    if (this.count === 0) return false;
    const h = this.header;
    this.ring.readAt(0, h, 0, RECORD_HEADER_LEN);
    this.headAddress = (h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!;
    this.headPort = (h[4]! << 8) | h[5]!;
    this.headLen = (h[6]! << 8) | h[7]!;
    return true;
  }

  /** Copies up to `len` octets of the front record's payload (call `peek()` first). Returns octets copied. */
  readPayload(dst: Uint8Array, off: number, len: number): number {
    const n = len < this.headLen ? len : this.headLen;
    return this.ring.readAt(RECORD_HEADER_LEN, dst, off, n);
  }

  /** Drops the front record (call `peek()` first). */
  pop(): void {
    if (this.count === 0) return;
    this.ring.discard(RECORD_HEADER_LEN + this.headLen);
    this.count--;
  }

  clear(): void {
    this.ring.clear();
    this.count = 0;
  }
}
