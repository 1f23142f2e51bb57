/**
 * VirtualLoop: drives Pollables (interfaces, Networks, a Board) on a virtual clock, for tests
 * and benches of code written against the streams API. It polls until nothing moves, yields to
 * Node's event loop so that stream callbacks and the application run (they may write, read or
 * wake the loop), and only when everything is quiet jumps the clock to the earliest deadline.
 * So a 2-minute idle timeout or a transfer at 115200 baud costs no wall time, and timings
 * measured on this clock are the protocol's own, not the machine's.
 *
 * The clock keeps the core's time contract (src/time.ts): `now` is integer milliseconds, and
 * handed out as a small integer (a V8 Smi). A deadline a part reports between two milliseconds
 * is met at the next whole one, as HostLoop and the tests' runUntil (test/helpers/sim.ts) do; and
 * a whole one that comes as a double (the UART's octet times are read from a Float64Array) is
 * made a small integer again by the same Math.ceil. Taken as it came, it made every `now` after
 * the first UART deadline a heap number: the core's optimised code, compiled for small-integer
 * times, was thrown away ("not a Smi": tick, the RTT sample, heard) and the socket fields `now`
 * is stored in became double fields, which the interpreter boxes on every read.
 */
import { NEVER, type Pollable } from '../../time.ts';
import type { NetLoop } from './network.ts';

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualLoop implements NetLoop {
  /** The virtual time, integer ms. */
  time: number;
  private readonly parts: Pollable[];
  private woken = false;

  constructor(parts: Pollable[] = [], start = 0) {
    this.parts = parts;
    this.time = Math.ceil(start);
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
    const limit = this.time + Math.ceil(limitMs);
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
      } else {
        spins = 0;
        // The first whole millisecond at or after the deadline, as a small integer.
        next = Math.ceil(next);
      }
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
