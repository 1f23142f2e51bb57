/**
 * SlipDevice: a Device (whole IPv4 frames) over a ByteLink (octets), framed with SLIP (RFC 1055).
 *
 * RX: octets are read from the link into one fixed scratch buffer and decoded straight into a
 * pool slot, which is allocated when a frame's first octet arrives (lwIP `slipif` style). A
 * completed slot waits in a fixed queue until `receive()` hands it out. When the queue is full
 * the device stops reading, so the link (and its peer) feel the back pressure and nothing is lost.
 * TX: slots wait in a fixed queue (control frames, `TxPriority.Control`, in a second one of the
 * same size that is served first, so ACKs pass queued data; each queue keeps FIFO order and a
 * frame already being written is never cut); the head is encoded into one fixed TX buffer (2 * mtu + 2
 * octets), the slot is freed at once, and the buffer drains into the link as fast as the link
 * accepts; what does not fit stays pending for the next call.
 *
 * Links with the WindowedByteLink capability (the memory twins) skip both staging buffers: frames
 * are decoded straight out of the link's receive memory and encoded straight into its transmit
 * memory (when the contiguous room there holds the worst case, 2 * len + 2; otherwise through the
 * TX buffer as above). With `arena` (the pool's), the scratch and TX buffers are carved from it,
 * so every copy stays inside one ArrayBuffer.
 *
 * Promises: no allocation per frame or per octet; running out of slots or queue space is a
 * counted drop, never an exception; `close()` gives back every slot the device holds.
 */
import { TxPriority, type ByteLink, type Device, type DeviceCapabilities } from './device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import type { Arena } from '../storage/arena.ts';
import { SlotFifo } from '../storage/slot-fifo.ts';
import { isWindowedByteLink, type WindowedByteLink } from './byte-window.ts';
import { SlipDecoder, SlipEncoder, slipEncodedMaxLen, type SlipDecoderStats } from './slip.ts';

export interface SlipDeviceOptions {
  /** Largest frame in octets, sent or received. Defaults to `pool.mtu`; may not exceed it. */
  mtu?: number;
  /** Slots queued for transmission. Defaults to 8. */
  txQueue?: number;
  /** Decoded frames waiting for `receive()`. Defaults to 8. */
  rxQueue?: number;
  /** Octets read from the link per `read()` call (the scratch buffer size; also caps a window). Defaults to 4096. */
  readChunk?: number;
  /** Carve the scratch and TX buffers from this arena (the pool's, so codec copies are copyWithin). Defaults to buffers of their own. */
  arena?: Arena;
}

/** Defaults of SlipDeviceOptions (`mtu`: the pool's; `arena`: none, buffers of the device's own). */
export const DEFAULT_SLIP_DEVICE_OPTIONS: Readonly<Required<Omit<SlipDeviceOptions, 'mtu' | 'arena'>>> = Object.freeze({
  txQueue: 8,
  rxQueue: 8,
  readChunk: 4096,
});

export interface SlipDeviceStats {
  /** Frames decoded and queued for `receive()`. */
  rxFrames: number;
  /** Wire octets read from the link. */
  rxBytes: number;
  /** Frames dropped because the pool was empty when their first octet arrived. */
  rxDropNoSlot: number;
  /** Frames dropped because the RX queue was full (the device stops reading first, so normally 0). */
  rxDropQueueFull: number;
  /** Frames encoded and handed to the line. */
  txFrames: number;
  /** Wire octets accepted by the link. */
  txBytes: number;
  /** Frames dropped because the TX queue was full. */
  txDropQueueFull: number;
  /** Frames dropped because they were longer than the MTU. */
  txDropOversize: number;
  /** The decoder's own counters (empty, runt, oversize, bad escape). */
  decoder: SlipDecoderStats;
}

export class SlipDevice implements Device {
  readonly link: ByteLink;
  readonly pool: PacketPool;
  readonly capabilities: DeviceCapabilities;
  readonly stats: SlipDeviceStats;

  private readonly decoder: SlipDecoder;
  private readonly encoder = new SlipEncoder();
  /** Encodes into the link's memory: an encoder of its own, so its buffer views stay put between frames. */
  private readonly windowEncoder = new SlipEncoder();
  private readonly mtu: number;
  /** The link again when it lends its buffers (WindowedByteLink), else null. */
  private readonly window: WindowedByteLink | null;
  private readonly readChunk: number;

  /** Raw octets read from the link; `scratch[scratchPos .. scratchLen)` are not yet decoded. */
  private readonly scratch: Uint8Array;
  private scratchPos = 0;
  private scratchLen = 0;
  /** The slot the decoder is writing into, or -1. */
  private rxSlot = -1;
  /** Completed frames waiting for `receive()`. */
  private readonly rxQueue: SlotFifo;

  /** The frame being sent, encoded; `txBuffer[txPos .. txLen)` not yet accepted by the link. */
  private readonly txBuffer: Uint8Array;
  private txPos = 0;
  private txLen = 0;
  /** Slots waiting to be encoded. */
  private readonly txQueue: SlotFifo;
  /** Control frames (TxPriority.Control) waiting to be encoded: served before `txQueue`. */
  private readonly controlQueue: SlotFifo;

  constructor(link: ByteLink, pool: PacketPool, options: SlipDeviceOptions = {}) {
    const mtu = options.mtu ?? pool.mtu;
    if (!Number.isInteger(mtu) || mtu < 3 || mtu > pool.mtu) {
      throw new RangeError(`SlipDevice: mtu must be an integer in 3..${pool.mtu} (the pool's), got ${mtu}`);
    }
    const txQueue = options.txQueue ?? DEFAULT_SLIP_DEVICE_OPTIONS.txQueue;
    const rxQueue = options.rxQueue ?? DEFAULT_SLIP_DEVICE_OPTIONS.rxQueue;
    const readChunk = options.readChunk ?? DEFAULT_SLIP_DEVICE_OPTIONS.readChunk;
    if (!(txQueue >= 1 && rxQueue >= 1 && readChunk >= 1)) throw new RangeError('SlipDevice: queues and readChunk must be >= 1');
    this.link = link;
    this.pool = pool;
    this.mtu = mtu;
    this.capabilities = { mtu, checksum: true };
    this.decoder = new SlipDecoder();
    this.stats = {
      rxFrames: 0, rxBytes: 0, rxDropNoSlot: 0, rxDropQueueFull: 0,
      txFrames: 0, txBytes: 0, txDropQueueFull: 0, txDropOversize: 0,
      decoder: this.decoder.stats,
    };
    this.window = isWindowedByteLink(link) ? link : null;
    this.readChunk = readChunk;
    const arena = options.arena;
    // A windowed link is decoded in place: the scratch buffer is never used.
    const scratchLen = this.window !== null ? 0 : readChunk;
    this.scratch = arena !== undefined ? arena.carve(scratchLen) : new Uint8Array(scratchLen);
    this.rxQueue = new SlotFifo(rxQueue);
    this.txBuffer = arena !== undefined ? arena.carve(slipEncodedMaxLen(mtu)) : new Uint8Array(slipEncodedMaxLen(mtu));
    this.txQueue = new SlotFifo(txQueue);
    this.controlQueue = new SlotFifo(txQueue);
  }

  /**
   * Pumps the link (pending TX first, then RX until the link is empty or the RX queue is full) and
   * returns the oldest received frame's slot, or -1. The caller owns the returned slot.
   */
  receive(now: number): number {
    this.flush(now);
    this.pumpRx(now);
    return this.rxQueue.shift();
  }

  /**
   * Queues `slot` for transmission and pushes as much as the link accepts. Takes ownership: the
   * slot is freed once encoded, or at once when dropped (queue full, or longer than the MTU).
   * A `Control` frame goes to the control queue, which is encoded before any queued data (into
   * the data queue when the control queue is full).
   */
  transmit(now: number, slot: number, priority: TxPriority = TxPriority.Data): void {
    if (this.pool.len[slot]! > this.mtu) {
      this.stats.txDropOversize++;
      this.pool.free(slot);
    } else if (priority === TxPriority.Control && this.controlQueue.push(slot)) {
      // queued ahead of the data
    } else if (!this.txQueue.push(slot)) {
      this.stats.txDropQueueFull++;
      this.pool.free(slot);
    }
    this.flush(now);
  }

  /**
   * `now` when a frame is waiting or undecoded octets can be decoded; otherwise the link's own
   * deadline (when it will have octets to read or room for pending output); NEVER when idle.
   */
  pollAt(now: number): number {
    if (!this.rxQueue.isEmpty()) return now;
    if (this.scratchPos < this.scratchLen && !this.rxQueue.isFull()) return now;
    return this.link.pollAt(now);
  }

  /** Room in the TX queue. */
  canTransmit(_now: number): boolean {
    return !this.txQueue.isFull();
  }

  /** True while encoded octets wait for the link or frames wait to be encoded. */
  get txPending(): boolean {
    return this.txPos < this.txLen || !this.txQueue.isEmpty() || !this.controlQueue.isEmpty();
  }

  /** Data frames waiting in the TX queue (not yet encoded; control frames wait apart); `transmit` drops when this reaches the queue size. */
  get txQueued(): number {
    return this.txQueue.length;
  }

  /** Frames decoded and waiting for `receive()`. */
  get rxQueued(): number {
    return this.rxQueue.length;
  }

  /**
   * Frames lost or damaged on the way in (oversize, bad escape, runt, no slot, queue full), a
   * running total: a header decompressor above (CslipDevice) starts RFC 1144's toss state when
   * it grows.
   */
  get rxFrameErrors(): number {
    const d = this.stats.decoder;
    return d.oversize + d.badEscape + d.runt + this.stats.rxDropNoSlot + this.stats.rxDropQueueFull;
  }

  /** Gives back every slot the device holds (partial RX frame, both queues) and forgets pending octets. */
  close(): void {
    if (this.rxSlot >= 0) {
      this.pool.free(this.rxSlot);
      this.rxSlot = -1;
    }
    this.decoder.clearTarget();
    this.decoder.reset();
    for (let slot = this.rxQueue.shift(); slot >= 0; slot = this.rxQueue.shift()) this.pool.free(slot);
    for (let slot = this.txQueue.shift(); slot >= 0; slot = this.txQueue.shift()) this.pool.free(slot);
    for (let slot = this.controlQueue.shift(); slot >= 0; slot = this.controlQueue.shift()) this.pool.free(slot);
    this.txPos = this.txLen = 0;
    this.scratchPos = this.scratchLen = 0;
  }

  /** Writes pending encoded octets, encoding queued frames one after another, until the link refuses. */
  private flush(now: number): void {
    for (;;) {
      if (this.txPos < this.txLen) {
        const accepted = this.link.write(now, this.txBuffer, this.txPos, this.txLen - this.txPos);
        this.stats.txBytes += accepted;
        this.txPos += accepted;
        if (this.txPos < this.txLen) return;
      }
      // ACKs first: a waiting control frame goes before the next data frame.
      const slot = this.controlQueue.isEmpty() ? this.txQueue.shift() : this.controlQueue.shift();
      if (slot < 0) return;
      const pool = this.pool;
      const len = pool.len[slot]!;
      const window = this.window;
      if (window !== null && window.txWindow(now) >= slipEncodedMaxLen(len)) {
        // Straight into the link's memory: one copy, no staging.
        const wire = this.windowEncoder.encode(pool.bytes, pool.start[slot]!, len, window.txMemory, window.txWindowStart);
        window.txCommit(now, wire);
        this.stats.txBytes += wire;
      } else {
        this.txLen = this.encoder.encode(pool.bytes, pool.start[slot]!, len, this.txBuffer, 0);
        this.txPos = 0;
      }
      pool.free(slot);
      this.stats.txFrames++;
    }
  }

  /** Reads and decodes until the link is empty or the RX queue is full. */
  private pumpRx(now: number): void {
    if (this.window !== null) {
      this.pumpRxWindow(now, this.window);
      return;
    }
    const decoder = this.decoder;
    while (!this.rxQueue.isFull()) {
      if (this.scratchPos === this.scratchLen) {
        const got = this.link.read(now, this.scratch, 0, this.scratch.length);
        if (got === 0) return;
        this.stats.rxBytes += got;
        this.scratchPos = 0;
        this.scratchLen = got;
      }
      this.scratchPos += decoder.decode(this.scratch, this.scratchPos, this.scratchLen - this.scratchPos);
      this.afterDecode();
    }
  }

  /** As pumpRx, decoding in place from the link's receive memory; what is not decoded stays in the link. */
  private pumpRxWindow(now: number, window: WindowedByteLink): void {
    const decoder = this.decoder;
    const memory = window.rxMemory;
    const readChunk = this.readChunk;
    while (!this.rxQueue.isFull()) {
      let run = window.rxWindow(now);
      if (run === 0) return;
      if (run > readChunk) run = readChunk;
      const used = decoder.decode(memory, window.rxWindowStart, run);
      window.rxRelease(now, used);
      this.stats.rxBytes += used;
      this.afterDecode();
    }
  }

  /** Acts on the decoder's stop: a slot for a starting frame, or a completed frame into the RX queue. */
  private afterDecode(): void {
    const decoder = this.decoder;
    const pool = this.pool;
    if (decoder.needTarget) {
      // A frame starts: give it a slot, or drop it to the next END (lwIP counts this as memerr).
      const slot = pool.alloc();
      if (slot < 0) {
        this.stats.rxDropNoSlot++;
        decoder.discardFrame();
      } else {
        this.rxSlot = slot;
        decoder.setTarget(pool.bytes, pool.start[slot]!, this.mtu);
      }
    } else if (decoder.frameReady) {
      const slot = this.rxSlot;
      this.rxSlot = -1;
      pool.len[slot] = decoder.frameLen;
      // The pumps decode only while the queue has room, so this drop is a safety net.
      if (this.rxQueue.push(slot)) {
        this.stats.rxFrames++;
      } else {
        this.stats.rxDropQueueFull++;
        pool.free(slot);
      }
    }
  }
}
