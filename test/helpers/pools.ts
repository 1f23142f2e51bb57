/**
 * Pool leak check (lwIP `lwip_check_ensure_no_alloc`): every suite that makes pools calls
 * `checkPools()` inside its `describe`, creates pools with `testPool()`, and after each test
 * every pool made during the test must be back to zero slots in use. Also: putting a frame into
 * a fresh slot, taking one out, and draining a device, for the device tests.
 */
import { expect } from 'chai';
import type { Device } from '../../src/phy/device.ts';
import { PacketPool, type PacketPoolOptions } from '../../src/storage/packet-pool.ts';

const live: PacketPool[] = [];

/** A strict pool (double free throws) that the leak check watches. */
export function testPool(options: Partial<PacketPoolOptions> = {}): PacketPool {
  const pool = new PacketPool({ slots: 32, mtu: 1500, strict: true, ...options });
  live.push(pool);
  return pool;
}

/** Registers an afterEach in the calling describe that asserts every watched pool is empty. */
export function checkPools(): void {
  afterEach(function () {
    const pools = live.splice(0, live.length);
    if (this.currentTest?.state === 'failed') return;
    for (const pool of pools) {
      expect(pool.stats.used, `pool ${pool.name}: slots still in use after the test`).to.equal(0);
      expect(pool.stats.doubleFree, `pool ${pool.name}: double frees`).to.equal(0);
    }
  });
}

/** Allocates a slot (which must be there) and fills it with `frame`; the caller owns the slot. */
export function slotOf(pool: PacketPool, frame: ArrayLike<number>): number {
  const slot = pool.alloc();
  expect(slot, `pool ${pool.name}: a free slot`).to.be.at.least(0);
  pool.bytes.set(frame, pool.start[slot]!);
  pool.len[slot] = frame.length;
  return slot;
}

/** Copies a received slot's frame out and frees the slot. */
export function takeFrame(pool: PacketPool, slot: number): number[] {
  const frame = [...pool.bytes.subarray(pool.start[slot]!, pool.start[slot]! + pool.len[slot]!)];
  pool.free(slot);
  return frame;
}

/** Receives every frame `device` has at `now` and frees each; returns how many (allocates nothing). */
export function receiveAll(device: Device, now: number): number {
  let n = 0;
  for (let slot = device.receive(now); slot >= 0; slot = device.receive(now)) {
    device.pool.free(slot);
    n++;
  }
  return n;
}
