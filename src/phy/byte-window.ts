/**
 * WindowedByteLink: an optional ByteLink capability, a DMA-style window onto the link's own
 * buffers.
 *
 * A link that has it lends SlipDevice its receive and transmit memory: SlipDevice decodes
 * straight out of the receive memory into a pool slot and encodes a slot straight into the
 * transmit memory, so a frame is copied once per direction instead of three times (slot -> TX
 * buffer -> link -> RX scratch -> slot). The memory twins (MemoryLinkPair, MemoryLoopbackLink)
 * have it; links that do not (serial ports, ptys, UART timing) keep using `read` / `write`, and
 * SlipDevice detects which with `isWindowedByteLink` once, at construction.
 *
 * Contract: a window is a contiguous run of octets; the `*Start` index is valid right after the
 * `*Window` call that reported it and until the matching release or commit. Mixing window calls
 * with `read` / `write` is allowed between (not inside) such pairs. Nothing allocates.
 */
import type { ByteLink } from './device.ts';

export interface WindowedByteLink extends ByteLink {
  /** Memory the receive windows lie in (fixed for the link's life); `rxWindowStart` indexes it. */
  readonly rxMemory: Uint8Array;
  /** Index in `rxMemory` of the first readable octet (valid after `rxWindow`). */
  readonly rxWindowStart: number;
  /**
   * Octets readable now as one contiguous run at `rxWindowStart`, 0 if none. Like `read`, the
   * link may report fewer than it holds (a ring's wrap point, or a link that cuts reads short).
   */
  rxWindow(now: number): number;
  /** Consumes the first `n` octets of the window (0 <= n <= the window just reported). */
  rxRelease(now: number, n: number): void;
  /** Memory the transmit windows lie in (fixed for the link's life); `txWindowStart` indexes it. */
  readonly txMemory: Uint8Array;
  /** Index in `txMemory` where the next octet to send goes (valid after `txWindow`). */
  readonly txWindowStart: number;
  /** Octets that can be written now as one contiguous run at `txWindowStart`, 0 if none. */
  txWindow(now: number): number;
  /** Sends the first `n` octets written into the window (0 <= n <= the window just reported). */
  txCommit(now: number, n: number): void;
}

/** True when `link` offers the window capability (checked once, at construction, by its user). */
export function isWindowedByteLink(link: ByteLink): link is WindowedByteLink {
  const candidate = link as Partial<WindowedByteLink>;
  return typeof candidate.rxWindow === 'function' && typeof candidate.rxRelease === 'function'
    && typeof candidate.txWindow === 'function' && typeof candidate.txCommit === 'function'
    && candidate.rxMemory instanceof Uint8Array && candidate.txMemory instanceof Uint8Array;
}
