/**
 * PacketPool: fixed packet memory, carved once.
 *
 * N slots of (headroom + MTU) octets live in one ArrayBuffer created at construction. A slot is
 * named by its index; `alloc()` hands out a free index or -1 (counted in `stats.err`), `free()`
 * returns it. Each slot carries a data window (`start`, `len`) in absolute octet offsets of
 * `bytes`, so layers pass a slot index and never create views per packet.
 *
 * Ownership: whoever holds a slot index frees it exactly once or passes it on (and says so in
 * its doc). Freeing a free slot is a bug: it is counted in `stats.doubleFree`, and throws when
 * the pool was built with `{ strict: true }` (tests do this).
 *
 * Modelled on lwIP's memp pools (`MEMP_STATS`: used / max / err) and PBUF_POOL headroom.
 */

export interface PacketPoolOptions {
  /** Number of slots. */
  slots: number;
  /** Largest frame a slot holds, in octets (the link MTU). */
  mtu: number;
  /** Octets reserved before the data window of a fresh slot, for headers prepended later. Defaults to 0. */
  headroom?: number;
  /** Throw on double free or on freeing an out-of-range index (for tests). Defaults to false. */
  strict?: boolean;
  /** Name shown by `pool` statistics. Defaults to "pbuf". */
  name?: string;
  /** Carve the slots from this arena (so copies to rings in the same arena are copyWithin). Defaults to a buffer of the pool's own. */
  arena?: Arena;
}

import type { Arena } from './arena.ts';

/** Defaults of the optional PacketPoolOptions (`arena`: none, the pool has a buffer of its own). */
export const DEFAULT_PACKET_POOL_OPTIONS: Readonly<Required<Omit<PacketPoolOptions, 'slots' | 'mtu' | 'arena'>>> = Object.freeze({
  headroom: 0,
  strict: false,
  name: 'pbuf',
});

/** Usage statistics, lwIP memp style. */
export interface PoolStats {
  /** Slots in use now. */
  used: number;
  /** High-water mark of `used`. */
  max: number;
  /** Allocation failures (pool empty). */
  err: number;
  /** Frees of a slot that was not allocated (or out of range). */
  doubleFree: number;
}

export class PacketPool {
  readonly name: string;
  /** Number of slots. */
  readonly size: number;
  /** Octets per slot, a multiple of 4 so every slot starts 4-byte aligned. */
  readonly slotSize: number;
  readonly headroom: number;
  readonly mtu: number;
  /** The ArrayBuffer the slots live in (the arena's, when one was given). */
  readonly buffer: ArrayBuffer;
  /** The whole of `buffer` as octets; slot data is `bytes[start[s] .. start[s] + len[s])`. */
  readonly bytes: Uint8Array;
  /** The whole of `buffer` as a DataView, for big-endian field access. */
  readonly view: DataView;
  /** Offset in `bytes` of slot 0. */
  readonly origin: number;
  /** Per slot: absolute offset of the data window in `bytes`. */
  readonly start: Int32Array;
  /** Per slot: length of the data window in octets. */
  readonly len: Int32Array;
  readonly stats: PoolStats = { used: 0, max: 0, err: 0, doubleFree: 0 };

  private readonly strict: boolean;
  /** Stack of free slot indices; `freeList[0 .. freeCount)` are free. */
  private readonly freeList: Int32Array;
  private freeCount: number;
  /** 1 when the slot is allocated. */
  private readonly inUse: Uint8Array;

  constructor(options: PacketPoolOptions) {
    const { slots, mtu } = options;
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`PacketPool: slots must be a positive integer, got ${slots}`);
    if (!Number.isInteger(mtu) || mtu < 68) throw new RangeError(`PacketPool: mtu must be an integer >= 68, got ${mtu}`);
    const headroom = options.headroom ?? DEFAULT_PACKET_POOL_OPTIONS.headroom;
    if (!Number.isInteger(headroom) || headroom < 0) throw new RangeError(`PacketPool: headroom must be an integer >= 0, got ${headroom}`);
    this.name = options.name ?? DEFAULT_PACKET_POOL_OPTIONS.name;
    this.size = slots;
    this.mtu = mtu;
    this.headroom = headroom;
    this.strict = options.strict ?? DEFAULT_PACKET_POOL_OPTIONS.strict;
    this.slotSize = (this.headroom + mtu + 3) & ~3;
    if (options.arena !== undefined) {
      const region = options.arena.carve(this.slotSize * slots);
      this.buffer = options.arena.buffer;
      this.origin = region.byteOffset;
    } else {
      this.buffer = new ArrayBuffer(this.slotSize * slots);
      this.origin = 0;
    }
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.start = new Int32Array(slots);
    this.len = new Int32Array(slots);
    this.freeList = new Int32Array(slots);
    this.inUse = new Uint8Array(slots);
    // Hand out low indices first: easier to read in traces.
    for (let i = 0; i < slots; i++) this.freeList[i] = slots - 1 - i;
    this.freeCount = slots;
  }

  /** Takes a free slot; its window starts after the headroom with length 0. Returns -1 when empty (counted). */
  alloc(): number {
    if (this.freeCount === 0) {
      this.stats.err++;
      return -1;
    }
    const slot = this.freeList[--this.freeCount]!;
    this.inUse[slot] = 1;
    this.start[slot] = this.origin + slot * this.slotSize + this.headroom;
    this.len[slot] = 0;
    const used = ++this.stats.used;
    if (used > this.stats.max) this.stats.max = used;
    return slot;
  }

  /** Returns a slot to the pool. The caller must not touch it afterwards. */
  free(slot: number): void {
    // `!== 1` also rejects NaN and fractional indices, which read as undefined.
    if (this.inUse[slot] !== 1) {
      this.stats.doubleFree++;
      if (this.strict) throw new Error(`PacketPool ${this.name}: free of slot ${slot}, which is not allocated`);
      return;
    }
    this.inUse[slot] = 0;
    this.freeList[this.freeCount++] = slot;
    this.stats.used--;
  }

  /** Absolute offset in `bytes` where the slot's memory begins (before the headroom). */
  base(slot: number): number {
    return this.origin + slot * this.slotSize;
  }

  /** Octets a slot can hold from its base: headroom + MTU, rounded up to 4. */
  get capacity(): number {
    return this.slotSize;
  }

  /** True while the slot is allocated. */
  isAllocated(slot: number): boolean {
    return slot >= 0 && slot < this.size && this.inUse[slot] === 1;
  }

  /** Slots free now. */
  get available(): number {
    return this.freeCount;
  }

  /** Total octets of packet memory this pool preallocated (data plus bookkeeping arrays). */
  get preallocatedBytes(): number {
    return this.slotSize * this.size + this.size * (4 + 4 + 4 + 1);
  }
}
