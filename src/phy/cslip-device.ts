/**
 * CslipDevice: a Device wrapper that adds Van Jacobson TCP/IP header compression (RFC 1144) to
 * the link below it, in the three modes Linux SLIP offers (`slattach -p slip|cslip|adaptive`).
 *
 *   interface ─ PcapWriter ─ FaultInjector ─ CslipDevice ─ SlipDevice ─ ByteLink
 *
 * Above it every frame is a plain IPv4 packet, so the interface, a pcap file and a fault
 * injector never know compression happened; below it the frames are what goes on the wire.
 * Transmit compresses in place in the slot it is handed; receive decompresses in place in the
 * slot the device below returns, rebuilding headers in the pool's headroom (`VJ_HEADROOM`).
 *
 * Modes (Linux `SL_MODE_SLIP`, `SL_MODE_CSLIP`, `SL_MODE_ADAPTIVE`):
 * - `slip`: RFC 1055 only. Frames that carry compressed headers are dropped and counted in
 *   `ignored` (the peer runs `-p cslip`: the hint is worth showing).
 * - `cslip`: compress every compressible TCP segment; decompress what arrives.
 * - `adaptive`: start as plain SLIP; the first UNCOMPRESSED_TCP or COMPRESSED_TCP frame from
 *   the peer switches compression on for good, both ways (Linux switches on the uncompressed
 *   kind only and ignores compressed frames until then; a compressed frame proves just as well
 *   that the peer compresses, and the decompressor tosses it as it has no state yet).
 *
 * Damaged frames: when the framing layer reports a frame it lost or damaged (`rxFrameErrors`
 * grew), the decompressor enters RFC 1144's toss state before the next frame is looked at.
 *
 * Order: a compressed frame is a delta on the last frame of its connection, and names its
 * connection only when that differs from the frame before it, so VJ frames must reach the wire in
 * the order they were compressed and none may be lost after it. Two things below would break
 * that, and both make a TCP segment go whole (TYPE_IP, which touches no saved state) instead:
 * a `Control` frame (a pure ACK or window update) that would pass data frames queued in the
 * device below, and a frame the device below has no room for (it will be dropped). Linux
 * compresses as each frame leaves the queue, so it never meets the first case; a pure ACK sent
 * whole costs 35 octets more, and only while data waits ahead of it.
 *
 * Promises: no allocation per frame; every slot is passed on or freed exactly once.
 */
import { TxPriority, type Device, type DeviceCapabilities } from './device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { VJ_SLOTS, VjCompressor, VjDecompressor, VjResult, VjType, type VjCompressorStats, type VjDecompressorStats } from './vj.ts';

/** The link protocols of Linux SLIP, by the names `slattach -p` uses. */
export type SlipProto = 'slip' | 'cslip' | 'adaptive';

export const SLIP_PROTOS: readonly SlipProto[] = ['slip', 'cslip', 'adaptive'];

/** Something that tells how many data frames wait in its transmit queue (a SlipDevice). */
export interface TxQueueSource {
  readonly txQueued: number;
}

/**
 * Something that counts the frames it lost or damaged on the way in (a SlipDevice: oversize,
 * bad escapes, runts, no pool slot). A running total; only its growth matters.
 */
export interface FrameErrorSource {
  readonly rxFrameErrors: number;
}

export interface CslipDeviceOptions {
  /** The mode. Defaults to 'cslip'. */
  proto?: SlipProto;
  /** Connection slots each way. Defaults to 16 (as Linux SLIP). */
  slots?: number;
  /**
   * Connection slots of the compressor only, when fewer than `slots` (a device with 4 TCP sockets
   * needs no more than 4 to send; the decompressor keeps `slots`, since the peer picks its numbers).
   */
  sendSlots?: number;
  /** Where frame errors are counted. Defaults to the inner device when it counts them, else none. */
  errors?: FrameErrorSource | null;
  /**
   * Where queued data frames are counted, to know whether a `Control` frame would pass any.
   * Defaults to the inner device when it counts them; with none, `Control` frames always go whole.
   */
  queue?: TxQueueSource | null;
}

export interface CslipDeviceStats {
  /** Frames received (the decompressor's counters). */
  in: VjDecompressorStats;
  /** Frames sent (the compressor's counters). */
  out: VjCompressorStats;
  /** Compressed or uncompressed-TCP frames dropped because compression is off (`slip` mode). */
  ignored: number;
  /** Times the framing layer's error count grew, each starting the toss state. */
  frameErrors: number;
  /**
   * TCP segments sent whole (TYPE_IP) while compressing, to keep the compressed stream in order:
   * a `Control` frame passing queued data, or a frame the device below had no room for.
   */
  sentWhole: number;
}

function hasFrameErrors(device: Device): device is Device & FrameErrorSource {
  return typeof (device as Partial<FrameErrorSource>).rxFrameErrors === 'number';
}

function hasTxQueue(device: Device): device is Device & TxQueueSource {
  return typeof (device as Partial<TxQueueSource>).txQueued === 'number';
}

export class CslipDevice implements Device {
  readonly inner: Device;
  readonly proto: SlipProto;
  readonly compressor: VjCompressor;
  readonly decompressor: VjDecompressor;
  readonly stats: CslipDeviceStats;
  /** The `now` at which compression came on (at construction in `cslip` mode); -1 while off. */
  compressingSince = -1;

  private compressing: boolean;
  private readonly errors: FrameErrorSource | null;
  private readonly queue: TxQueueSource | null;
  private errorsSeen: number;

  constructor(inner: Device, options: CslipDeviceOptions = {}) {
    const proto = options.proto ?? 'cslip';
    if (!SLIP_PROTOS.includes(proto)) throw new RangeError(`CslipDevice: proto must be slip, cslip or adaptive, got ${String(proto)}`);
    this.inner = inner;
    this.proto = proto;
    const slots = options.slots ?? VJ_SLOTS;
    this.compressor = new VjCompressor(Math.min(slots, options.sendSlots ?? slots));
    this.decompressor = new VjDecompressor(slots);
    this.stats = { in: this.decompressor.stats, out: this.compressor.stats, ignored: 0, frameErrors: 0, sentWhole: 0 };
    this.compressing = proto === 'cslip';
    if (this.compressing) this.compressingSince = 0;
    this.errors = options.errors !== undefined ? options.errors : hasFrameErrors(inner) ? inner : null;
    this.errorsSeen = this.errors !== null ? this.errors.rxFrameErrors : 0;
    this.queue = options.queue !== undefined ? options.queue : hasTxQueue(inner) ? inner : null;
  }

  /** True while frames are compressed on the way out and decompressed on the way in. */
  get isCompressing(): boolean {
    return this.compressing;
  }

  get capabilities(): DeviceCapabilities {
    return this.inner.capabilities;
  }

  get pool(): PacketPool {
    return this.inner.pool;
  }

  /** The next received frame as a plain IPv4 packet in its slot, or -1. The caller owns the slot. */
  receive(now: number): number {
    const pool = this.inner.pool;
    for (;;) {
      const slot = this.inner.receive(now);
      if (slot < 0) return -1;
      this.checkFrameErrors();
      const off = pool.start[slot]!;
      const len = pool.len[slot]!;
      const first = len > 0 ? pool.bytes[off]! : 0;
      if (first < VjType.UncompressedTcp) {
        // TYPE_IP (or not IPv4 at all, for the interface to reject): untouched in every mode.
        if (this.compressing) this.decompressor.stats.ip++;
        return slot;
      }
      // Compression off: `slip` drops every VJ frame; `adaptive` drops COMPRESSED_TCP (it needs
      // a saved header, which only an UNCOMPRESSED_TCP frame sets up) and tries UNCOMPRESSED_TCP.
      if (!this.compressing && (this.proto === 'slip' || first >= VjType.CompressedTcp)) {
        this.stats.ignored++;
        pool.free(slot);
        continue;
      }
      const base = pool.base(slot);
      const result = this.decompressor.decompress(pool.bytes, off, len, base, base + pool.capacity);
      if (result === VjResult.Deliver && !this.compressing) {
        // Adaptive: a valid UNCOMPRESSED_TCP frame (its IP header checksum holds) means the peer
        // compresses, so do we from now on (Linux SL_MODE_ADAPTIVE). Line noise that merely
        // starts with 0x7X..0xFF does not switch it on, as it would on Linux.
        this.compressing = true;
        this.compressingSince = now;
      }
      if (result === VjResult.Deliver) {
        pool.start[slot] = this.decompressor.outOff;
        pool.len[slot] = this.decompressor.outLen;
        return slot;
      }
      pool.free(slot);
    }
  }

  /**
   * Compresses the frame in place (when compression is on and its place on the wire is sure, see
   * "Order" above) and hands it to the inner device, which owns it from then on, with its `priority`.
   */
  transmit(now: number, slot: number, priority: TxPriority = TxPriority.Data): void {
    if (this.compressing) {
      const pool = this.inner.pool;
      if (this.inOrder(now, priority)) {
        const c = this.compressor;
        c.compress(pool.bytes, pool.start[slot]!, pool.len[slot]!);
        pool.start[slot] = c.outOff;
        pool.len[slot] = c.outLen;
      } else if (this.compressor.isCandidate(pool.bytes, pool.start[slot]!, pool.len[slot]!)) {
        this.stats.sentWhole++;
      }
    }
    this.inner.transmit(now, slot, priority);
  }

  /** True when a frame sent now with `priority` reaches the wire after every frame compressed before it. */
  private inOrder(now: number, priority: TxPriority): boolean {
    if (!this.inner.canTransmit(now)) return false;
    if (priority !== TxPriority.Control) return true;
    return this.queue !== null && this.queue.txQueued === 0;
  }

  canTransmit(now: number): boolean {
    return this.inner.canTransmit(now);
  }

  pollAt(now: number): number {
    return this.inner.pollAt(now);
  }

  /** RFC 1144 §4.3: a frame lost or damaged below means the next implicit-connection frame cannot be trusted. */
  private checkFrameErrors(): void {
    const source = this.errors;
    if (source === null) return;
    const count = source.rxFrameErrors;
    if (count !== this.errorsSeen) {
      this.errorsSeen = count;
      this.stats.frameErrors++;
      this.decompressor.frameError();
    }
  }
}
