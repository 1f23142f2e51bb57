/**
 * In-memory twins of the HAL (serialport binding-mock style): the stack and the tests use these
 * where production uses a serial port or a pty.
 *
 * - `MemoryLinkPair`: two ByteLinks back to back, each direction a fixed ring; writes take what
 *   fits (back pressure), reads can be cut into fixed or seeded-random chunk sizes so framing is
 *   exercised at odd splits.
 * - `MemoryLoopbackLink`: a ByteLink whose output comes back to its own input.
 * - `MemoryDevicePair`: two Devices back to back, frames copied between pools (or handed over
 *   when both sides share one pool), a fixed queue per direction.
 *
 * Both links also offer the WindowedByteLink capability (byte-window.ts): SlipDevice then encodes
 * into and decodes out of the rings themselves. With `arena`, the rings are carved from it, so
 * those copies are `copyWithin` inside one ArrayBuffer.
 *
 * Promises: all memory is fixed at construction; nothing allocates per call; a full queue is a
 * counted drop. The links never lose or reorder octets.
 */
import type { Device, DeviceCapabilities, TxPriority } from './device.ts';
import type { WindowedByteLink } from './byte-window.ts';
import type { Arena } from '../storage/arena.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { RingBuffer } from '../storage/ring-buffer.ts';
import { Xorshift32 } from '../random.ts';
import { copyBytes } from '../storage/copy.ts';
import { SlotFifo } from '../storage/slot-fifo.ts';
import { NEVER } from '../time.ts';

/** "No limit" for read chunks: the largest small integer, so the field stays a Smi. */
const UNLIMITED = 0x3fffffff;

export interface MemoryLinkOptions {
  /** Octets each direction holds before `write` pushes back. Defaults to 65536. */
  capacity?: number;
  /** Most octets one `read` returns. Defaults to unlimited (or 64 when `seed` is set). */
  maxReadChunk?: number;
  /** When set (non-zero), each `read` returns a random 1..maxReadChunk octets, from Xorshift32 (random.ts) with this seed. */
  seed?: number;
  /** Carve the rings from this arena (so a SlipDevice on the same arena copies with copyWithin). Defaults to buffers of their own. */
  arena?: Arena;
}

/**
 * Defaults of MemoryLinkOptions: unseeded, reads unlimited (`maxReadChunk` is
 * SEEDED_MAX_READ_CHUNK instead when `seed` is set); `arena`: none, rings of their own.
 */
export const DEFAULT_MEMORY_LINK_OPTIONS: Readonly<Required<Omit<MemoryLinkOptions, 'arena'>>> = Object.freeze({
  capacity: 65536,
  maxReadChunk: UNLIMITED,
  seed: 0,
});

/** `maxReadChunk` when `seed` is set and no chunk size is given, octets. */
export const SEEDED_MAX_READ_CHUNK = 64;

/** A ring's storage: carved from the arena when there is one. */
function ringOf(capacity: number, arena: Arena | undefined): RingBuffer {
  return new RingBuffer(arena !== undefined ? arena.carve(capacity) : new Uint8Array(capacity));
}

/** MemoryLinkOptions with the defaults filled in. */
function linkOptions(options: MemoryLinkOptions): { capacity: number; seed: number; maxReadChunk: number } {
  const seed = options.seed ?? DEFAULT_MEMORY_LINK_OPTIONS.seed;
  return {
    capacity: options.capacity ?? DEFAULT_MEMORY_LINK_OPTIONS.capacity,
    seed,
    maxReadChunk: options.maxReadChunk ?? (seed !== 0 ? SEEDED_MAX_READ_CHUNK : DEFAULT_MEMORY_LINK_OPTIONS.maxReadChunk),
  };
}

/** Octet counters of one link end. */
export interface MemoryLinkStats {
  /** Octets read by this end. */
  readBytes: number;
  /** Octets accepted from this end's writes. */
  writtenBytes: number;
  /** Write calls that accepted fewer octets than offered (ring full). */
  writeShort: number;
}

/** One end of a memory link: reads from `rx`, writes into `tx` (the peer's `rx`). */
class MemoryLink implements WindowedByteLink {
  readonly stats: MemoryLinkStats = { readBytes: 0, writtenBytes: 0, writeShort: 0 };
  private readonly rx: RingBuffer;
  private readonly tx: RingBuffer;
  private readonly maxReadChunk: number;
  /** Cuts reads at random sizes when seeded, else null. */
  private readonly random: Xorshift32 | null;
  /** A write was cut short since the last time the ring had room (for pollAt). */
  private refused = false;

  readonly rxMemory: Uint8Array;
  readonly txMemory: Uint8Array;

  constructor(rx: RingBuffer, tx: RingBuffer, maxReadChunk: number, random: Xorshift32 | null) {
    this.rx = rx;
    this.tx = tx;
    this.rxMemory = rx.storage;
    this.txMemory = tx.storage;
    this.maxReadChunk = maxReadChunk < UNLIMITED ? maxReadChunk : UNLIMITED;
    this.random = random;
  }

  /** How many of `len` octets one read hands out: capped at maxReadChunk, cut at random when seeded. */
  private cut(len: number): number {
    let want = len < this.maxReadChunk ? len : this.maxReadChunk;
    if (this.random !== null && want > 1) want = 1 + this.random.below(want);
    return want;
  }

  read(_now: number, dst: Uint8Array, off: number, len: number): number {
    const got = this.rx.dequeue(dst, off, this.cut(len));
    this.stats.readBytes += got;
    return got;
  }

  get rxWindowStart(): number {
    return this.rx.readOffset;
  }

  /** The contiguous readable run, cut as `read` cuts. */
  rxWindow(_now: number): number {
    const run = this.rx.contiguousReadLength;
    return run === 0 ? 0 : this.cut(run);
  }

  rxRelease(_now: number, n: number): void {
    this.stats.readBytes += this.rx.discard(n);
  }

  get txWindowStart(): number {
    return this.tx.writeOffset;
  }

  txWindow(_now: number): number {
    return this.tx.contiguousWriteLength;
  }

  txCommit(_now: number, n: number): void {
    if (n <= 0) return;
    this.tx.commit(n);
    this.stats.writtenBytes += n;
    this.refused = false;
  }

  write(_now: number, src: Uint8Array, off: number, len: number): number {
    const accepted = this.tx.enqueue(src, off, len);
    this.stats.writtenBytes += accepted;
    if (accepted < len) {
      this.stats.writeShort++;
      this.refused = true;
    } else {
      this.refused = false;
    }
    return accepted;
  }

  /** `now` when octets are readable, or when a refused write would now find room; else NEVER. */
  pollAt(now: number): number {
    if (!this.rx.isEmpty()) return now;
    if (this.refused && !this.tx.isFull()) return now;
    return NEVER;
  }

  /** Octets waiting to be read by this end. */
  get readable(): number {
    return this.rx.length;
  }
}

/**
 * Two ByteLinks wired back to back: what `a` writes, `b` reads, and the other way round. Each
 * direction is a fixed ring of `capacity` octets (default 64 KiB); `write` returns fewer octets
 * when it is full. `maxReadChunk` caps each read; with `seed` reads are cut at random sizes.
 */
export class MemoryLinkPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;

  constructor(options: MemoryLinkOptions = {}) {
    const { capacity, seed, maxReadChunk } = linkOptions(options);
    if (!(capacity >= 1 && maxReadChunk >= 1)) throw new RangeError('MemoryLinkPair: capacity and maxReadChunk must be >= 1');
    const aToB = ringOf(capacity, options.arena);
    const bToA = ringOf(capacity, options.arena);
    // Different seeds per end, so the two directions are cut differently: b's is the first
    // value a generator seeded with `seed` gives.
    this.a = new MemoryLink(bToA, aToB, maxReadChunk, seed === 0 ? null : new Xorshift32(seed));
    this.b = new MemoryLink(aToB, bToA, maxReadChunk, seed === 0 ? null : new Xorshift32(new Xorshift32(seed).next()));
  }
}

/** A ByteLink whose output comes back to its own input (TX wired to RX), through a fixed ring. */
export class MemoryLoopbackLink implements WindowedByteLink {
  private readonly link: MemoryLink;

  constructor(options: MemoryLinkOptions = {}) {
    const { capacity, seed, maxReadChunk } = linkOptions(options);
    const ring = ringOf(capacity, options.arena);
    this.link = new MemoryLink(ring, ring, maxReadChunk, seed === 0 ? null : new Xorshift32(seed));
    this.rxMemory = this.txMemory = ring.storage;
  }

  readonly rxMemory: Uint8Array;
  readonly txMemory: Uint8Array;

  get rxWindowStart(): number {
    return this.link.rxWindowStart;
  }

  rxWindow(now: number): number {
    return this.link.rxWindow(now);
  }

  rxRelease(now: number, n: number): void {
    this.link.rxRelease(now, n);
  }

  get txWindowStart(): number {
    return this.link.txWindowStart;
  }

  txWindow(now: number): number {
    return this.link.txWindow(now);
  }

  txCommit(now: number, n: number): void {
    this.link.txCommit(now, n);
  }

  get stats(): MemoryLinkStats {
    return this.link.stats;
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.link.read(now, dst, off, len);
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.link.write(now, src, off, len);
  }

  pollAt(now: number): number {
    return this.link.pollAt(now);
  }
}

/** Counters of one memory device. */
export interface MemoryDeviceStats {
  rxFrames: number;
  txFrames: number;
  /** Frames dropped because the peer's queue was full. */
  txDropQueueFull: number;
  /** Frames dropped because the peer's pool was empty. */
  txDropNoSlot: number;
  /** Frames dropped because they exceed the peer's MTU. */
  txDropOversize: number;
}

/** One side of a MemoryDevicePair. Receives from its own queue; transmits into the peer's. */
class MemoryDevice implements Device {
  readonly pool: PacketPool;
  readonly capabilities: DeviceCapabilities;
  readonly stats: MemoryDeviceStats = { rxFrames: 0, txFrames: 0, txDropQueueFull: 0, txDropNoSlot: 0, txDropOversize: 0 };
  /** Set once both sides exist. */
  peer: MemoryDevice | null = null;
  /** Frames waiting for `receive`, in this side's pool. */
  private readonly queue: SlotFifo;

  constructor(pool: PacketPool, queue: number, checksum: boolean) {
    this.pool = pool;
    this.capabilities = { mtu: pool.mtu, checksum };
    this.queue = new SlotFifo(queue);
  }

  receive(_now: number): number {
    const slot = this.queue.shift();
    if (slot >= 0) this.stats.rxFrames++;
    return slot;
  }

  /**
   * Hands the frame to the peer (copying it into the peer's pool if that is another pool). Takes
   * ownership. There is no transmit queue to jump (a frame is delivered at once), so `_priority`
   * changes nothing.
   */
  transmit(_now: number, slot: number, _priority?: TxPriority): void {
    const peer = this.peer!;
    const len = this.pool.len[slot]!;
    if (len > peer.pool.mtu) {
      this.stats.txDropOversize++;
      this.pool.free(slot);
      return;
    }
    if (peer.queue.isFull()) {
      this.stats.txDropQueueFull++;
      this.pool.free(slot);
      return;
    }
    let delivered = slot;
    if (peer.pool !== this.pool) {
      delivered = peer.pool.alloc();
      if (delivered < 0) {
        this.stats.txDropNoSlot++;
        this.pool.free(slot);
        return;
      }
      copyBytes(peer.pool.bytes, peer.pool.start[delivered]!, this.pool.bytes, this.pool.start[slot]!, len);
      peer.pool.len[delivered] = len;
      this.pool.free(slot);
    }
    peer.queue.push(delivered); // room checked above
    this.stats.txFrames++;
  }

  pollAt(now: number): number {
    return this.queue.isEmpty() ? NEVER : now;
  }

  /** Room in the peer's queue. */
  canTransmit(_now: number): boolean {
    const peer = this.peer!;
    return !peer.queue.isFull();
  }

  /** Frees every frame waiting in this side's queue. */
  close(): void {
    for (let slot = this.queue.shift(); slot >= 0; slot = this.queue.shift()) this.pool.free(slot);
  }
}

export interface MemoryDevicePairOptions {
  /** Frames each direction holds. Defaults to 64. */
  queue?: number;
  /** Reported in `capabilities.checksum`. Defaults to true; false lets the stack skip checksums. */
  checksum?: boolean;
}

/** Defaults of MemoryDevicePairOptions. */
export const DEFAULT_MEMORY_DEVICE_PAIR_OPTIONS: Readonly<Required<MemoryDevicePairOptions>> = Object.freeze({
  queue: 64,
  checksum: true,
});

/**
 * Two Devices wired back to back: a frame transmitted by one is received by the other. Each side
 * has its own pool (`mtu = pool.mtu`); a frame is copied into the receiver's pool, or its slot is
 * handed over when both sides share one pool. A full queue, an empty pool or a frame over the
 * receiver's MTU is a counted drop.
 */
export class MemoryDevicePair {
  readonly a: MemoryDevice;
  readonly b: MemoryDevice;

  constructor(poolA: PacketPool, poolB: PacketPool, options: MemoryDevicePairOptions = {}) {
    const queue = options.queue ?? DEFAULT_MEMORY_DEVICE_PAIR_OPTIONS.queue;
    const checksum = options.checksum ?? DEFAULT_MEMORY_DEVICE_PAIR_OPTIONS.checksum;
    this.a = new MemoryDevice(poolA, queue, checksum);
    this.b = new MemoryDevice(poolB, queue, checksum);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  /** Frees every queued frame on both sides. */
  close(): void {
    this.a.close();
    this.b.close();
  }
}

export type { MemoryLink, MemoryDevice };
