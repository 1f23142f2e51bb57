/**
 * The virtual-time pieces the link benches share: a poll-until-quiet simulator, the SLIP escape
 * count of a payload, and a one-way bulk transfer between two connected stacks, timed.
 */
import { SLIP_END, SLIP_ESC } from '../../src/phy/slip.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import { NEVER, type Pollable } from '../../src/time.ts';


/** Polls until quiet, then jumps to the next deadline (fractional allowed), until done or the limit. */
export function simulate(parts: Pollable[], clock: { now: number }, done: () => boolean, limit: number): void {
  while (!done() && clock.now < limit) {
    let progress = false;
    for (const p of parts) if (p.poll(clock.now)) progress = true;
    if (progress) continue;
    let next = NEVER;
    for (const p of parts) next = Math.min(next, p.pollAt(clock.now));
    if (next === NEVER) return;
    clock.now = next > clock.now ? next : clock.now + 0.001;
  }
}

/** Octets of `data` that SLIP escapes (END and ESC). */
export function escapes(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === SLIP_END || data[i] === SLIP_ESC) n++;
  return n;
}

/**
 * Sends `data` one way between two connected stacks (A's `client` to B's `listener`, or back
 * when `reverse`), polling `parts` (the two interfaces) in virtual time, and returns the times
 * the first and the last octet were received (`last` is -1 if it did not finish within a day).
 */
export function timeOneWay(parts: Pollable[], tcpB: TcpStack, listener: number, client: TcpSocket, data: Uint8Array, reverse: boolean): { first: number; last: number } {
  const size = data.length;
  const clock = { now: 0 };
  let server: TcpSocket | null = null;
  const sink = new Uint8Array(65536);
  let sent = 0;
  let received = 0;
  let first = -1;
  let last = -1;
  const app: Pollable = {
    poll(now) {
      if (server === null) server = tcpB.accept(listener);
      if (server === null) return false;
      const tx = reverse ? server : client;
      const rx = reverse ? client : server;
      let progress = false;
      while (sent < size) {
        const n = tx.send(data, sent, Math.min(65536, size - sent));
        if (n <= 0) break;
        sent += n;
        progress = true;
      }
      for (;;) {
        const n = rx.recv(sink, 0, sink.length);
        if (n <= 0) break;
        if (first < 0) first = now;
        received += n;
        if (received === size) last = now;
        progress = true;
      }
      return progress;
    },
    pollAt: () => NEVER,
  };
  simulate([...parts, app], clock, () => last >= 0, 24 * 3600_000);
  return { first, last };
}
