/**
 * Time in the core: integer milliseconds, always handed in by the caller.
 *
 * The core never reads a clock. Every entry point takes `now` (ms, integer, >= 0, monotonic, any
 * epoch the host likes) and reports the next deadline it cares about. Virtual time in tests
 * and the network simulator moves `now` by hand, so a 30 s timeout costs no wall time.
 */

/** "No deadline": later than any `now` a host will pass. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/** The earlier of two deadlines. */
export function earliest(a: number, b: number): number {
  return a < b ? a : b;
}

/**
 * The contract of everything a host loop drives (smoltcp `Interface::poll` / `poll_at`): an
 * interface, a service, a board, a test application.
 */
export interface Pollable {
  /** Does whatever is due at `now` (ms); true if anything progressed (then poll again). */
  poll(now: number): boolean;
  /** Earliest time (ms) at which `poll` has work: `now` if at once, NEVER if only on input. */
  pollAt(now: number): number;
}

/**
 * A token bucket on handed-in time (RFC 1812 §4.3.2.8 for ICMP errors, RFC 5961 §7 for challenge
 * ACKs, a line's rate in the fault injector). It starts full, refills `ratePerSecond` tokens a
 * second up to `depth`, and `take(now, cost)` spends `cost` tokens or refuses. Tokens are kept in
 * thousandths, so integer rates and costs stay exact and nothing allocates.
 */
export class TokenBucket {
  /** Tokens per second. */
  readonly ratePerSecond: number;
  /** Most tokens the bucket holds. */
  readonly depth: number;
  /** Thousandths of a token in the bucket. */
  private milli: number;
  private refilledAt = -1;

  constructor(ratePerSecond: number, depth: number) {
    this.ratePerSecond = ratePerSecond;
    this.depth = depth;
    this.milli = depth * 1000;
  }

  /** Tokens in the bucket after a refill at `now`. */
  level(now: number): number {
    this.refill(now);
    return this.milli / 1000;
  }

  /** Spends `cost` tokens (default 1) if the bucket holds them at `now`; false leaves it as it was. */
  take(now: number, cost = 1): boolean {
    this.refill(now);
    const need = cost * 1000;
    if (this.milli < need) return false;
    this.milli -= need;
    return true;
  }

  /** Back to full, as at construction. */
  reset(): void {
    this.milli = this.depth * 1000;
    this.refilledAt = -1;
  }

  private refill(now: number): void {
    const last = this.refilledAt;
    this.refilledAt = now;
    if (last < 0 || now <= last) return;
    // ms x (tokens / s) = thousandths of a token.
    const t = this.milli + (now - last) * this.ratePerSecond;
    const full = this.depth * 1000;
    this.milli = t < full ? t : full;
  }
}
