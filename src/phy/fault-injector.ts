/**
 * FaultInjector: a Device wrapper that makes a link misbehave on purpose, reproducibly (smoltcp
 * `FaultInjector` / `examples/utils.rs` style): drops, duplicates, reorders, delays, corrupts,
 * truncates and rate-limits frames going in either direction.
 *
 * Randomness is xorshift32 (random.ts) from `seed`: the same seed and the same frames at the same `now` give
 * the same faults. Held frames (delay, reorder) live in a fixed table with release times that
 * `pollAt` reports; frames released to the receiver wait in a fixed queue. A duplicate needs a
 * second slot from the pool; when the pool is empty the duplicate is skipped.
 *
 * Per frame, in this order: drop, rate limit, truncate, corrupt, duplicate, then each copy is
 * reordered (held until the next frame in its direction has passed, at most `reorderHoldMs`),
 * delayed (`delayMs` plus up to `jitterMs`), or passed on at once.
 *
 * Promises: fixed memory; no allocation per frame; every slot is passed on or freed exactly once,
 * and `close()` frees the ones it still holds.
 */
import { TxPriority, type Device, type DeviceCapabilities } from './device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { Xorshift32 } from '../random.ts';
import { copyBytes } from '../storage/copy.ts';
import { SlotFifo } from '../storage/slot-fifo.ts';
import { TokenBucket } from '../time.ts';

export interface FaultOptions {
  /** Xorshift32 seed (random.ts); 0 is replaced by 1. Defaults to 1. */
  seed?: number;
  /** Percent (0..100) of frames dropped. Defaults to 0. */
  dropPct?: number;
  /** Percent of frames sent twice. Defaults to 0. */
  duplicatePct?: number;
  /** Percent of frames held back until the next frame in the same direction has passed. Defaults to 0. */
  reorderPct?: number;
  /** Longest a reordered frame waits for a successor, in ms. Defaults to 100. */
  reorderHoldMs?: number;
  /** Fixed extra latency for every frame, in ms. Defaults to 0. */
  delayMs?: number;
  /** Extra random latency, uniform in 0..jitterMs ms. Defaults to 0. */
  jitterMs?: number;
  /** Percent of frames with exactly one bit flipped. Defaults to 0. */
  corruptPct?: number;
  /** Percent of frames cut to a random shorter length (at least 1 octet). Defaults to 0. */
  truncatePct?: number;
  /** Token bucket rate in octets per second per direction; frames over it are dropped. 0 = off (default). */
  rateLimitBytesPerSec?: number;
  /** Token bucket size in octets. Defaults to max(mtu, rate / 10). */
  bucketBytes?: number;
  /** Frames held at once for delay or reorder; beyond that frames pass at once. Defaults to 32. */
  maxHeld?: number;
  /** Which direction suffers. Defaults to 'both'. */
  applyTo?: 'rx' | 'tx' | 'both';
}

/** Defaults of FaultOptions: every fault off (`bucketBytes`: max(mtu, rate / 10)). */
export const DEFAULT_FAULT_INJECTOR_OPTIONS: Readonly<Required<Omit<FaultOptions, 'bucketBytes'>>> = Object.freeze({
  seed: 1,
  dropPct: 0,
  duplicatePct: 0,
  reorderPct: 0,
  reorderHoldMs: 100,
  delayMs: 0,
  jitterMs: 0,
  corruptPct: 0,
  truncatePct: 0,
  rateLimitBytesPerSec: 0,
  maxHeld: 32,
  applyTo: 'both',
});

export interface FaultStats {
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  corrupted: number;
  truncated: number;
  /** Frames dropped by the token bucket. */
  rateLimited: number;
  /** Frames handed on (to the receiver or to the inner device), duplicates included. */
  passed: number;
  /** Frames that should have been held but found the table full, so passed at once. */
  heldOverflow: number;
}

const RX = 0;
const TX = 1;

export class FaultInjector implements Device {
  readonly inner: Device;
  readonly stats: FaultStats = {
    dropped: 0, duplicated: 0, reordered: 0, delayed: 0, corrupted: 0, truncated: 0, rateLimited: 0, passed: 0, heldOverflow: 0,
  };

  private readonly random: Xorshift32;
  private readonly applyRx: boolean;
  private readonly applyTx: boolean;
  private readonly dropPct: number;
  private readonly duplicatePct: number;
  private readonly reorderPct: number;
  private readonly reorderHoldMs: number;
  private readonly delayMs: number;
  private readonly jitterMs: number;
  private readonly corruptPct: number;
  private readonly truncatePct: number;
  private readonly rate: number;
  /** Per direction (RX, TX): tokens are octets. */
  private readonly rxBucket: TokenBucket;
  private readonly txBucket: TokenBucket;

  /** Held frames, in arrival order: `heldSlot[0 .. heldCount)`. */
  private readonly heldSlot: Int32Array;
  private readonly heldAt: Float64Array;
  private readonly heldDir: Uint8Array;
  /** 1 when the entry waits for the next frame in its direction (reorder). */
  private readonly heldAfterNext: Uint8Array;
  /** The TxPriority a held TX frame was given, passed on when it is released. */
  private readonly heldPriority: Uint8Array;
  private heldCount = 0;

  /** Frames released towards the receiver, waiting for `receive()`. */
  private readonly out: SlotFifo;

  constructor(inner: Device, options: FaultOptions = {}) {
    this.inner = inner;
    this.random = new Xorshift32(options.seed ?? DEFAULT_FAULT_INJECTOR_OPTIONS.seed);
    const applyTo = options.applyTo ?? DEFAULT_FAULT_INJECTOR_OPTIONS.applyTo;
    this.applyRx = applyTo !== 'tx';
    this.applyTx = applyTo !== 'rx';
    this.dropPct = options.dropPct ?? DEFAULT_FAULT_INJECTOR_OPTIONS.dropPct;
    this.duplicatePct = options.duplicatePct ?? DEFAULT_FAULT_INJECTOR_OPTIONS.duplicatePct;
    this.reorderPct = options.reorderPct ?? DEFAULT_FAULT_INJECTOR_OPTIONS.reorderPct;
    this.reorderHoldMs = options.reorderHoldMs ?? DEFAULT_FAULT_INJECTOR_OPTIONS.reorderHoldMs;
    this.delayMs = options.delayMs ?? DEFAULT_FAULT_INJECTOR_OPTIONS.delayMs;
    this.jitterMs = options.jitterMs ?? DEFAULT_FAULT_INJECTOR_OPTIONS.jitterMs;
    this.corruptPct = options.corruptPct ?? DEFAULT_FAULT_INJECTOR_OPTIONS.corruptPct;
    this.truncatePct = options.truncatePct ?? DEFAULT_FAULT_INJECTOR_OPTIONS.truncatePct;
    this.rate = options.rateLimitBytesPerSec ?? DEFAULT_FAULT_INJECTOR_OPTIONS.rateLimitBytesPerSec;
    const mtu = inner.capabilities.mtu;
    const bucketBytes = options.bucketBytes ?? Math.max(mtu, this.rate / 10);
    this.rxBucket = new TokenBucket(this.rate, bucketBytes);
    this.txBucket = new TokenBucket(this.rate, bucketBytes);
    const maxHeld = options.maxHeld ?? DEFAULT_FAULT_INJECTOR_OPTIONS.maxHeld;
    this.heldSlot = new Int32Array(maxHeld);
    this.heldAt = new Float64Array(maxHeld);
    this.heldDir = new Uint8Array(maxHeld);
    this.heldAfterNext = new Uint8Array(maxHeld);
    this.heldPriority = new Uint8Array(maxHeld);
    // Worst case in one step: a frame, its duplicate, and every held frame released.
    this.out = new SlotFifo(2 * maxHeld + 4);
  }

  get capabilities(): DeviceCapabilities {
    return this.inner.capabilities;
  }

  get pool(): PacketPool {
    return this.inner.pool;
  }

  /** Frames currently held for delay or reorder. */
  get held(): number {
    return this.heldCount;
  }

  receive(now: number): number {
    this.releaseDue(now);
    while (this.out.isEmpty()) {
      const slot = this.inner.receive(now);
      if (slot < 0) return -1;
      if (!this.applyRx) return slot;
      this.process(RX, slot, now, TxPriority.Data);
    }
    return this.out.shift();
  }

  /** Applies the TX faults; what passes goes to the inner device with its `priority` (kept while held). */
  transmit(now: number, slot: number, priority: TxPriority = TxPriority.Data): void {
    this.releaseDue(now);
    if (this.applyTx) this.process(TX, slot, now, priority);
    else this.inner.transmit(now, slot, priority);
  }

  canTransmit(now: number): boolean {
    return this.inner.canTransmit(now);
  }

  /** `now` when a released frame waits, else the earlier of the inner deadline and the next held release. */
  pollAt(now: number): number {
    if (!this.out.isEmpty()) return now;
    let at = this.inner.pollAt(now);
    for (let k = 0; k < this.heldCount; k++) {
      const due = this.heldAt[k]!;
      if (due < at) at = due;
    }
    return at < now ? now : at;
  }

  /** Frees every slot held here (held frames, released frames not yet received). */
  close(): void {
    const pool = this.inner.pool;
    for (let k = 0; k < this.heldCount; k++) pool.free(this.heldSlot[k]!);
    this.heldCount = 0;
    for (let slot = this.out.shift(); slot >= 0; slot = this.out.shift()) pool.free(slot);
  }

  /** True with probability pct / 100; draws nothing when pct <= 0, so disabled faults leave the sequence alone. */
  private chance(pct: number): boolean {
    if (pct <= 0) return false;
    return this.random.below(1_000_000) < pct * 10_000;
  }

  private process(dir: number, slot: number, now: number, priority: TxPriority): void {
    const pool = this.inner.pool;
    if (this.chance(this.dropPct)) {
      this.stats.dropped++;
      pool.free(slot);
      return;
    }
    let len = pool.len[slot]!;
    // Token bucket: a frame costs its length in octets.
    if (this.rate > 0 && !(dir === TX ? this.txBucket : this.rxBucket).take(now, len)) {
      this.stats.rateLimited++;
      pool.free(slot);
      return;
    }
    if (len > 1 && this.chance(this.truncatePct)) {
      len = 1 + this.random.below(len - 1);
      pool.len[slot] = len;
      this.stats.truncated++;
    }
    if (len > 0 && this.chance(this.corruptPct)) {
      const bit = this.random.below(len * 8);
      const at = pool.start[slot]! + (bit >>> 3);
      pool.bytes[at] = pool.bytes[at]! ^ (1 << (bit & 7));
      this.stats.corrupted++;
    }
    let copy = -1;
    if (this.chance(this.duplicatePct)) {
      copy = pool.alloc();
      if (copy >= 0) {
        copyBytes(pool.bytes, pool.start[copy]!, pool.bytes, pool.start[slot]!, len);
        pool.len[copy] = len;
        this.stats.duplicated++;
      }
    }
    this.schedule(dir, slot, now, priority);
    if (copy >= 0) this.schedule(dir, copy, now, priority);
  }

  /** Reorders, delays or passes one frame. */
  private schedule(dir: number, slot: number, now: number, priority: TxPriority): void {
    let delay = this.delayMs;
    if (this.jitterMs > 0) delay += this.random.below(this.jitterMs + 1);
    if (this.chance(this.reorderPct)) {
      if (this.hold(dir, slot, now + this.reorderHoldMs + delay, 1, priority)) {
        this.stats.reordered++;
        return;
      }
    } else if (delay > 0) {
      if (this.hold(dir, slot, now + delay, 0, priority)) {
        this.stats.delayed++;
        return;
      }
    }
    this.deliver(dir, slot, now, priority);
  }

  private hold(dir: number, slot: number, at: number, afterNext: number, priority: TxPriority): boolean {
    if (this.heldCount === this.heldSlot.length) {
      this.stats.heldOverflow++;
      return false;
    }
    const k = this.heldCount++;
    this.heldSlot[k] = slot;
    this.heldAt[k] = at;
    this.heldDir[k] = dir;
    this.heldAfterNext[k] = afterNext;
    this.heldPriority[k] = priority;
    return true;
  }

  /** Hands a frame on, then lets frames that were waiting for a successor in this direction follow it. */
  private deliver(dir: number, slot: number, now: number, priority: TxPriority): void {
    this.stats.passed++;
    if (dir === TX) this.inner.transmit(now, slot, priority);
    else this.pushOut(slot);
    for (let k = 0; k < this.heldCount; k++) {
      if (this.heldAfterNext[k] === 1 && this.heldDir[k] === dir) {
        const held = this.heldSlot[k]!;
        const heldPriority = this.heldPriority[k]! as TxPriority;
        this.removeHeld(k);
        this.deliver(dir, held, now, heldPriority);
        return; // deliver() rescans what is left
      }
    }
  }

  private pushOut(slot: number): void {
    if (!this.out.push(slot)) {
      // Cannot happen with the sizing above; stay safe and count it as a drop.
      this.stats.dropped++;
      this.inner.pool.free(slot);
    }
  }

  private removeHeld(k: number): void {
    const last = --this.heldCount;
    for (let m = k; m < last; m++) {
      this.heldSlot[m] = this.heldSlot[m + 1]!;
      this.heldAt[m] = this.heldAt[m + 1]!;
      this.heldDir[m] = this.heldDir[m + 1]!;
      this.heldAfterNext[m] = this.heldAfterNext[m + 1]!;
      this.heldPriority[m] = this.heldPriority[m + 1]!;
    }
  }

  /** Releases held frames whose time has come, earliest release time first (arrival order on ties). */
  private releaseDue(now: number): void {
    for (;;) {
      let pick = -1;
      for (let k = 0; k < this.heldCount; k++) {
        if (this.heldAt[k]! <= now && (pick < 0 || this.heldAt[k]! < this.heldAt[pick]!)) pick = k;
      }
      if (pick < 0) return;
      const slot = this.heldSlot[pick]!;
      const dir = this.heldDir[pick]!;
      const priority = this.heldPriority[pick]! as TxPriority;
      this.removeHeld(pick);
      this.deliver(dir, slot, now, priority);
    }
  }
}
