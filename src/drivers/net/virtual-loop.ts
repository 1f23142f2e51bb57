/**
 * VirtualLoop: drives Pollables (interfaces, Networks, a Board) on a virtual clock, for tests
 * and benches of code written against the streams API. It polls until nothing moves, yields to
 * Node's event loop so that stream callbacks and the application run (they may write, read or
 * wake the loop), and only when everything is quiet jumps the clock to the earliest deadline.
 * So a 2-minute idle timeout or a transfer at 115200 baud costs no wall time, and timings
 * measured on this clock are the protocol's own, not the machine's.
 */
import { NEVER, type Pollable } from '../../time.ts';
import type { NetLoop } from './network.ts';

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualLoop implements NetLoop {
  /** The virtual time, ms (may be fractional when a part reports fractional deadlines). */
  time: number;
  private readonly parts: Pollable[];
  private woken = false;

  constructor(parts: Pollable[] = [], start = 0) {
    this.parts = parts;
    this.time = start;
  }

  add(part: Pollable): void {
    this.parts.push(part);
  }

  now(): number {
    return this.time;
  }

  wake(): void {
    this.woken = true;
  }

  /**
   * Runs until `done()` is true or the clock passes `limitMs` from now. Resolves with whether
   * `done()` became true.
   */
  async runUntil(done: () => boolean, limitMs: number): Promise<boolean> {
    const limit = this.time + limitMs;
    let spins = 0;
    for (;;) {
      if (done()) return true;
      let progress = false;
      for (let i = 0; i < this.parts.length; i++) if (this.parts[i]!.poll(this.time)) progress = true;
      if (progress) {
        if (++spins > 1_000_000) throw new Error('VirtualLoop: a million polls at one instant; something spins');
        // Let the application see what arrived now and then and again.
        if ((spins & 63) === 0) await immediate();
        continue;
      }
      // Quiet here: let callbacks, timers of zero delay and promise chains run.
      this.woken = false;
      await immediate();
      await immediate();
      if (this.woken || done()) continue;
      let next = NEVER;
      for (let i = 0; i < this.parts.length; i++) {
        const t = this.parts[i]!.pollAt(this.time);
        if (t < next) next = t;
      }
      if (next <= this.time) {
        // A part says "now" without progress: do not freeze time.
        if (++spins > 1_000_000) throw new Error('VirtualLoop: a part reports work now but makes no progress');
        next = this.time + 1;
      } else spins = 0;
      if (next === NEVER || next > limit) {
        this.time = limit;
        return done();
      }
      this.time = next;
    }
  }

  /** Runs for `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }
}
