/**
 * Time in the core: integer milliseconds, always handed in by the caller.
 *
 * The core never reads a clock. Every entry point takes `now` (ms, integer, monotonic, any
 * epoch the host likes) and reports the next deadline it cares about. Virtual time in tests
 * and the network simulator moves `now` by hand, so a 30 s timeout costs no wall time.
 */

/** "No deadline": later than any `now` a host will pass. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/** The earlier of two deadlines. */
export function earliest(a: number, b: number): number {
  return a < b ? a : b;
}
