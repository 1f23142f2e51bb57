/**
 * Window management of one connection: the peer's receive window (SND.WND with its update rule
 * and scaling), the window we advertise (never shrinking its right edge, scaled, with receiver
 * SWS avoidance), sender SWS avoidance with Nagle, and the zero-window probe octet.
 *
 * RFC 9293 §3.8.6 (windows, SWS), RFC 7323 §2 (window scaling), RFC 896 (Nagle), RFC 1122
 * §4.2.3.3 (window updates). All windows are in octets, already scaled; the 16-bit field is
 * only ever built in `advertise`. Numbers only, created once per socket, no allocation.
 */
import type { RingBuffer } from '../../storage/ring-buffer.ts';
import { type TcpRepr, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp.ts';
import type { TcpConfig } from './config.ts';

/** Send and receive windows of one connection, in octets. */
export class TcpWindow {
  private readonly rx: RingBuffer;
  private readonly config: TcpConfig;

  // --- Send window (RFC 9293 §3.3.1) ---
  /** Peer's receive window in octets, scaled. */
  sndWnd = 0;
  /** Largest window the peer has offered, octets (RFC 5961 §5.2, sender SWS). */
  maxSndWnd = 0;
  /** Sequence number of the segment that last updated SND.WND. */
  sndWl1 = 0;
  /** Acknowledgment number of the segment that last updated SND.WND. */
  sndWl2 = 0;
  /** Window-scale shift for windows the peer advertises (0 if not negotiated). */
  sndScale = 0;
  /** A zero-window probe octet is outstanding; the peer may ACK up to `probeEnd`. */
  private probeOut = false;
  private probeEnd = 0;

  // --- Receive window ---
  /** Right edge of the window we last advertised (never moved left, RFC 9293 §3.8.6.2.2). */
  rcvAdvRight = 0;
  /** Our window-scale shift (0 if not negotiated). */
  rcvScale = 0;
  /** Whether our SYN offered window scaling (active open) / the peer's did (passive open). */
  wsOffered = false;

  /** `rx` is the socket's receive ring: its free space is the window we can offer. */
  constructor(rx: RingBuffer, config: TcpConfig) {
    this.rx = rx;
    this.config = config;
  }

  /** No window known, nothing negotiated (a blank socket). */
  reset(): void {
    this.sndWnd = 0;
    this.maxSndWnd = 0;
    this.sndScale = 0;
    this.rcvScale = 0;
    this.wsOffered = false;
    this.probeOut = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening

  /** Active open: our SYN offers window scaling if configured (RFC 7323 §2.2). */
  offerScaling(): void {
    this.wsOffered = this.config.windowScaling;
    this.rcvScale = this.wsOffered ? scaleFor(this.rx.capacity) : 0;
  }

  /**
   * The peer's SYN carried `windowScale` (-1 if none). Scaling is on only if both sides offer it
   * (RFC 7323 §2.2): `passive` is true when the SYN opens the connection (our SYN-ACK answers it).
   */
  takeSynScale(windowScale: number, passive: boolean): void {
    if (windowScale >= 0 && (this.wsOffered || passive) && this.config.windowScaling) {
      this.sndScale = windowScale;
      this.rcvScale = scaleFor(this.rx.capacity);
      this.wsOffered = true;
    } else {
      this.sndScale = 0;
      this.rcvScale = 0;
      this.wsOffered = false;
    }
  }

  /** The peer's SYN set RCV.NXT: the window we advertise starts there. */
  startReceive(rcvNxt: number): void {
    this.rcvAdvRight = rcvNxt;
  }

  /** SND.WND from a SYN (RFC 7323 §2.2: the window in a SYN is never scaled); SND.WL1 = SEG.SEQ, SND.WL2 = `wl2`. */
  takeSynWindow(seg: TcpRepr, wl2: number): void {
    this.sndWnd = seg.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = wl2;
  }

  /** SYN-RECEIVED -> ESTABLISHED: SND.WND from the ACK of our SYN, scaled. */
  takeHandshakeAck(seg: TcpRepr): void {
    this.sndWnd = seg.window << this.sndScale;
    if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
  }

  /** Window field of our SYN or SYN-ACK (RFC 7323 §2.2: the window in a SYN is not scaled). */
  synWindow(): number {
    return this.rx.window > 0xffff ? 0xffff : this.rx.window;
  }

  // ---------------------------------------------------------------------------------------------
  // Send window

  /**
   * Window update (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ or (= and SND.WL2 =< SEG.ACK)). Returns
   * true if SND.WND was taken from `seg`.
   */
  update(seg: TcpRepr, ack: number): boolean {
    if (!(seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack)))) return false;
    const w = seg.window << this.sndScale;
    this.sndWnd = w;
    if (w > this.maxSndWnd) this.maxSndWnd = w;
    this.sndWl1 = seg.seq;
    this.sndWl2 = ack;
    return true;
  }

  /** RFC 9293 §3.8.6.2.1 usable window: SND.UNA + SND.WND - SND.NXT, octets (negative if the window shrank). */
  usable(sndUna: number, sndNxt: number): number {
    return seqDiff(seqAdd(sndUna, this.sndWnd), sndNxt);
  }

  /**
   * A short segment of `len` octets (less than a full one; `unsent` are queued, `flight` in
   * flight). RFC 9293 §3.8.6.2.1 (sender SWS) and RFC 896 (Nagle): send it only if it is all we
   * have and nothing is unacknowledged (or Nagle is off), or it is at least half the largest
   * window the peer has offered.
   */
  sendsShort(len: number, unsent: number, flight: number, nagle: boolean, finQueued: boolean): boolean {
    const allQueued = len === unsent;
    if (allQueued && (flight === 0 || !nagle)) return true;
    if (allQueued && finQueued) return true;
    return this.maxSndWnd > 0 && len >= this.maxSndWnd >> 1;
  }

  /**
   * A zero-window probe octet at `seq` went out (RFC 9293 §3.8.6.1). It is not counted as sent
   * (SND.NXT stays): a peer whose window is still zero drops it, one that takes it may ACK one
   * past SND.NXT.
   */
  probeSent(seq: number): void {
    this.probeOut = true;
    this.probeEnd = seqAdd(seq, 1);
  }

  /** Highest acceptable SEG.ACK: SND.MAX, or one past SND.NXT while a zero-window probe octet is out. */
  ackLimit(sndMax: number): number {
    return this.probeOut && seqGt(this.probeEnd, sndMax) ? this.probeEnd : sndMax;
  }

  /** SND.UNA moved to `ack`: the probe octet, if one was out, is settled once it is covered. */
  acked(ack: number): void {
    if (this.probeOut && seqGe(ack, this.probeEnd)) this.probeOut = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Receive window

  /** Receive window (octets) we may offer now: free ring space, never shrinking the right edge. */
  receiveWindow(rcvNxt: number): number {
    const advertised = seqDiff(this.rcvAdvRight, rcvNxt);
    const free = this.rx.window;
    return advertised > free ? advertised : free;
  }

  /** Window to put in the next segment (raw 16-bit field), with receiver SWS avoidance; records the right edge offered. */
  advertise(rcvNxt: number, localMss: number): number {
    const w = this.toAdvertise(rcvNxt, localMss);
    const right = seqAdd(rcvNxt, w);
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    let field = w >> this.rcvScale;
    if (field > 0xffff) field = 0xffff;
    return field;
  }

  /**
   * RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): advance the right edge only by at least
   * min(buffer/2, MSS); never move it left. Octets.
   */
  toAdvertise(rcvNxt: number, localMss: number): number {
    const free = this.rx.window;
    const current = seqDiff(this.rcvAdvRight, rcvNxt);
    const cur = current > 0 ? current : 0;
    const half = this.rx.capacity >> 1;
    const step = half < localMss ? half : localMss;
    let w = free - cur >= step ? free : cur;
    // The scaled field loses the low bits; round so that the right edge never recedes.
    const mask = (1 << this.rcvScale) - 1;
    if (w < cur) w = cur;
    if ((w & mask) !== 0) w = (w + mask) & ~mask;
    const maxWin = 0xffff << this.rcvScale;
    return w > maxWin ? maxWin : w;
  }

  /**
   * After the application read: true if the window (`before` octets, from `toAdvertise`) opened
   * enough that a window update should go out at once rather than wait for a delayed ACK.
   */
  openedEnough(before: number, rcvNxt: number, localMss: number): boolean {
    const after = this.toAdvertise(rcvNxt, localMss);
    const grew = after - before;
    if (grew <= 0) return false;
    const half = this.rx.capacity >> 1;
    // RFC 1122 §4.2.3.3: update when the window grows by 2·MSS or half the buffer; and never
    // leave a peer stuck behind a small or zero window.
    return grew >= 2 * localMss || grew >= half || before < localMss;
  }
}

/** Smallest shift that makes `capacity` octets fit the 16-bit window field (RFC 7323 §2.3: at most 14). */
function scaleFor(capacity: number): number {
  let s = 0;
  while (s < 14 && capacity >> s > 0xffff) s++;
  return s;
}
