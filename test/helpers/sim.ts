/**
 * Virtual time for tests: poll every participant until nothing moves, then jump the clock to
 * the earliest deadline any of them reported, until a condition holds or a time limit passes.
 * Nothing here reads a real clock, so minutes of protocol time cost milliseconds.
 */
import { NEVER, type Pollable } from '../../src/time.ts';

export class VirtualClock {
  now: number;
  constructor(start = 0) {
    this.now = start;
  }
}

/**
 * Runs `parts` in virtual time until `done()` is true or the clock passes `start + limitMs`.
 * Returns whether `done()` became true.
 */
export function runUntil(clock: VirtualClock, parts: Pollable[], done: () => boolean, limitMs: number): boolean {
  const limit = clock.now + limitMs;
  let spins = 0;
  while (!done()) {
    let progress = false;
    for (const p of parts) if (p.poll(clock.now)) progress = true;
    if (progress) {
      if (++spins > 1_000_000) throw new Error('runUntil: a million polls at one instant; something spins');
      continue;
    }
    spins = 0;
    let next = NEVER;
    for (const p of parts) {
      const t = p.pollAt(clock.now);
      if (t < next) next = t;
    }
    if (next === NEVER) return done();
    // A participant that says "now" without making progress must not freeze time.
    next = next > clock.now ? Math.ceil(next) : clock.now + 1;
    if (next > limit) {
      clock.now = limit;
      return done();
    }
    clock.now = next;
  }
  return true;
}

/** Runs until every participant is idle (no deadline before `limitMs` from now). */
export function runIdle(clock: VirtualClock, parts: Pollable[], limitMs: number): void {
  runUntil(clock, parts, () => false, limitMs);
}
