import { expect } from 'chai';
import { FaultInjector, type FaultOptions } from '../../src/phy/fault-injector.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { TxPriority } from '../../src/phy/device.ts';
import { NEVER } from '../../src/time.ts';
import { measureAlloc } from '../../support/alloc.ts';
import { checkPools, receiveAll, slotOf, takeFrame, testPool } from '../helpers/pools.ts';
import { TestingDevice } from '../helpers/testing-device.ts';

/** A FaultInjector on the sending side of a memory device pair, and helpers to drive it. */
function rig(options: FaultOptions, slots = 32) {
  const poolA = testPool({ name: 'A', slots });
  const poolB = testPool({ name: 'B', slots });
  const pair = new MemoryDevicePair(poolA, poolB);
  const faulty = new FaultInjector(pair.a, options);
  return {
    poolA, poolB, pair, faulty,
    send(now: number, frame: number[]): void {
      faulty.transmit(now, slotOf(poolA, frame));
    },
    /** Lets the injector release due frames (any entry point does), then collects what arrived. */
    drain(now: number): number[][] {
      expect(faulty.receive(now)).to.equal(-1);
      const got: number[][] = [];
      for (let s = pair.b.receive(now); s >= 0; s = pair.b.receive(now)) got.push(takeFrame(poolB, s));
      return got;
    },
    close(): void {
      faulty.close();
      pair.close();
    },
  };
}

const frame = (id: number, len = 40): number[] => Array.from({ length: len }, (_, i) => (id * 7 + i) & 0xff);

describe('phy/fault-injector', () => {
  checkPools();

  it('is deterministic: the same seed gives the same faults, another seed others', () => {
    const options: FaultOptions = { dropPct: 10, duplicatePct: 10, corruptPct: 10, truncatePct: 10, reorderPct: 10, jitterMs: 3 };
    const run = (seed: number) => {
      const r = rig({ ...options, seed });
      const out: string[] = [];
      for (let now = 0; now < 400; now++) {
        if (now < 300) r.send(now, frame(now));
        for (const f of r.drain(now)) out.push(f.join(','));
      }
      expect(r.faulty.held).to.equal(0);
      const stats = { ...r.faulty.stats };
      r.close();
      return { out, stats };
    };
    const one = run(7);
    expect(run(7)).to.deep.equal(one);
    expect(run(8).out).to.not.deep.equal(one.out);
    for (const key of ['dropped', 'duplicated', 'corrupted', 'truncated', 'reordered'] as const) {
      expect(one.stats[key], key).to.be.greaterThan(0);
    }
  });

  it('drop: nothing arrives and every slot is freed', () => {
    const r = rig({ dropPct: 100 });
    for (let k = 0; k < 10; k++) r.send(0, frame(k));
    expect(r.drain(0)).to.deep.equal([]);
    expect(r.faulty.stats.dropped).to.equal(10);
    r.close();
  });

  it('duplicate: two identical copies, and no copy when the pool is empty', () => {
    const r = rig({ duplicatePct: 100 });
    r.send(0, frame(1));
    expect(r.drain(0)).to.deep.equal([frame(1), frame(1)]);
    expect(r.faulty.stats).to.include({ duplicated: 1, passed: 2 });
    r.close();

    const tight = rig({ duplicatePct: 100 }, 1);
    tight.send(0, frame(2));
    expect(tight.drain(0)).to.deep.equal([frame(2)]);
    expect(tight.faulty.stats.duplicated).to.equal(0);
    tight.close();
  });

  it('corrupt: exactly one bit flipped', () => {
    const r = rig({ corruptPct: 100, seed: 99 });
    for (let k = 0; k < 50; k++) {
      r.send(k, frame(k, 1 + k));
      const [got] = r.drain(k);
      const sent = frame(k, 1 + k);
      let bits = 0;
      for (let i = 0; i < sent.length; i++) {
        let x = sent[i]! ^ got![i]!;
        for (; x; x &= x - 1) bits++;
      }
      expect(bits, `frame ${k}`).to.equal(1);
    }
    expect(r.faulty.stats.corrupted).to.equal(50);
    r.close();
  });

  it('truncate: a shorter frame, at least one octet, same prefix', () => {
    const r = rig({ truncatePct: 100 });
    for (let k = 0; k < 50; k++) {
      r.send(k, frame(k, 60));
      const [got] = r.drain(k);
      expect(got!.length).to.be.within(1, 59);
      expect(got).to.deep.equal(frame(k, 60).slice(0, got!.length));
    }
    r.send(50, [1]); // a single octet cannot get shorter
    expect(r.drain(50)).to.deep.equal([[1]]);
    r.close();
  });

  it('reorder: a held frame goes out right after the next one (a swap)', () => {
    const r = rig({ reorderPct: 100, maxHeld: 1 });
    r.send(0, frame(1));
    expect(r.drain(0)).to.deep.equal([]);
    r.send(1, frame(2)); // table full: passes at once, then releases frame 1
    expect(r.drain(1)).to.deep.equal([frame(2), frame(1)]);
    expect(r.faulty.stats).to.include({ reordered: 1, heldOverflow: 1 });
    r.close();
  });

  it('reorder: a frame with no successor is released after reorderHoldMs', () => {
    const r = rig({ reorderPct: 100, reorderHoldMs: 30 });
    r.send(10, frame(1));
    expect(r.faulty.pollAt(10)).to.equal(40);
    expect(r.drain(39)).to.deep.equal([]);
    expect(r.drain(40)).to.deep.equal([frame(1)]);
    r.close();
  });

  it('delay: held until the time, which pollAt reports', () => {
    const r = rig({ delayMs: 50 });
    r.send(0, frame(1));
    r.send(5, frame(2));
    expect(r.faulty.pollAt(0)).to.equal(50);
    r.faulty.transmit(49, slotOf(r.poolA, frame(3)));
    expect(r.drain(49)).to.deep.equal([]);
    expect(r.drain(50)).to.deep.equal([frame(1)]);
    expect(r.faulty.pollAt(50)).to.equal(55);
    expect(r.drain(99)).to.deep.equal([frame(2), frame(3)]);
    expect(r.faulty.pollAt(99)).to.equal(NEVER);
    expect(r.faulty.stats.delayed).to.equal(3);
    r.close();
  });

  it('delay on RX: receive() returns the frame only when due', () => {
    const poolA = testPool({ name: 'A' });
    const poolB = testPool({ name: 'B' });
    const pair = new MemoryDevicePair(poolA, poolB);
    const faulty = new FaultInjector(pair.b, { delayMs: 20, applyTo: 'rx' });
    pair.a.transmit(0, slotOf(poolA, frame(1)));
    expect(faulty.receive(0)).to.equal(-1);
    expect(faulty.pollAt(0)).to.equal(20);
    expect(faulty.receive(19)).to.equal(-1);
    expect(takeFrame(poolB, faulty.receive(20))).to.deep.equal(frame(1));
    // TX is left alone with applyTo 'rx'.
    faulty.transmit(20, slotOf(poolB, frame(2)));
    expect(takeFrame(poolA, pair.a.receive(20))).to.deep.equal(frame(2));
    faulty.close();
    pair.close();
  });

  it('passes TxPriority on to the inner device, also for a frame it held (delay, reorder)', () => {
    for (const options of [{}, { delayMs: 5 }, { reorderPct: 100, reorderHoldMs: 5 }, { applyTo: 'rx' as const }]) {
      const pool = testPool();
      const dev = new TestingDevice(pool);
      const faulty = new FaultInjector(dev, options);
      faulty.transmit(0, slotOf(pool, frame(1)), TxPriority.Control);
      faulty.transmit(0, slotOf(pool, frame(2)));
      faulty.transmit(0, slotOf(pool, frame(3)), TxPriority.Data);
      faulty.receive(10); // releases what is due
      expect(dev.sent.map((f) => f[0])).to.have.members([7, 14, 21]);
      const priorityOf = new Map(dev.sent.map((f, i) => [f[0], dev.sentPriority[i]]));
      expect([priorityOf.get(7), priorityOf.get(14), priorityOf.get(21)]).to.deep.equal([TxPriority.Control, TxPriority.Data, TxPriority.Data], JSON.stringify(options));
      faulty.close();
    }
  });

  it('rate limit: a token bucket of octets per second', () => {
    const r = rig({ rateLimitBytesPerSec: 1000, bucketBytes: 1000 });
    for (let k = 0; k < 10; k++) r.send(0, frame(k, 500));
    expect(r.drain(0)).to.have.length(2);
    expect(r.faulty.stats.rateLimited).to.equal(8);
    r.send(499, frame(20, 500)); // 499 octets of tokens: not enough
    r.send(500, frame(21, 500)); // 500 now
    expect(r.drain(500)).to.deep.equal([frame(21, 500)]);
    r.send(5000, frame(22, 500));
    r.send(5000, frame(23, 500));
    r.send(5000, frame(24, 500)); // the bucket holds at most 1000
    expect(r.drain(5000)).to.have.length(2);
    r.close();
  });

  it('close() frees held frames', () => {
    const r = rig({ delayMs: 100 });
    for (let k = 0; k < 5; k++) r.send(0, frame(k));
    expect(r.faulty.held).to.equal(5);
    r.close();
  });

  it('allocates nothing per frame with every fault and the rate limit on, both directions', function () {
    this.timeout(60_000);
    const poolA = testPool({ name: 'A', slots: 128 });
    const poolB = testPool({ name: 'B', slots: 128 });
    const pair = new MemoryDevicePair(poolA, poolB);
    const options: FaultOptions = {
      seed: 3, dropPct: 5, duplicatePct: 5, reorderPct: 5, corruptPct: 5, truncatePct: 5, delayMs: 1, jitterMs: 2,
      rateLimitBytesPerSec: 100_000, maxHeld: 16,
    };
    const a = new FaultInjector(pair.a, options);
    const b = new FaultInjector(pair.b, { ...options, seed: 4 });
    const counters = { received: 0 };
    const step = (i: number): void => {
      const sa = poolA.alloc();
      if (sa >= 0) {
        poolA.len[sa] = 40 + (i & 255);
        a.transmit(i, sa);
      }
      const sb = poolB.alloc();
      if (sb >= 0) {
        poolB.len[sb] = 40 + ((i * 7) & 255);
        b.transmit(i, sb);
      }
      counters.received += receiveAll(b, i) + receiveAll(a, i);
      if (a.pollAt(i) < i) counters.received = -1; // never: pollAt runs per step too
    };
    const report = measureAlloc(step, 40_000, 20_000);
    expect(counters.received).to.be.greaterThan(40_000);
    for (const key of ['dropped', 'duplicated', 'reordered', 'delayed', 'corrupted', 'truncated', 'rateLimited'] as const) {
      expect(a.stats[key] + b.stats[key], key).to.be.greaterThan(0);
    }
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    a.close();
    b.close();
    pair.close();
  });
});
