/**
 * Test helper: moves two byte arrays across two driver links at once, one in each direction,
 * through a real HostLoop (the links' onActivity wakes it), writing seeded-random chunk sizes
 * and honouring write back pressure. Resolves with what each side read.
 */
import type { DriverLink } from '../../src/drivers/link.ts';
import { HostLoop } from '../../src/drivers/host-loop.ts';
import { Xorshift32 } from '../../src/random.ts';
import { NEVER, type Pollable } from '../../src/time.ts';

/** One direction: writes `data` into `from` in random chunks, reads `to` into `received`. */
class Direction implements Pollable {
  readonly received: Uint8Array;
  sent = 0;
  got = 0;
  private blocked = false;
  /** Chunk sizes. */
  private readonly random: Xorshift32;
  private readonly from: DriverLink;
  private readonly to: DriverLink;
  private readonly data: Uint8Array;
  private readonly maxChunk: number;

  constructor(from: DriverLink, to: DriverLink, data: Uint8Array, seed: number, maxChunk: number) {
    this.from = from;
    this.to = to;
    this.data = data;
    this.maxChunk = maxChunk;
    this.received = new Uint8Array(data.length + 4096);
    this.random = new Xorshift32(seed | 0 || 7);
  }

  get done(): boolean {
    return this.got >= this.data.length;
  }

  poll(now: number): boolean {
    let progressed = false;
    if (this.sent < this.data.length) {
      const left = this.data.length - this.sent;
      const chunk = Math.min(left, 1 + this.random.below(this.maxChunk));
      const accepted = this.from.write(now, this.data, this.sent, chunk);
      this.sent += accepted;
      this.blocked = accepted < chunk;
      if (accepted > 0) progressed = true;
    }
    const n = this.to.read(now, this.received, this.got, this.received.length - this.got);
    this.got += n;
    if (n > 0) progressed = true;
    return progressed;
  }

  pollAt(now: number): number {
    if (this.sent < this.data.length && !this.blocked) return now;
    const a = this.from.pollAt(now);
    const b = this.to.pollAt(now);
    return a < b ? a : b;
  }
}

export interface ExchangeResult {
  atB: Uint8Array;
  atA: Uint8Array;
  loop: HostLoop;
}

/** Sends `aToB` from a to b and `bToA` from b to a concurrently; rejects after `timeoutMs`. */
export async function exchange(
  a: DriverLink,
  b: DriverLink,
  aToB: Uint8Array,
  bToA: Uint8Array,
  options: { seed?: number; maxChunk?: number; timeoutMs?: number } = {},
): Promise<ExchangeResult> {
  const seed = options.seed ?? 12345;
  const maxChunk = options.maxChunk ?? 4096;
  const forward = new Direction(a, b, aToB, seed, maxChunk);
  const backward = new Direction(b, a, bToA, seed * 31 + 1, maxChunk);
  const loop = new HostLoop();
  const finisher: Pollable = {
    poll: () => {
      if (forward.done && backward.done) void loop.stop();
      return false;
    },
    pollAt: () => NEVER,
  };
  loop.add(forward);
  loop.add(backward);
  loop.add(finisher);
  a.onActivity(() => loop.wake());
  b.onActivity(() => loop.wake());
  const timeout = options.timeoutMs ?? 20_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void loop.stop();
      reject(
        new Error(
          `exchange timed out after ${timeout} ms: a->b sent ${forward.sent} got ${forward.got}/${aToB.length}, ` +
            `b->a sent ${backward.sent} got ${backward.got}/${bToA.length}`,
        ),
      );
    }, timeout);
  });
  try {
    await Promise.race([loop.run(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
  return { atB: forward.received.subarray(0, forward.got), atA: backward.received.subarray(0, backward.got), loop };
}
