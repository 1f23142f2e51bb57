/**
 * Pool leak check (lwIP `lwip_check_ensure_no_alloc`): every suite that makes pools calls
 * `checkPools()` inside its `describe`, creates pools with `testPool()`, and after each test
 * every pool made during the test must be back to zero slots in use.
 */
import { expect } from 'chai';
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
