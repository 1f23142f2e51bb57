/**
 * What every header view shares: the memory it reads (`bytes`), where the header starts
 * (`off`) and how many octets the view may read (`len`), re-pointed per packet with `reset`
 * so no object is created per packet; and big-endian field access by octets (no DataView,
 * no allocation).
 */

const NO_BYTES = new Uint8Array(0);

export class WireView {
  /** The memory the view reads. */
  bytes: Uint8Array = NO_BYTES;
  /** Offset of the header in `bytes`, in octets. */
  off = 0;
  /** Octets the view may read from `off` (what each header means by it is said in its class). */
  len = 0;

  constructor(bytes: Uint8Array = NO_BYTES, off = 0, len = bytes.length - off) {
    this.reset(bytes, off, len);
  }

  /** Re-points the view. Checks nothing: call `checkLen()` before reading fields. */
  reset(bytes: Uint8Array, off: number, len: number): this {
    this.bytes = bytes;
    this.off = off;
    this.len = len;
    return this;
  }
}

/** A transport header (UDP, TCP): both start with the source and destination ports (RFC 768, RFC 9293). */
export class PortsView extends WireView {
  get srcPort(): number {
    return get16(this.bytes, this.off);
  }
  set srcPort(value: number) {
    set16(this.bytes, this.off, value);
  }

  get dstPort(): number {
    return get16(this.bytes, this.off + 2);
  }
  set dstPort(value: number) {
    set16(this.bytes, this.off + 2, value);
  }
}

/** Big-endian u16 at `b[at]`. */
export function get16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function set16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

/** Big-endian 32-bit field at `b[at]`, as an int32. */
export function get32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

export function set32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}
