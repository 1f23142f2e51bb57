/**
 * The HAL as the stack sees it: a `Device` moves whole IPv4 frames, a `ByteLink` moves octets.
 *
 * Only `iface/` talks to a Device; only `SlipDevice` (and the drivers under it) talk to a
 * ByteLink. Framing lives below this line and protocol logic above it.
 *
 * Ownership contract (lwIP netif input/output):
 * - `receive(now)` returns a pool slot holding one frame in its window (`pool.start[slot]`,
 *   `pool.len[slot]`), or -1. From then on the caller owns the slot and must free it or pass it
 *   on (for example back to `transmit`).
 * - `transmit(now, slot)` takes ownership of the slot whatever happens: the device sends it and
 *   frees it, or drops it (counted) and frees it. The caller must not touch the slot afterwards.
 * - Every slot a Device hands out or takes belongs to `device.pool`.
 *
 * Transmit priority: `transmit(now, slot, priority)` may say that a frame is
 * `TxPriority.Control` (small frames a peer is waiting on; the interface sends SYNs and RSTs so,
 * and pure ACKs and window updates that the peer accepts even before the data queued ahead of
 * them: iface/tcp.ts `emitTcp`). A device with a transmit queue sends those before the data
 * frames it holds; data frames keep
 * their FIFO order among themselves, and so do control frames. A device without a queue
 * may ignore the argument. A wrapper (fault injector, pcap writer, any Device around another)
 * passes it through unchanged: `this.inner.transmit(now, slot, priority)`.
 */
import type { PacketPool } from '../storage/packet-pool.ts';

/** How urgently a frame should leave: the third argument of `Device.transmit`. */
export const TxPriority = Object.freeze({
  /** Data, in FIFO order behind what is queued (the default). */
  Data: 0,
  /** A frame without payload that a peer waits on (a SYN, a RST, an ACK or window update the peer is sure to accept): ahead of queued data. */
  Control: 1,
} as const);
export type TxPriority = (typeof TxPriority)[keyof typeof TxPriority];

/** What a Device can do and wants, smoltcp `DeviceCapabilities` style. */
export interface DeviceCapabilities {
  /** Largest frame in octets (the IP MTU of the link). */
  readonly mtu: number;
  /**
   * When false, the link guarantees integrity (a memory pair), so the stack may skip computing
   * and verifying IPv4/ICMP/UDP/TCP checksums, as Linux loopback does. Defaults to true everywhere else.
   */
  readonly checksum: boolean;
}

export interface Device {
  readonly capabilities: DeviceCapabilities;
  /** The pool every slot of this device comes from. */
  readonly pool: PacketPool;
  /** Takes the next received frame; -1 if none. The caller now owns the slot. */
  receive(now: number): number;
  /**
   * Sends the frame in `slot` (its window). Takes ownership of the slot. `priority` defaults to
   * `TxPriority.Data`; `Control` frames pass queued data (see the contract above).
   */
  transmit(now: number, slot: number, priority?: TxPriority): void;
  /**
   * True while `transmit` would queue a frame rather than drop it (a NIC's TX ring not full).
   * Producers that can wait, such as TCP, hold their data until it is true again; `pollAt`
   * reports when the queue drains.
   */
  canTransmit(now: number): boolean;
  /**
   * The earliest time (ms) at which `receive` may return a frame or queued output may make
   * progress: `now` if something is ready, NEVER if nothing is pending.
   */
  pollAt(now: number): number;
}

/**
 * An octet pipe: a UART, a pty, or a memory twin. Reads and writes never block; delivery comes
 * in arbitrary chunk sizes, so framing above must not care where reads split.
 */
export interface ByteLink {
  /** Copies up to `len` received octets into `dst[off..]`; returns how many (0 if none). */
  read(now: number, dst: Uint8Array, off: number, len: number): number;
  /** Offers `len` octets from `src[off..]`; returns how many were accepted (fewer when the transmit buffer is full). */
  write(now: number, src: Uint8Array, off: number, len: number): number;
  /**
   * Earliest time (ms) at which `read` will return data or `write` will accept more after
   * refusing: `now` if already, NEVER if nothing is pending.
   */
  pollAt(now: number): number;
}
